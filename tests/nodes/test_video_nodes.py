"""Deforum Video Input called as ComfyUI calls it, and driving Deforum Animate's Video Input
mode: a clip from the input folder, Deforum's extract settings, errors naming their input."""

from __future__ import annotations

import importlib
import os

import pytest
import torch
from clips import clip_frames, write_clip

from deforum_core.errors import DeforumError
from deforum_core.prompts import parse_prompt_schedule

SIZE = (64, 64)


@pytest.fixture
def host(pack, tmp_path, monkeypatch):
    """The headless host, its input folder holding a lossless 24-frame clip."""
    bridge = importlib.import_module(f"{pack.__name__}.nodes.comfy_bridge")
    (tmp_path / "input" / "clips").mkdir(parents=True)
    write_clip(tmp_path / "input" / "clips" / "walk.mov", size=SIZE, codec="png")
    monkeypatch.setattr(bridge.HEADLESS, "output", tmp_path / "output")
    monkeypatch.setattr(bridge.HEADLESS, "input", tmp_path / "input")
    monkeypatch.setattr(bridge.HEADLESS, "quiet", True)
    return bridge.HEADLESS


def video_node(pack):
    return pack.NODE_CLASS_MAPPINGS["DeforumVideoInput"]


def load(pack, video="clips/walk.mov", nth=1, start=0, end=-1, **links):
    return video_node(pack)().load(video, nth, start, end, **links)


def test_the_combo_lists_videos_and_the_node_shows_what_it_selected(pack, host):
    (host.input / "notes.txt").write_text("not a video", encoding="utf-8")
    choices = video_node(pack).INPUT_TYPES()["required"]["video"][0]
    assert choices == ["none", "clips/walk.mov"]
    loaded = load(pack, nth=2)
    source, first, count, fps = loaded["result"]
    assert (count, fps) == (12, 12.0)  # 24 fps, every other frame
    assert loaded["ui"]["report"] == ["walk.mov: 12 frames selected, 64x64, 12 fps"]
    assert torch.equal(first, clip_frames(size=SIZE)[:1])
    assert torch.equal(source.frame(3), clip_frames(size=SIZE)[6:7])


def test_an_image_batch_is_used_instead_of_the_file(pack, host):
    batch = clip_frames(10, SIZE)
    _source, first, count, fps = load(pack, "none", start=4, images=batch)["result"]
    assert (count, fps) == (6, 0.0) and torch.equal(first, batch[4:5])


@pytest.mark.parametrize(
    ("inputs", "message"),
    [
        ({"video": "none"}, "video: no video: choose one"),
        ({"video": "../walk.mov"}, "video: '../walk.mov' is outside the input folder"),
        ({"nth": 0}, "extract_nth_frame"),
        ({"start": 9, "end": 3}, "extract_to_frame 3 is before extract_from_frame 9"),
        ({"start": 40}, "extract_from_frame"),
    ],
)
def test_bad_inputs_are_named(pack, host, inputs, message):
    with pytest.raises(DeforumError, match=message):
        load(pack, **inputs)


def test_queue_time_checks_and_a_changed_file_loads_again(pack, host):
    node = video_node(pack)
    assert node.VALIDATE_INPUTS("clips/walk.mov", 1, 0, -1) is True
    assert "is before extract_from_frame" in node.VALIDATE_INPUTS("clips/walk.mov", 1, 9, 3)
    assert "not found in the input folder" in node.VALIDATE_INPUTS("gone.mp4", 1, 0, -1)
    before = node.IS_CHANGED(video="clips/walk.mov")
    assert before == node.IS_CHANGED(video="clips/walk.mov")
    write_clip(host.input / "clips" / "walk.mov", frames=12, size=SIZE, codec="png")
    os.utime(host.input / "clips" / "walk.mov")
    assert node.IS_CHANGED(video="clips/walk.mov") != before


def animate_video(pack, source, **changes) -> dict:
    """Deforum Animate in Video Input mode at 64x64, its other widgets at their defaults."""
    animate_node = pack.NODE_CLASS_MAPPINGS["DeforumAnimate"]
    widgets = {
        name: spec[1]["default"]
        for section in ("required", "optional")
        for name, spec in animate_node.INPUT_TYPES()[section].items()
        if isinstance(spec[1], dict) and "default" in spec[1]
    }
    inputs = {**widgets, "animation_mode": "Video Input", "width": 64, "height": 64,
              "base_seed": 1, **changes}  # fmt: skip
    with torch.inference_mode():
        return animate_node().animate(prompts=parse_prompt_schedule("0: a walk"), video=source,
                                      **inputs)  # fmt: skip


def test_animate_in_video_input_mode_renders_one_frame_per_selected_video_frame(pack, host):
    rendered = animate_video(pack, load(pack, nth=2)["result"][0], run_name="walk")
    run = rendered["result"][0]
    assert run.frames == 12 and len(list(run.path.glob("frame_*.png"))) == 12
    assert rendered["ui"]["images"][0]["filename"] == "frame_00011.png"


def test_deforum_video_takes_the_clips_own_sound_track(pack, host):
    import av

    write_clip(host.input / "clips" / "loud.mp4", frames=12, size=SIZE, sound=True)
    source = load(pack, "clips/loud.mp4", nth=2)["result"][0]
    run = animate_video(pack, source, fps=12.0, run_name="loud")["result"][0]
    video_node = pack.NODE_CLASS_MAPPINGS["DeforumVideo"]()
    video_node.assemble(run, "mp4", 0.0, 80, "with_sound", audio_file="clips/loud.mp4")
    with av.open(str(run.path / "with_sound.mp4")) as container:
        assert [stream.type for stream in container.streams] == ["video", "audio"]
        audio = container.streams.audio[0]
        seconds = sum(frame.samples for frame in container.decode(audio)) / audio.rate
    assert 0.4 < seconds < 0.6  # cut to the video: 6 frames at 12 fps
