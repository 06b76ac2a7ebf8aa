"""Deforum Load Settings and Deforum Export Settings called as ComfyUI calls them: a settings
file from the input folder (or pasted) drives Deforum Animate frame for frame as
`deforum-comfy run` renders it, and an exported run loads back to the same frames."""

from __future__ import annotations

import importlib
import json
import math
import shutil
from pathlib import Path

import pytest
import torch
from recording_backend import RecordingBackend
from settings_pictures import write_pictures

from deforum_app.cli import main
from deforum_core.diffusion.sampler_names import SamplerChoice
from deforum_core.errors import DeforumError

FILES = Path(__file__).resolve().parents[1] / "settings_files"
QUICK_LOOK = {"max_frames": 4, "width": 64, "height": 64}


@pytest.fixture
def host(pack, tmp_path, monkeypatch):
    """The headless host with its folders in tmp_path, the input folder holding the project's
    settings files and the colour image the 3D one names."""
    bridge = importlib.import_module(f"{pack.__name__}.nodes.comfy_bridge")
    folder = tmp_path / "input"
    shutil.copytree(FILES, folder)
    write_pictures(folder)
    monkeypatch.setattr(bridge.HEADLESS, "output", tmp_path / "output")
    monkeypatch.setattr(bridge.HEADLESS, "input", folder)
    monkeypatch.setattr(bridge.HEADLESS, "quiet", True)
    return bridge.HEADLESS


def node(pack, name: str):
    return pack.NODE_CLASS_MAPPINGS[name]


def load(pack, settings_file="none", settings_text="", **changes):
    inputs = {"max_frames": 0, "width": 0, "height": 0, "use_file_sampler": True, **changes}
    return node(pack, "DeforumLoadSettings")().load(settings_file, settings_text, **inputs)


def animate(pack, loaded: dict, run_name="from_file", **links):
    """Animate as a workflow wires it to Load Settings: settings and prompts linked, its own
    widgets left at their defaults (the settings replace them)."""
    animate_node = node(pack, "DeforumAnimate")
    widgets = {
        name: spec[1]["default"]
        for section in ("required", "optional")
        for name, spec in animate_node.INPUT_TYPES().get(section, {}).items()
        if isinstance(spec[1], dict) and "default" in spec[1]
    }
    settings, prompts = loaded["result"][:2]
    inputs = {**widgets, "run_name": run_name, "settings": settings, "prompts": prompts, **links}
    with torch.inference_mode():
        return animate_node().animate(**inputs)


def frame_bytes(folder: Path) -> list[bytes]:
    return [path.read_bytes() for path in sorted(folder.glob("frame_*.png"))]


@pytest.mark.parametrize("name", ["A_2d_v05_old.txt", "A_3d_v09.txt", "L_none_stills.txt"])
def test_a_file_renders_through_the_nodes_as_the_command_line_renders_it(
    pack, host, tmp_path, capsys, name
):
    rendered = animate(pack, load(pack, name, **QUICK_LOOK))
    folder = host.output / rendered["ui"]["run_dir"][0]
    nodes_frames = frame_bytes(folder)
    cli_out = tmp_path / "cli"
    code = main(["run", str(host.input / name), "--preview", "--max-frames", "4", "--size",
                 "64x64", "--input", str(host.input), "--out", str(cli_out)])  # fmt: skip
    assert code == 0, capsys.readouterr().err
    (cli_folder,) = (cli_out / "deforum").iterdir()
    assert len(nodes_frames) == 4
    assert nodes_frames == frame_bytes(cli_folder)
    report = (folder / "import_report.txt").read_text(encoding="utf-8")
    assert report == (cli_folder / "import_report.txt").read_text(encoding="utf-8")
    record = json.loads((folder / "settings.json").read_text(encoding="utf-8"))
    assert (record["width"], record["height"], record["max_frames"]) == (64, 64, 4)


def test_the_video_of_a_file_run_has_its_gif_and_soundtrack(pack, host):
    import av
    from sounds import write_tone

    write_tone(host.input / "tone.wav")
    settings = json.loads((FILES / "A_3d_v09.txt").read_text(encoding="utf-8"))
    settings.update(make_gif=True, add_soundtrack="File", soundtrack_path="tone.wav")
    rendered = animate(pack, load(pack, settings_text=json.dumps(settings), **QUICK_LOOK))
    run = rendered["result"][0]
    video_node = node(pack, "DeforumVideo")()
    shown = video_node.assemble(run, "mp4", 0.0, 80, "deforum")["ui"]["deforum_video"]
    assert [entry["filename"] for entry in shown] == ["deforum.mp4", "deforum.gif"]
    with av.open(str(run.path / "deforum.mp4")) as container:
        assert [stream.type for stream in container.streams] == ["video", "audio"]
    with av.open(str(run.path / "deforum.gif")) as container:
        assert container.streams.video[0].frames in (0, 4)  # GIF muxers may not count
        assert sum(1 for _ in container.decode(video=0)) == 4
    # the user's own audio_file wins
    write_tone(host.input / "other.wav", seconds=0.1)
    video_node.assemble(run, "mp4", 0.0, 80, "mine", audio_file="other.wav")
    with av.open(str(run.path / "mine.mp4")) as container:
        audio = container.streams.audio[0]
        seconds = sum(frame.samples for frame in container.decode(audio)) / audio.rate
    assert seconds < 0.2 and (run.path / "mine.gif").is_file()


