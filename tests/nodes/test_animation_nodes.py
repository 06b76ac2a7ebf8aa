"""Deforum Animate and Deforum Video called as ComfyUI calls them, without ComfyUI: names and
files from a workflow are checked whole, and each message names its own input."""

from __future__ import annotations

import pytest
import torch

from deforum_core.errors import DeforumError
from deforum_core.prompts import parse_prompt_schedule


def widget_defaults(node_class) -> dict:
    return {
        name: spec[1]["default"]
        for name, spec in node_class.INPUT_TYPES()["required"].items()
        if isinstance(spec[1], dict) and "default" in spec[1]
    }


def animate(pack, **changes):
    node_class = pack.NODE_CLASS_MAPPINGS["DeforumAnimate"]
    inputs = {**widget_defaults(node_class), "max_frames": 3, "width": 64, "height": 64,
              "base_seed": 1, **changes}  # fmt: skip
    with torch.inference_mode():
        return node_class().animate(
            prompts=parse_prompt_schedule("0: a lake"), init_image=torch.rand(1, 64, 64, 3),
            **inputs,
        )  # fmt: skip


def video(pack, run, **changes):
    node_class = pack.NODE_CLASS_MAPPINGS["DeforumVideo"]
    return node_class().assemble(run=run, **{**widget_defaults(node_class), **changes})


def test_each_render_gets_a_folder_of_its_own(pack, host):
    first = animate(pack, run_name="same")["ui"]["run_dir"]
    second = animate(pack, run_name="same")["ui"]["run_dir"]
    assert (first, second) == (["deforum/same_0001"], ["deforum/same_0002"])


@pytest.mark.parametrize(
    ("run_name", "message"),
    [("x\n", r"run_name: 'x\\n' contains the control character"),
     ("../up", r"run_name: '../up' must be a plain name")],
)  # fmt: skip
def test_run_names_are_checked_whole(pack, host, run_name, message):
    with pytest.raises(DeforumError, match=message):
        animate(pack, run_name=run_name)
    assert not (host.output / "deforum").exists() or not any((host.output / "deforum").iterdir())


@pytest.fixture
def run(pack, host):
    return animate(pack, run_name="clip")["result"][0]


def test_video_names_its_own_inputs(pack, host, run):
    with pytest.raises(DeforumError, match=r"^filename: 'a/b' must be a plain name"):
        video(pack, run, filename="a/b")
    with pytest.raises(DeforumError, match=r"^audio_file: 'x\\x00.wav' contains a control"):
        video(pack, run, audio_file="x\x00.wav")
    (host.input / "sounds").mkdir()
    with pytest.raises(DeforumError, match=r"^audio_file: 'sounds' is a folder, not a file"):
        video(pack, run, audio_file="sounds")
    (host.input / "noise.wav").write_bytes(bytes(range(256)) * 40)
    with pytest.raises(DeforumError, match=r"^audio_file: noise.wav is not a sound file"):
        video(pack, run, audio_file="noise.wav")
    assert not list(run.path.glob("*.mp4")) and not list(run.path.glob(".*partial*"))


def test_video_refuses_a_run_with_a_gap(pack, host, run):
    (run.path / "frame_00001.png").unlink()
    with pytest.raises(DeforumError, match=r"clip_0001 lacks frame_00001.png of its 3 frames"):
        video(pack, run)
    assert not list(run.path.glob("*.mp4"))


def test_a_random_seed_renders_anew_and_a_changed_run_runs_again(pack, host, run):
    animate_class = pack.NODE_CLASS_MAPPINGS["DeforumAnimate"]
    drawn = animate_class.IS_CHANGED(run_name="clip", resume=False, base_seed=-1)
    assert drawn != drawn  # NaN: ComfyUI never serves a seed -1 render from its cache
    fixed = animate_class.IS_CHANGED(run_name="clip", resume=False, base_seed=1)
    assert fixed == animate_class.IS_CHANGED(run_name="clip", resume=False, base_seed=1)
    resumed = animate_class.IS_CHANGED(run_name="clip", resume=True, base_seed=1)
    video_class = pack.NODE_CLASS_MAPPINGS["DeforumVideo"]
    before = video_class.IS_CHANGED(run=run)
    (run.path / "frame_00001.png").write_bytes(b"cut short")
    assert animate_class.IS_CHANGED(run_name="clip", resume=True, base_seed=1) != resumed
    assert video_class.IS_CHANGED(run=run) != before
    rewritten = video_class.IS_CHANGED(run=run)
    (run.path / "frame_00001.png").write_bytes(b"cut short")  # the same bytes written again
    assert video_class.IS_CHANGED(run=run) == rewritten
