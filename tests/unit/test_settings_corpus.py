"""Every real Deforum settings file in ../shared/deforum_settings (all three dialects, 2022 to
2025) imports with a report line per key and renders a 6-frame 64x64 motion preview with
`deforum-comfy run FILE --preview --max-frames 6 --size 64x64`, or stops with an error naming
a file the settings reference that is absent. That file (a picture, a clip with a sound
track, a sound) is then supplied under its name, until the render goes through."""

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
from clips import write_clip
from sounds import write_tone

from deforum_app.cli import main
from deforum_core.render import RunDirectory
from deforum_core.settings_file import read_settings_file
from deforum_core.settings_file.report import DEFAULTED, UNSUPPORTED

SHARED = Path(__file__).resolve().parents[3] / "shared" / "deforum_settings"
PARSEQ = ("A_v09_test_parseq.json", "A_v09_user_tholonia_parseq.json")
SETTINGS = sorted(
    path
    for path in (SHARED.glob("*") if SHARED.is_dir() else [])
    if path.suffix in (".txt", ".json") and path.name not in PARSEQ
)
IMAGE_KEYS = ("init_image", "color_coherence_image_path", "mask_file")
VIDEO_KEYS = ("video_init_path", "video_mask_path")  # a clip with a sound track is supplied
SOUND_KEYS = ("soundtrack_path",)  # a tone is supplied
pytestmark = pytest.mark.skipif(not SHARED.is_dir(), reason="../shared/deforum_settings absent")


def test_the_corpus_is_all_there():
    assert len(SETTINGS) == 27
    assert len(HYBRID) == 6


def _uses_hybrid(path: Path) -> bool:
    data = json.loads(path.read_text(encoding="utf-8"))
    on = [str(data.get(key, "None")) for key in ("hybrid_motion", "hybrid_composite")]
    return any(value not in ("None", "False") for value in on)


HYBRID = [path for path in SETTINGS if _uses_hybrid(path)]
HYBRID_KEYS = ("hybrid_", "optical_flow", "cadence_flow", "redo_flow", "diffusion_redo",
               "video_init_path", "extract_")  # fmt: skip


def _preview(path: Path, tmp_path: Path, capsys) -> tuple[int, str, str]:
    arguments = ["run", str(path), "--preview", "--max-frames", "6", "--size", "64x64",
                 "--out", str(tmp_path / "out"), "--input", str(tmp_path / "input")]  # fmt: skip
    code = main(arguments)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _supply(folder: Path, key: str, name: str) -> None:
    """A file of the kind the key names, under the name the settings give it."""
    folder.mkdir(parents=True, exist_ok=True)
    if key in IMAGE_KEYS:
        picture = np.full((40, 56, 3), (40, 160, 220), np.uint8)
        picture[10:30, 20:40] = (250, 250, 250)
        assert cv2.imwrite(str(folder / name), picture)
    elif key in VIDEO_KEYS:
        write_clip(folder / "clip.mp4", frames=32, size=(64, 64), sound=True)  # from 24: 8
        (folder / "clip.mp4").rename(folder / name)  # FFmpeg reads it by its content
    else:
        assert key in SOUND_KEYS, key
        write_tone(folder / "tone.wav")
        (folder / "tone.wav").rename(folder / name)


@pytest.mark.parametrize("path", SETTINGS, ids=lambda path: path.name)
def test_a_real_settings_file_imports_and_previews(path, tmp_path, capsys):
    keys = list(json.loads(path.read_text(encoding="utf-8")))
    imported = read_settings_file(path)
    assert [line.key for line in imported.report if line.status != DEFAULTED] == keys
    references = {ref.key: ref for ref in imported.references}
    supplied = []
    for _ in range(len(references) + 1):
        code, out, err = _preview(path, tmp_path, capsys)
        if code == 0:
            break
        assert code == 2, err
        named = [ref for ref in references.values() if err.startswith(f"error: {ref.key}:")]
        assert len(named) == 1, f"the error names no referenced file: {err}"
        reference = named[0]
        assert repr(reference.value) in err and reference.file_name in err
        assert reference.key not in supplied, f"{reference.key} not found once supplied: {err}"
        _supply(tmp_path / "input", reference.key, reference.file_name)
        supplied.append(reference.key)
    assert code == 0, err
    (run_dir,) = (tmp_path / "out" / "deforum").iterdir()
    assert out.startswith(f"frames: {run_dir} (6 written)")
    frames = RunDirectory(run_dir).frame_sequence(6)
    assert [cv2.imread(str(frame)).shape for frame in frames] == [(64, 64, 3)] * 6
    report = (run_dir / "import_report.txt").read_text(encoding="utf-8")
    assert all(f" {key}" in report for key in keys)


@pytest.mark.parametrize("name", PARSEQ)
def test_a_parseq_document_imports_onto_the_webui_defaults_and_previews(name, tmp_path, capsys):
    """A manifest renders as sd-webui-deforum's defaults with its frames' values (their
    values frame by frame: test_parseq_import.py)."""
    frames = json.loads((SHARED / name).read_text(encoding="utf-8"))["rendered_frames"]
    imported = read_settings_file(SHARED / name)
    assert imported.dialect == "A" and imported.parseq.frames == len(frames)
    assert imported.animation.max_frames == len(frames)
    code, out, err = _preview(SHARED / name, tmp_path, capsys)
    assert code == 0, err
    (run_dir,) = (tmp_path / "out" / "deforum").iterdir()
    assert out.startswith(f"frames: {run_dir} (6 written)")
    report = (run_dir / "import_report.txt").read_text(encoding="utf-8")
    assert f"taken             parseq_manifest: the Parseq document {name}: " in report


@pytest.mark.parametrize("path", HYBRID, ids=lambda path: path.name)
def test_hybrid_video_files_render_their_hybrid_video(path, tmp_path, capsys):
    """Hybrid video and optical flow import with no "not supported" line (only the human
    masks Deforum makes with a separate model would be), and the render records them."""
    imported = read_settings_file(path)
    unsupported = [line.key for line in imported.report if line.status == UNSUPPORTED]
    assert [key for key in unsupported if key.startswith(HYBRID_KEYS)] == []
    assert imported.hybrid is not None
    _supply(tmp_path / "input", "video_init_path", imported.hybrid.reference.file_name)
    for reference in imported.references:  # the files the other features name
        if reference.key != "video_init_path":
            kind = reference.key if reference.key in (*IMAGE_KEYS, *SOUND_KEYS) else (
                "video_mask_path")  # fmt: skip
            _supply(tmp_path / "input", kind, reference.file_name)
    code, _, err = _preview(path, tmp_path, capsys)
    assert code == 0, err
    (run_dir,) = (tmp_path / "out" / "deforum").iterdir()
    record = json.loads((run_dir / "settings.json").read_text(encoding="utf-8"))
    written = json.loads(path.read_text(encoding="utf-8"))
    assert record["stages"]["hybrid"]["motion"] == written.get("hybrid_motion", "None")
    assert record["stages"]["hybrid"]["video"]["frames"] == 6  # the quick look's, of the video
