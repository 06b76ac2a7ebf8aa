"""Hybrid video bound to a render: the video's motion moves a frame as the video moved, the
composite happens where sd-webui-deforum makes it, and optical-flow cadence and redo place
and redo frames as their definitions say."""

from __future__ import annotations

import pytest
import torch
from moving_pictures import HEIGHT, WIDTH, interior, panning_video, shifted, texture

from deforum_core.errors import ScheduleError
from deforum_core.hybrid.bound import BoundHybrid, HybridCamera
from deforum_core.hybrid.stage import HybridStage
from deforum_core.stages.optical_flow import OpticalFlowStage, redo_seed
from deforum_core.stages.protocol import RenderInfo


def bound(render_frames: int = 4, **settings) -> BoundHybrid:
    stage = HybridStage(video=settings.pop("video", panning_video((3, -2))), **settings)
    return BoundHybrid(stage, RenderInfo(render_frames, WIDTH, HEIGHT))


@pytest.mark.parametrize(
    ("motion", "tolerance"),
    [("Optical Flow", 0.03), ("Affine", 0.02), ("Perspective", 0.02)],
)
def test_a_frame_moves_as_the_video_moved(motion: str, tolerance: float) -> None:
    hybrid = bound(motion=motion, flow_method="DIS Fine", composite="None")
    frame = hybrid.video_frame(0)
    for target in (1, 3):  # a key's step, and over three frames at once
        moved = hybrid.move(frame, 0, target)
        expected = hybrid.video_frame(target)
        assert (interior(moved) - interior(expected)).abs().mean() < tolerance, (motion, target)
        assert (interior(frame) - interior(expected)).abs().mean() > 3 * tolerance
    back = hybrid.move(hybrid.video_frame(3), 3, 1)  # an in-between moved back from its key
    assert (interior(back) - interior(hybrid.video_frame(1))).abs().mean() < tolerance


def test_the_flow_factor_scales_the_video_motion() -> None:
    hybrid = bound(motion="Optical Flow", flow_method="DIS Fine", composite="None",
                   flow_factor_schedule="0:(0), 1:(0), 2:(0.5)")  # fmt: skip
    frame = hybrid.video_frame(0)
    assert torch.equal(hybrid.move(frame, 0, 1), frame)
    half = hybrid.move(hybrid.video_frame(1), 1, 3)  # (6, -4) at half: (3, -2)
    assert (interior(half) - interior(hybrid.video_frame(2))).abs().mean() < 0.03


def test_use_prev_img_measures_from_the_frame_itself() -> None:
    hybrid = bound(motion="Affine", motion_use_prev_img=True, composite="None")
    frame = hybrid.video_frame(2)  # already where video frame 2 is
    moved = hybrid.move(frame, 0, 3)  # from the frame to video frame 3: one step
    assert (interior(moved) - interior(hybrid.video_frame(3))).abs().mean() < 0.02


class Recorder:
    """A camera and composite stand-in: each step appends its name and returns the frame + 1."""

    def __init__(self, log: list[str], name: str) -> None:
        self.log, self.name = log, name
        self.depth_calls = 0

    def __call__(self, frame: torch.Tensor, *_: int) -> torch.Tensor:
        self.log.append(self.name)
        return frame + 1

    move = __call__

    def forget_before(self, index: int) -> None:
        self.log.append(f"forget {index}")


@pytest.mark.parametrize(
    ("timing", "order"),
    [
        ("Normal", ["camera", "motion", "composite"]),
        ("Before Motion", ["camera", "composite", "motion"]),
        ("After Generation", ["camera", "motion"]),
        ("None", ["camera", "motion"]),
    ],
)
def test_a_key_move_composites_where_deforum_does(monkeypatch, timing, order) -> None:
    log: list[str] = []
    hybrid = bound(composite=timing, motion="Affine")
    monkeypatch.setattr(hybrid, "move", Recorder(log, "motion"))
    monkeypatch.setattr(hybrid, "composite", Recorder(log, "composite"))
    camera = HybridCamera(Recorder(log, "camera"), hybrid)
    frame = torch.zeros(1, 2, 2, 3)
    assert torch.equal(camera.move_key(frame, 0, 2), frame + len(order))
    assert log == order
    log.clear()
    camera.move(frame, 2, 1)  # in-betweens: never composited
    camera.forget_before(2)
    assert log == ["camera", "motion", "forget 2"]


def test_after_generation_composites_every_key_but_the_first() -> None:
    hybrid = bound(composite="After Generation", comp_alpha_schedule="0:(1)")
    image = torch.zeros(1, HEIGHT, WIDTH, 3)
    assert torch.equal(hybrid.after_generation(image, 0), image)
    assert torch.equal(hybrid.after_generation(image, 2), hybrid.video_frame(2))
    normal = bound(composite="Normal")
    assert torch.equal(normal.after_generation(image, 2), image)


