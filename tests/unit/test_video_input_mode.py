"""Video Input mode: every diffused frame starts from its video frame, the frame count follows
the video, cadence applies, resume is exact, and colour coherence can match the video."""

from __future__ import annotations

import json

import pytest
import torch
from clips import clip_frames, write_clip
from digests import frames_digest
from recording_backend import RecordingBackend

from deforum_core.color import match_histograms
from deforum_core.errors import ScheduleError
from deforum_core.pictures import fit_picture
from deforum_core.prompts import parse_prompt_schedule
from deforum_core.render import (
    AnimationSettings,
    RenderCallbacks,
    RenderCancelled,
    RunDirectory,
    RunDirectoryError,
    Stages,
    render_animation,
)
from deforum_core.stages import ColorCoherenceStage, Motion2DStage, NoiseStage
from deforum_core.video_source import FrameSelection, ImageBatch, VideoFile

PROMPTS = parse_prompt_schedule("0: a river\n6: a road")
WIDTH, HEIGHT = 64, 64
SIZE = (WIDTH, HEIGHT)


@pytest.fixture(scope="module")
def clip(tmp_path_factory) -> VideoFile:
    """A lossless 24-frame clip, every other frame selected (12 frames)."""
    path = write_clip(tmp_path_factory.mktemp("clip") / "clip.mov", size=SIZE, codec="png")
    return VideoFile(path, FrameSelection(nth=2))


def settings(**overrides) -> AnimationSettings:
    values = {"animation_mode": "Video Input", "max_frames": 5, "width": WIDTH, "height": HEIGHT,
              "base_seed": 3, "strength_schedule": "0:(0.4), 11:(0.6)"}  # fmt: skip
    return AnimationSettings(**{**values, **overrides})


def written(run_dir) -> list[torch.Tensor]:
    directory = RunDirectory(run_dir)
    return [directory.read_frame(index) for index in range(len(directory.frame_paths()))]


def test_a_preview_writes_each_selected_video_frame_as_it_is(tmp_path, clip):
    result = render_animation(settings(), Stages(PROMPTS, video=clip), None, tmp_path / "r")
    frames = written(tmp_path / "r")
    drawn = clip_frames(size=SIZE)
    assert result.frames_written == len(frames) == 12  # the video's, not max_frames 5
    for index, frame in enumerate(frames):
        assert torch.equal(frame, drawn[2 * index : 2 * index + 1])
    record = json.loads((tmp_path / "r" / "settings.json").read_text(encoding="utf-8"))
    assert record["max_frames"] == 12
    assert record["stages"]["video"]["extract_nth_frame"] == 2


def test_frames_of_another_size_are_fitted_as_the_init_image_is(tmp_path, clip):
    render_animation(settings(width=96, height=64), Stages(PROMPTS, video=clip), None,
                     tmp_path / "r")  # fmt: skip
    frames = written(tmp_path / "r")
    expected = fit_picture(clip.frame(5), 96, 64, parameter="video", what="frame")
    assert frames[5].shape == (1, 64, 96, 3) and torch.equal(frames[5], expected)


def test_each_key_is_diffused_from_its_video_frame_with_the_strength_schedule(tmp_path, clip):
    backend = RecordingBackend()
    render_animation(settings(diffusion_cadence=3), Stages(PROMPTS, video=clip), backend,
                     tmp_path / "r")  # fmt: skip
    drawn = clip_frames(size=SIZE)
    assert len(backend.requests) == 4  # keys 0, 3, 6, 9 of 12
    for request, key in zip(backend.requests, (0, 3, 6, 9), strict=True):
        assert torch.equal(request.image, drawn[2 * key : 2 * key + 1])
        assert request.strength == pytest.approx(0.4 + 0.2 * key / 11)
    frames = written(tmp_path / "r")
    assert len(frames) == 12
    between = (backend.outputs[0] * 2 / 3 + backend.outputs[1] / 3).clamp(0, 1)
    assert torch.allclose(frames[1], between, atol=1 / 255)  # cadence blends the keys
    assert [r.text.positive for r in backend.requests] == ["a river"] * 2 + ["a road"] * 2


def test_an_image_batch_works_as_a_video(tmp_path):
    batch = ImageBatch(clip_frames(size=SIZE), FrameSelection(start=20))
    result = render_animation(settings(), Stages(PROMPTS, video=batch), None, tmp_path / "r")
    assert result.frames_written == 4
    assert torch.equal(written(tmp_path / "r")[3], clip_frames(size=SIZE)[23:24])


