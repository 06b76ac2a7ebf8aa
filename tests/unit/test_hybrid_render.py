"""Hybrid video and optical flow inside the render loop: the frame count and the first frame
follow the video, the video's motion carries the frames, the composite lands where Deforum
makes it, optical-flow cadence places the in-betweens, the redo passes run, and a resume is
byte-identical."""

from __future__ import annotations

import pytest
import torch
from digests import frames_digest
from moving_pictures import HEIGHT, WIDTH, interior, panning_video, shifted, texture
from recording_backend import RecordingBackend

from deforum_core.diffusion.backend import DiffusionResult
from deforum_core.errors import ScheduleError
from deforum_core.hybrid.stage import HybridStage
from deforum_core.prompts import parse_prompt_schedule
from deforum_core.render import (
    AnimationSettings,
    RenderCallbacks,
    RenderCancelled,
    RunDirectory,
    Stages,
    render_animation,
)
from deforum_core.stages import Motion2DStage
from deforum_core.stages.optical_flow import OpticalFlowStage, redo_seed

PROMPTS = parse_prompt_schedule("0: a river")


def settings(**overrides) -> AnimationSettings:
    values = {"animation_mode": "2D", "max_frames": 120, "width": WIDTH, "height": HEIGHT,
              "base_seed": 5, "diffusion_cadence": 1, "strength_schedule": "0:(0.6)"}  # fmt: skip
    return AnimationSettings(**{**values, **overrides})


def frames_of(run) -> list[torch.Tensor]:
    directory = RunDirectory(run.run_dir)
    return [directory.read_frame(index) for index in range(run.frames_written)]


def test_a_motion_preview_follows_the_videos_length_first_frame_and_motion(tmp_path) -> None:
    video = panning_video((3, -2), count=5)
    hybrid = HybridStage(video=video, composite="None", motion="Affine")
    result = render_animation(settings(diffusion_cadence=2), Stages(PROMPTS, hybrid=hybrid),
                              None, tmp_path / "run")  # fmt: skip
    assert result.frames_written == 5  # the video's frames, not max_frames 120
    frames = frames_of(result)
    first = video.frame(0)
    assert torch.equal(frames[0], (first * 255).round() / 255)  # the video's first frame
    for index in range(1, 5):  # keys moved by the video, in-betweens from both sides
        expected = video.frame(index)
        assert (interior(frames[index]) - interior(expected)).abs().mean() < 0.03, index


def test_the_composite_takes_each_keys_video_frame(tmp_path) -> None:
    """Composite Normal, alpha 1, no mask: a key's prepared frame is the video's frame."""
    video = panning_video((3, -2), count=4)
    hybrid = HybridStage(video=video, composite="Normal", comp_alpha_schedule="0:(1)")
    backend = RecordingBackend()
    render_animation(settings(), Stages(PROMPTS, hybrid=hybrid), backend, tmp_path / "run")
    for index, request in enumerate(backend.requests[1:], start=1):
        assert torch.allclose(request.image, (video.frame(index) * 255).round() / 255)


def test_after_generation_composites_the_diffused_key(tmp_path) -> None:
    video = panning_video((3, -2), count=3)
    hybrid = HybridStage(video=video, composite="After Generation",
                         comp_alpha_schedule="0:(0.5)")  # fmt: skip
    backend = RecordingBackend()
    result = render_animation(settings(), Stages(PROMPTS, hybrid=hybrid), backend,
                              tmp_path / "run")  # fmt: skip
    frames = frames_of(result)
    assert torch.equal(frames[0], backend.outputs[0])  # the first key is kept as diffused
    expected = 0.5 * backend.outputs[2] + 0.5 * (video.frame(2) * 255).round() / 255
    assert (frames[2] - expected).abs().max() <= 1 / 255 + 1e-6


def test_hybrid_video_is_refused_outside_2d_and_3d(tmp_path) -> None:
    hybrid = HybridStage(video=panning_video((1, 0)))
    init = torch.rand(1, HEIGHT, WIDTH, 3)
    with pytest.raises(ScheduleError, match="hybrid: hybrid video works in 2D and 3D modes"):
        render_animation(settings(animation_mode="None", max_frames=2),
                         Stages(PROMPTS, hybrid=hybrid), None, tmp_path / "run",
                         init_image=init)  # fmt: skip