def test_the_composite_takes_the_video_frame_of_its_index_or_the_init_image() -> None:
    hybrid = bound(comp_alpha_schedule="0:(0.25)")
    frame = torch.zeros(1, HEIGHT, WIDTH, 3)
    assert torch.allclose(hybrid.composite(frame, 2), 0.25 * hybrid.video_frame(2))
    init = torch.full((1, HEIGHT, WIDTH, 3), 0.8)
    stage = HybridStage(video=panning_video((3, -2)), use_init_image=True,
                        comp_alpha_schedule="0:(0.25)")  # fmt: skip
    with_init = BoundHybrid(stage, RenderInfo(4, WIDTH, HEIGHT), init_image=init)
    assert torch.allclose(with_init.composite(frame, 2), torch.full_like(frame, 0.2))


def test_a_render_longer_than_the_video_holds_its_last_frame() -> None:
    hybrid = bound(render_frames=8, motion="Affine")
    assert torch.equal(hybrid.video_frame(7), hybrid.video_frame(3))
    frame = hybrid.video_frame(3)
    assert torch.equal(hybrid.move(frame, 3, 6), frame)  # no motion past the end


def test_settings_that_cannot_work_are_named() -> None:
    video = panning_video((1, 0))
    with pytest.raises(ScheduleError, match="video: hybrid video needs a video"):
        HybridStage()
    with pytest.raises(ScheduleError, match="comp_mask_type: mask type Depth needs a depth"):
        HybridStage(video=video, comp_mask_type="Depth")
    with pytest.raises(ScheduleError, match="flow_method: flow_method RAFT needs a RAFT model"):
        HybridStage(video=video, motion="Optical Flow", flow_method="RAFT")
    with pytest.raises(ScheduleError, match="optical_flow_cadence: RAFT needs a RAFT model"):
        OpticalFlowStage(optical_flow_cadence="RAFT")


def test_the_frame_count_follows_the_video_unless_the_init_image_is_composited() -> None:
    video = panning_video((1, 0))
    assert HybridStage(video=video).follows_video
    assert not HybridStage(video=video, use_init_image=True).follows_video
    assert not HybridStage(video=video, composite="None", motion="None").follows_video


# -- optical-flow cadence and redo ------------------------------------------------------------


def bound_flow(frames: int = 4, **settings):
    return OpticalFlowStage(**settings).bind(RenderInfo(frames, WIDTH, HEIGHT))


@pytest.mark.parametrize(("cadence", "shift"), [(2, (4, -2)), (3, (6, -3))])
def test_flow_cadence_puts_each_in_between_where_it_belongs(cadence, shift) -> None:
    """Keys at 0 and `cadence`, the later one the earlier moved by `shift`: frame k between
    them shows the picture moved k/cadence of the way, sharp (both warped images agree)."""
    flow = bound_flow(optical_flow_cadence="DIS Fine")
    earlier = texture(4)
    later = shifted(earlier, *shift)
    field = flow.cadence_flow(earlier, later, 0, strength=0.5)
    for k in range(1, cadence):
        weight = k / cadence
        tween = flow.between(earlier, later, field, weight)
        step = (round(shift[0] * weight), round(shift[1] * weight))
        expected = shifted(earlier, *step)
        assert (interior(tween) - interior(expected)).abs().mean() < 0.02, k
        plain_blend = torch.lerp(earlier, later, weight)  # what cadence gives without flow
        assert (interior(plain_blend) - interior(expected)).abs().mean() > 0.04


def test_flow_cadence_is_off_without_a_method_or_strength() -> None:
    frame = texture(5)
    assert bound_flow().cadence_flow(frame, frame, 0, strength=0.5) is None
    on = bound_flow(optical_flow_cadence="DIS Medium")
    assert on.cadence_flow(frame, frame, 0, strength=0.0) is None
    factor = bound_flow(optical_flow_cadence="DIS Fine", cadence_flow_factor_schedule="0:(0.5)")
    full = on.cadence_flow(frame, shifted(frame, 4, 0), 0, strength=0.5)
    half = factor.cadence_flow(frame, shifted(frame, 4, 0), 0, strength=0.5)
    assert interior(half[None])[..., 0].median() == pytest.approx(2.0, abs=0.2)
    assert interior(full[None])[..., 0].median() == pytest.approx(4.0, abs=0.2)


def test_redo_passes_diffuse_with_derived_seeds_and_the_flow_redo_moves_the_result() -> None:
    calls: list[int] = []

    def diffuse(picture: torch.Tensor, seed: int) -> torch.Tensor:
        calls.append(seed)
        return shifted(picture, 2, 0)  # diffusion "moves" things 2 px right

    start = texture(6)
    redo = bound_flow(diffusion_redo=2)
    assert torch.equal(redo.redo(start, start, 1, 100, diffuse), shifted(start, 4, 0))
    assert calls == [redo_seed(100, 1), redo_seed(100, 2)]
    assert len({100, *calls}) == 3  # none is the key's own seed
    calls.clear()
    flow_redo = bound_flow(optical_flow_redo_generation="DIS Fine")
    picture = flow_redo.redo(start, start, 1, 100, diffuse)  # the result moved on by its own flow
    assert calls == [redo_seed(100, 0)]
    assert (interior(picture) - interior(shifted(start, 4, 0))).abs().mean() < 0.02
    assert torch.equal(bound_flow().redo(start, start, 1, 100, diffuse), start)
