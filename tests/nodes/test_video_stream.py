"""Deforum Video's file encoded beside the render (nodes/video_stream.py): Animate reads the
queued prompt for the Video node that takes its run, the Video node takes that file only when
its settings and the frames on disk are those it was made with, and its output is the file it
would have encoded itself."""

from __future__ import annotations

import importlib
import json
from pathlib import Path

import pytest
import torch
from reproducible_x264 import without_mbtree

from deforum_core.prompts import parse_prompt_schedule
from deforum_core.render.rundir import encode_png
from deforum_core.video_encoding import encode_video

REPO_ROOT = Path(__file__).resolve().parents[2]
VIDEO_DEFAULTS = {"video_format": "mp4", "fps": 0.0, "quality": 80, "filename": "deforum",
                  "audio_file": ""}  # fmt: skip


def prompt(*videos: dict) -> dict:
    """A queued prompt: Animate as node "7", and Video nodes taking its run."""
    graph = {"7": {"class_type": "DeforumAnimate", "inputs": {}}}
    for number, inputs in enumerate(videos, start=8):
        graph[str(number)] = {"class_type": "DeforumVideo",
                              "inputs": {"run": ["7", 0], **VIDEO_DEFAULTS, **inputs}}  # fmt: skip
    return graph


def animate(pack, graph: dict | None, **changes):
    node_class = pack.NODE_CLASS_MAPPINGS["DeforumAnimate"]
    defaults = {name: spec[1]["default"] for name, spec in node_class.INPUT_TYPES()[
        "required"].items() if isinstance(spec[1], dict) and "default" in spec[1]}  # fmt: skip
    inputs = {**defaults, "max_frames": 5, "width": 64, "height": 64, "base_seed": 1,
              "diffusion_cadence": 2, "run_name": "streamed", **changes}  # fmt: skip
    hidden = {} if graph is None else {"prompt": graph, "unique_id": "7"}
    with torch.inference_mode():
        return node_class().animate(
            prompts=parse_prompt_schedule("0: a lake"),
            init_image=torch.rand(1, 64, 64, 3, generator=torch.Generator().manual_seed(2)),
            **inputs, **hidden,
        )["result"][0]  # fmt: skip


@pytest.fixture
def encodes(pack, monkeypatch) -> list[Path]:
    """The videos the Video node encodes itself."""
    module = importlib.import_module(f"{pack.__name__}.nodes.animation_nodes")
    encoded, original = [], module.encode_video

    def spy(paths, output, **options):
        encoded.append(Path(output).name)
        return original(paths, output, **options)

    monkeypatch.setattr(module, "encode_video", spy)
    return encoded


def video(pack, run, **inputs) -> dict:
    node_class = pack.NODE_CLASS_MAPPINGS["DeforumVideo"]
    return node_class().assemble(run=run, **{**VIDEO_DEFAULTS, **inputs})


def encoded_anew(run, tmp_path: Path, name: str, **options) -> bytes:
    frames = sorted(run.path.glob("frame_*.png"))
    return encode_video(frames, tmp_path / name, **{"fps": run.fps, **options}).read_bytes()


def test_animate_declares_the_hidden_inputs_comfyui_fills(pack):
    hidden = pack.NODE_CLASS_MAPPINGS["DeforumAnimate"].INPUT_TYPES()["hidden"]
    assert hidden == {"prompt": "PROMPT", "unique_id": "UNIQUE_ID"}


def test_the_video_node_takes_the_file_made_beside_the_render(pack, host, encodes, tmp_path,
                                                              monkeypatch):  # fmt: skip
    without_mbtree(monkeypatch)
    run = animate(pack, prompt({"quality": 70, "fps": 12.0}))
    assert [streamed.settings.output.name for streamed in run.videos] == ["deforum.mp4"]
    output = video(pack, run, quality=70, fps=12.0)
    assert encodes == []  # finished with the last frame
    assert output["ui"]["deforum_video"][0]["filename"] == "deforum.mp4"
    assert output["result"] == (str(run.path / "deforum.mp4"),)
    assert (run.path / "deforum.mp4").read_bytes() == encoded_anew(
        run, tmp_path, "anew.mp4", fps=12.0, quality=70)  # fmt: skip


@pytest.mark.parametrize("change", [{"quality": 60}, {"fps": 24.0}, {"video_format": "gif"},
                                    {"filename": "other"}])  # fmt: skip
def test_other_settings_in_the_video_node_encode_anew(pack, host, encodes, change):
    run = animate(pack, prompt({}))
    video(pack, run, **change)
    assert len(encodes) == 1


def test_a_frame_changed_on_disk_or_a_replaced_video_encodes_anew(pack, host, encodes):
    run = animate(pack, prompt({}))
    (run.path / "frame_00002.png").write_bytes(encode_png(torch.zeros(64, 64, 3)))
    video(pack, run)
    assert encodes == ["deforum.mp4"]
    run = animate(pack, prompt({}))
    (run.path / "deforum.mp4").write_bytes(b"something else")
    video(pack, run)
    assert encodes == ["deforum.mp4", "deforum.mp4"]


@pytest.mark.parametrize(
    "graph",
    [
        None,  # called without the hidden inputs (an older caller)
        prompt({"fps": ["12", 0]}),  # a setting linked from another node
        prompt({"quality": "high"}),  # a value the Video node refuses
        prompt({"filename": "../up"}),
        prompt({"audio_file": "missing.wav"}),
        prompt({}, {}),  # two Video nodes writing one file
        {"8": {"class_type": "DeforumVideo", "inputs": {"run": ["5", 0], **VIDEO_DEFAULTS}}},
        {"8": {"class_type": "DeforumVideo", "inputs": {"run": ["7", 1], **VIDEO_DEFAULTS}}},
        "not a prompt",
    ],
)
def test_nothing_is_encoded_beside_the_render_when_it_cannot_be_known(pack, host, graph):
    run = animate(pack, graph)
    assert run.videos == ()
    assert sorted(path.name for path in run.path.iterdir() if path.suffix != ".png") == [
        "settings.json", "state.json"]  # fmt: skip


def test_two_video_nodes_of_one_run_both_stream(pack, host, encodes):
    run = animate(pack, prompt({}, {"video_format": "gif", "filename": "loop"}))
    assert sorted(video.settings.output.name for video in run.videos) == ["deforum.mp4",
                                                                          "loop.gif"]  # fmt: skip
    video(pack, run)
    video(pack, run, video_format="gif", filename="loop")
    assert encodes == []


def test_the_headless_runner_gives_the_hidden_inputs(pack, host, encodes, tmp_path, monkeypatch):
    from deforum_app import workflow_runner as runner

    without_mbtree(monkeypatch)
    workflow = json.loads((REPO_ROOT / "workflows/headless/deforum_2d.json").read_text())
    workflow["7"]["inputs"].update(width=64, height=64, max_frames=6, run_name="headless")
    workflow = runner.motion_preview(workflow)
    preset = {runner.INIT_NODE: (torch.rand(1, 64, 64, 3),)}
    reports = runner.run_workflow(workflow, pack.NODE_CLASS_MAPPINGS, preset=preset)
    (entry,) = reports["8"]["deforum_video"]
    assert encodes == []
    run_path = host.output / entry["subfolder"]
    frames = sorted(run_path.glob("frame_*.png"))
    anew = encode_video(frames, tmp_path / "anew.mp4", fps=15.0, quality=80)
    assert (run_path / "deforum.mp4").read_bytes() == anew.read_bytes()
