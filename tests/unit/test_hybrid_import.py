"""Hybrid video and optical flow in settings files: imported as sd-webui-deforum sets them,
rendered through the hybrid video they name, and exported back to the same render."""

from __future__ import annotations

import json
from pathlib import Path

from clips import write_clip

from deforum_app.cli import main
from deforum_core.render.rundir import SETTINGS_FILE
from deforum_core.settings_file import import_settings, read_settings_file
from deforum_core.settings_file.report import IGNORED, MAPPED, TAKEN, UNSUPPORTED

FILES = Path(__file__).resolve().parents[1] / "settings_files"
HYBRID_FILE = FILES / "A_2d_hybrid.txt"


def lines_by_key(imported) -> dict:
    return {line.key: line for line in imported.report}


def test_a_hybrid_file_imports_every_hybrid_and_flow_key() -> None:
    imported = read_settings_file(HYBRID_FILE)
    hybrid = imported.hybrid
    assert {key: hybrid.settings[key] for key in ("composite", "comp_mask_type",
            "comp_mask_equalize", "comp_mask_auto_contrast", "motion", "flow_method",
            "flow_consistency", "consistency_blur", "use_first_frame_as_init_image")} == {
        "composite": "Normal", "comp_mask_type": "Difference", "comp_mask_equalize": "After",
        "comp_mask_auto_contrast": True, "motion": "Optical Flow", "flow_method": "RAFT",
        "flow_consistency": True, "consistency_blur": 1, "use_first_frame_as_init_image": True,
    }  # fmt: skip
    assert hybrid.settings["comp_alpha_schedule"] == "0:(0.4)"
    assert hybrid.settings["flow_factor_schedule"] == "0:(0.8)"
    assert hybrid.reference.file_name == "walk.mp4"
    assert (hybrid.selection.nth, hybrid.selection.start, hybrid.selection.end) == (1, 2, -1)
    assert imported.optical_flow["optical_flow_cadence"] == "DIS Medium"
    assert imported.optical_flow["diffusion_redo"] == 1
    assert imported.color_coherence["color_coherence"] == "Video Input"  # the hybrid video's
    lines = lines_by_key(imported)
    assert [line.key for line in imported.report if line.status == UNSUPPORTED] == []
    assert lines["hybrid_motion"].status == TAKEN and lines["video_init_path"].status == TAKEN
    assert lines["diffusion_redo"].status == MAPPED  # "1", a string in sd-webui-deforum
    assert lines["hybrid_generate_inputframes"].status == IGNORED
    assert "decodes the video as it renders" in lines["hybrid_generate_inputframes"].detail


def test_hybrid_keys_of_a_file_that_turns_it_off_are_ignored() -> None:
    data = json.loads(HYBRID_FILE.read_text(encoding="utf-8"))
    data.update(hybrid_composite="None", hybrid_motion="None", optical_flow_cadence="None",
                diffusion_redo="0", color_coherence="LAB")  # fmt: skip
    imported = import_settings(data, "off.txt")
    assert imported.hybrid is None and imported.optical_flow is None
    lines = lines_by_key(imported)
    for key in ("hybrid_comp_mask_type", "hybrid_flow_method", "video_init_path"):
        assert lines[key].status == IGNORED, key
    assert lines["hybrid_comp_mask_type"].detail == "hybrid video is off"
    assert lines["cadence_flow_factor_schedule"].detail == "optical flow cadence and redo is off"


def render(capsys, settings: Path, out: Path, folder: Path) -> Path:
    code = main(["run", str(settings), "--preview", "--max-frames", "5", "--out", str(out),
                 "--input", str(folder)])  # fmt: skip
    captured = capsys.readouterr()
    assert code == 0, captured.err
    (run,) = (out / "deforum").iterdir()
    return run


def test_a_hybrid_file_renders_its_video_and_exports_back_to_the_same_render(tmp_path, capsys):
    folder = tmp_path / "input"
    folder.mkdir()
    write_clip(folder / "walk.mp4", frames=10, size=(128, 96), codec="libx264rgb")
    first = render(capsys, HYBRID_FILE, tmp_path / "first", folder)
    record = json.loads((first / SETTINGS_FILE).read_text(encoding="utf-8"))
    hybrid = record["stages"]["hybrid"]
    assert hybrid["video"]["file"] == "walk.mp4" and hybrid["video"]["extract_from_frame"] == 2
    assert hybrid["flow_method"] == "DIS Medium"  # no RAFT weights come with a settings file
    assert record["stages"]["optical_flow"]["diffusion_redo"] == 1
    report = (first / "import_report.txt").read_text(encoding="utf-8")
    assert "(flow_method): no RAFT weights are loaded" in report
    assert len(list(first.glob("frame_*.png"))) == 5

    assert main(["export", str(first), "--out", str(tmp_path / "exported.txt")]) == 0
    capsys.readouterr()
    exported = json.loads((tmp_path / "exported.txt").read_text(encoding="utf-8"))
    assert exported["video_init_path"] == "walk.mp4" and exported["hybrid_motion"] == "Optical Flow"
    second = render(capsys, tmp_path / "exported.txt", tmp_path / "second", folder)
    frames = [path.read_bytes() for path in sorted(first.glob("frame_*.png"))]
    assert [path.read_bytes() for path in sorted(second.glob("frame_*.png"))] == frames
    assert json.loads((second / SETTINGS_FILE).read_text(encoding="utf-8")) == record