def test_the_outputs_are_the_file_stages_and_the_report_is_shown(pack, host):
    loaded = load(pack, "A_3d_v09.txt")
    settings, prompts, motion, color, enhance, noise, report = loaded["result"]
    assert type(motion).__name__ == "Motion3DStage" and motion.camera == "deforum"
    assert color.color_coherence == "Image" and color.image is not None
    assert enhance is not None and noise is not None
    assert [entry.template.text for entry in prompts.entries][:1] == [
        "a canyon at golden hour --neg people"
    ]
    assert settings.loaded.animation.max_frames == 12  # the file's own
    assert loaded["ui"]["report"] == [report]
    assert "mapped            sampler: 'DPM++ 2M Karras'" in report
    assert "use_depth_warping: off: flat depth, no depth model needed" in report


def test_mode_none_has_no_stage_outputs(pack, host):
    _, prompts, *stages, report = load(pack, "L_none_stills.txt")["result"]
    assert stages == [None, None, None, None]
    assert len(prompts.entries) >= 1 and report


def test_pasted_settings_win_over_the_chosen_file(pack, host):
    text = (FILES / "A_2d_v05_old.txt").read_text(encoding="utf-8")
    pasted = load(pack, "A_3d_v09.txt", text)
    assert pasted["result"][0].loaded.animation.animation_mode == "2D"
    assert pasted["result"][0].loaded.imported.source == "pasted settings"


def test_a_linked_stage_wins_over_the_file_stage(pack, host):
    stage_nodes = node(pack, "DeforumNoise")
    defaults = {k: v[1]["default"] for k, v in stage_nodes.INPUT_TYPES()["required"].items()}
    no_noise = stage_nodes().build(**{**defaults, "noise": "0:(0)"})[0]
    loaded = load(pack, "A_2d_v05_old.txt", **QUICK_LOOK)
    plain = animate(pack, loaded, run_name="file_noise")
    quiet = animate(pack, loaded, run_name="linked_noise", noise=no_noise)
    first = json.loads((host.output / plain["ui"]["run_dir"][0] / "settings.json").read_text())
    second = json.loads((host.output / quiet["ui"]["run_dir"][0] / "settings.json").read_text())
    assert second["stages"]["noise"]["noise"] == "0:(0)"
    assert first["stages"]["noise"] != second["stages"]["noise"]


@pytest.mark.parametrize(
    ("inputs", "message"),
    [
        ({}, "settings_file: no settings: choose a settings_file or paste settings_text"),
        ({"settings_file": "../A_3d_v09.txt"}, "settings_file: '../A_3d_v09.txt' is outside"),
        ({"settings_file": "absent.txt"}, "'absent.txt' was not found in the input folder"),
        ({"settings_text": "{not json"}, "pasted settings"),
        ({"settings_text": '{"animation_mode": "Orbit"}'}, "unknown animation_mode 'Orbit'"),
    ],
)
def test_bad_settings_are_named_with_the_fix(pack, host, inputs, message):
    with pytest.raises(DeforumError, match=message.replace("(", r"\(")):
        load(pack, **inputs)


def test_pasted_settings_are_checked_when_queued(pack):
    validate = node(pack, "DeforumLoadSettings").VALIDATE_INPUTS
    assert validate(settings_text="") is True
    assert "unknown animation_mode 'Orbit'" in validate(settings_text='{"animation_mode": "Orbit"}')
    text = (FILES / "A_2d_v05_old.txt").read_text(encoding="utf-8")
    assert validate(settings_text=text) is True


def test_a_named_picture_that_is_absent_is_named_with_its_key(pack, host):
    (host.input / "palette.png").unlink()
    with pytest.raises(DeforumError, match="color_coherence_image_path: the colour"):
        load(pack, "A_3d_v09.txt")