def cancel_after(count: int) -> RenderCallbacks:
    seen: list[int] = []

    def check_cancel() -> None:
        if len(seen) >= count:
            raise RenderCancelled()

    return RenderCallbacks(on_frame=lambda index, total, frame: seen.append(index),
                           check_cancel=check_cancel)  # fmt: skip


def test_cancel_then_resume_is_byte_identical_and_a_changed_video_is_refused(tmp_path, clip):
    stages = Stages(PROMPTS, video=clip, noise=NoiseStage(noise="0:(0.05)"))
    render_animation(settings(diffusion_cadence=2), stages, RecordingBackend(), tmp_path / "all")
    run = tmp_path / "parts"
    with pytest.raises(RenderCancelled):
        render_animation(settings(diffusion_cadence=2), stages, RecordingBackend(), run,
                         callbacks=cancel_after(5))  # fmt: skip
    other = Stages(PROMPTS, video=VideoFile(clip.path, FrameSelection(nth=3)),
                   noise=NoiseStage(noise="0:(0.05)"))  # fmt: skip
    with pytest.raises(RunDirectoryError, match=r"saved ones \(max_frames, stages\)"):
        render_animation(settings(diffusion_cadence=2), other, RecordingBackend(), run,
                         resume=True)  # fmt: skip
    render_animation(settings(diffusion_cadence=2), stages, RecordingBackend(), run, resume=True)
    assert frames_digest(run) == frames_digest(tmp_path / "all")


def test_colour_coherence_video_input_matches_each_key_to_the_video(tmp_path, clip):
    color = ColorCoherenceStage("Video Input", video_every_n_frames=4)
    backend = RecordingBackend()
    motion = Motion2DStage(zoom="0:(1)", sampling="bilinear")
    render_animation(settings(animation_mode="2D", max_frames=7), Stages(PROMPTS, motion, color,
                     video=clip), backend, tmp_path / "r")  # fmt: skip
    frames = written(tmp_path / "r")
    for index, key in ((5, 5), (6, 6)):
        reference = clip.frame(4)  # video frame 4 is the reference from frame 4 to 7
        expected = match_histograms(frames[key - 1], reference, "LAB")
        assert torch.allclose(backend.requests[index].image, expected, atol=1e-6)


@pytest.mark.parametrize(
    ("overrides", "stages", "message"),
    [
        ({}, {}, "Video Input mode needs a video"),
        ({}, {"motion": Motion2DStage(), "video": ImageBatch(clip_frames(size=SIZE))},
         "motion: Video Input mode follows the video"),
        ({"animation_mode": "2D"}, {"color_coherence": ColorCoherenceStage("Video Input")},
         "color_coherence: color coherence Video Input needs a video"),
    ],
)  # fmt: skip
def test_wiring_that_cannot_work_is_refused_before_any_frame(tmp_path, overrides, stages, message):
    with pytest.raises(ScheduleError, match=message):
        render_animation(settings(**overrides), Stages(PROMPTS, **stages), None, tmp_path / "r",
                         init_image=torch.rand(1, HEIGHT, WIDTH, 3))  # fmt: skip
    assert not (tmp_path / "r").exists()


@pytest.mark.parametrize("mode", ["2D", "Video Input"])
def test_the_video_is_read_once_in_order_however_the_reference_refreshes(tmp_path, clip, mode,
                                                                        monkeypatch):  # fmt: skip
    import av

    video = VideoFile(clip.path, FrameSelection(nth=2))
    opened = []
    real_open = av.open
    monkeypatch.setattr(av, "open", lambda *args, **kw: opened.append(1) or real_open(*args, **kw))
    color = ColorCoherenceStage("Video Input", video_every_n_frames=4)
    motion = Motion2DStage(zoom="0:(1)", sampling="bilinear") if mode == "2D" else None
    render_animation(settings(animation_mode=mode, max_frames=12, diffusion_cadence=3),
                     Stages(PROMPTS, motion, color, video=video), RecordingBackend(),
                     tmp_path / "r")  # fmt: skip
    assert opened == [1]  # keys 0, 3, 6, 9 with references 0, 0, 4, 8: never backwards