class SlidingBackend:
    """A diffuser whose key k is the texture moved 2·k px right: a scene that moves."""

    name = "sliding"

    def __init__(self) -> None:
        self.seeds: list[int] = []

    def describe(self) -> dict:
        return {"backend": self.name}

    def diffuse(self, request) -> DiffusionResult:
        self.seeds.append(request.seed)
        key = len(self.seeds) - 1
        return DiffusionResult(shifted(texture(4), 2 * key * 3, 0), request.steps)


def test_flow_cadence_puts_the_in_betweens_where_the_scene_is(tmp_path) -> None:
    """Keys 0 and 3 (cadence 3) show the texture 0 and 6 px right: frames 1 and 2 show it 2
    and 4 px right, sharp; without flow cadence they are a blend of the two keys."""
    flow = OpticalFlowStage(optical_flow_cadence="DIS Fine")
    with_flow = render_animation(settings(max_frames=4, diffusion_cadence=3),
                                 Stages(PROMPTS, optical_flow=flow), SlidingBackend(),
                                 tmp_path / "flow")  # fmt: skip
    plain = render_animation(settings(max_frames=4, diffusion_cadence=3), Stages(PROMPTS),
                             SlidingBackend(), tmp_path / "plain")  # fmt: skip
    for index, shift in ((1, 2), (2, 4)):
        expected = shifted(texture(4), shift, 0)
        flowed = (interior(frames_of(with_flow)[index]) - interior(expected)).abs().mean()
        blended = (interior(frames_of(plain)[index]) - interior(expected)).abs().mean()
        assert flowed < 0.02 < blended, (index, flowed, blended)


def test_redo_passes_diffuse_each_key_again_before_its_diffusion(tmp_path) -> None:
    backend = RecordingBackend()
    flow = OpticalFlowStage(diffusion_redo=2)
    render_animation(settings(max_frames=3), Stages(PROMPTS, optical_flow=flow), backend,
                     tmp_path / "run")  # fmt: skip
    seeds = [request.seed for request in backend.requests]
    assert seeds[0] == 5  # the first key has no previous frame: no redo
    assert seeds[1:4] == [redo_seed(6, 1), redo_seed(6, 2), 6]
    # the last redo's result is where the key's own diffusion starts
    assert (backend.requests[3].image - backend.outputs[2]).abs().max() <= 0.5 / 255


def test_a_hybrid_render_resumes_byte_identically(tmp_path) -> None:
    video = panning_video((3, -2), count=6)

    def stages() -> Stages:
        hybrid = HybridStage(video=video, motion="Optical Flow", composite="Normal",
                             comp_mask_type="Difference")  # fmt: skip
        return Stages(PROMPTS, Motion2DStage(zoom="0:(1.02)"), hybrid=hybrid,
                      optical_flow=OpticalFlowStage(optical_flow_cadence="DIS Medium"))  # fmt: skip

    render_animation(settings(diffusion_cadence=2), stages(), RecordingBackend(),
                     tmp_path / "whole")  # fmt: skip
    written: list[int] = []

    def cancel_after_three(index, total, frame) -> None:
        written.append(index)
        if len(written) == 3:
            raise RenderCancelled

    stop = RenderCallbacks(on_frame=cancel_after_three)
    with pytest.raises(RenderCancelled):
        render_animation(settings(diffusion_cadence=2), stages(), RecordingBackend(),
                         tmp_path / "resumed", callbacks=stop)  # fmt: skip
    render_animation(settings(diffusion_cadence=2), stages(), RecordingBackend(),
                     tmp_path / "resumed", resume=True)  # fmt: skip
    assert frames_digest(tmp_path / "resumed") == frames_digest(tmp_path / "whole")
    record = RunDirectory(tmp_path / "whole").read_json("settings.json")
    assert record["stages"]["hybrid"]["motion"] == "Optical Flow"
    assert record["stages"]["hybrid"]["video"]["frames"] == 6
    assert record["stages"]["optical_flow"]["optical_flow_cadence"] == "DIS Medium"