def test_3d_settings_that_need_depth_weights_say_which_when_diffusing(pack, host):
    settings = json.loads((FILES / "A_3d_v09.txt").read_text(encoding="utf-8"))
    settings["use_depth_warping"] = True
    loaded = load(pack, settings_text=json.dumps(settings), **QUICK_LOOK)
    with pytest.raises(DeforumError, match=r"depth_algorithm: 3D settings need depth"):
        animate(pack, loaded, diffuser=RecordingBackend())
    preview = animate(pack, loaded, run_name="flat_preview")  # no diffuser: flat depth
    folder = host.output / preview["ui"]["run_dir"][0]
    assert len(frame_bytes(folder)) == 4
    report = (folder / "import_report.txt").read_text(encoding="utf-8")
    assert (
        "default           (depth): no depth model: the preview moves through flat depth" in report
    )


def test_the_file_sampler_replaces_the_diffuser_sampler_unless_turned_off(pack):
    settings_nodes = importlib.import_module(f"{pack.__name__}.nodes.settings_nodes")
    comfy = importlib.import_module(f"{pack.__name__}.nodes.comfy_backend")
    backend = comfy.ComfyBackend(None, None, None, "euler", "normal")

    class Loaded:
        class imported:
            sampler = SamplerChoice("euler_ancestral", "karras", "euler_a")

    chosen = settings_nodes.DeforumSettings(Loaded, True).diffuser(backend)
    assert (chosen.sampler_name, chosen.scheduler) == ("euler_ancestral", "karras")
    assert settings_nodes.DeforumSettings(Loaded, False).diffuser(backend) is backend
    Loaded.imported.sampler = SamplerChoice("dpmpp_3m_sde", "karras", "dpmpp_3m_sde_karras")
    with pytest.raises(DeforumError, match="use_file_sampler: this ComfyUI has no sampler"):
        settings_nodes.DeforumSettings(Loaded, True).diffuser(backend)


def test_the_node_loads_again_when_the_file_changes_and_always_for_a_drawn_seed(pack, host):
    is_changed = node(pack, "DeforumLoadSettings").IS_CHANGED
    first = is_changed(settings_file="A_2d_v05_old.txt", settings_text="")
    assert first == is_changed(settings_file="A_2d_v05_old.txt", settings_text="")
    path = host.input / "A_2d_v05_old.txt"
    settings = json.loads(path.read_text(encoding="utf-8"))
    path.write_text(json.dumps({**settings, "max_frames": 9}), encoding="utf-8")
    assert is_changed(settings_file="A_2d_v05_old.txt", settings_text="") != first
    path.write_text(json.dumps({**settings, "seed": -1}), encoding="utf-8")
    assert math.isnan(is_changed(settings_file="A_2d_v05_old.txt", settings_text=""))


def test_the_combo_lists_the_settings_files_of_the_input_folder(pack, host):
    (host.input / "sub").mkdir()
    (host.input / "sub" / "mine.json").write_text("{}", encoding="utf-8")
    choices = node(pack, "DeforumLoadSettings").INPUT_TYPES()["required"]["settings_file"][0]
    assert choices[0] == "none"
    assert {"A_3d_v09.txt", "sub/mine.json"} <= set(choices)
    assert "palette.png" not in choices


def test_an_exported_run_loads_back_to_the_same_frames(pack, host):
    first = animate(pack, load(pack, "A_3d_v09.txt", **QUICK_LOOK), run_name="round")
    run = first["result"][0]
    exported = node(pack, "DeforumExportSettings")().export(
        run, "deforum_settings", "", "palette.png"
    )
    (path,) = exported["result"]
    assert Path(path) == run.path / "deforum_settings.txt"
    shutil.copy(path, host.input / "exported.txt")
    second = animate(pack, load(pack, "exported.txt"), run_name="round")
    assert second["ui"]["run_dir"] == ["deforum/round_0002"]
    assert frame_bytes(host.output / "deforum/round_0002") == frame_bytes(run.path)


def test_export_names_are_plain(pack, host):
    run = animate(pack, load(pack, "A_2d_v05_old.txt", **QUICK_LOOK))["result"][0]
    with pytest.raises(DeforumError, match=r"filename: '\.\./x' must be a plain name"):
        node(pack, "DeforumExportSettings")().export(run, "../x", "", "")


def test_a_video_input_file_renders_its_video_through_the_nodes(pack, host):
    from clips import clip_frames, write_clip

    write_clip(host.input / "dance.mp4", frames=12, size=(64, 64), codec="libx264rgb")
    rendered = animate(pack, load(pack, "A_video_input.txt", max_frames=4, width=64, height=64))
    folder = host.output / rendered["ui"]["run_dir"][0]
    frames = sorted(folder.glob("frame_*.png"))
    assert len(frames) == 4 and rendered["result"][0].frames == 4  # a quick look at 4 of 6
    record = json.loads((folder / "settings.json").read_text(encoding="utf-8"))
    assert record["animation_mode"] == "Video Input" and record["stages"]["video"]["frames"] == 4
    from deforum_core.render.rundir import read_image

    assert torch.equal(read_image(frames[3]), clip_frames(12, (64, 64))[6:7])  # every other
