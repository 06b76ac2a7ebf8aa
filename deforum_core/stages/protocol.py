"""The one protocol every prepare stage follows: bind once per render, apply per frame.

A stage is a frozen dataclass of its parameters (see params.py). `bind(render)` evaluates
its schedules for the render once and returns a bound stage whose `apply(frames, context)`
does one frame's work on the frames' device. The Deforum loop and the single-image nodes
both go through bind and apply, so a stage behaves the same in both.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

import torch

from ..errors import DeforumError, ScheduleError
from ..params import frame_values

FrameT = TypeVar("FrameT")
T = TypeVar("T")
R = TypeVar("R")


@dataclass(frozen=True)
class RenderInfo:
    """What a stage binds to: the frame count, the frame size, and the values of `s` (the
    render's base seed) and `fps` in its expressions."""

    max_frames: int
    width: int
    height: int
    seed: int = 0
    fps: float = 15.0
    check_cancel: Callable[[], None] | None = None  # called now and then while binding


@dataclass(frozen=True)
class FrameContext:
    """What one frame's stage work may use besides the frames themselves."""

    index: int  # the frame index, whose scheduled values apply
    seed: int = 0  # the frame's seed (noise is drawn from it)
    reference: torch.Tensor | None = None  # the colour coherence reference [1, H, W, 3]
    video_frame: torch.Tensor | None = None  # the source video's frame, for video modes
    depth: torch.Tensor | None = None  # the depth of the frames [B, H, W], for 3D moves
    mask: torch.Tensor | None = None  # where the stage applies, [H, W] or [B, H, W]


def values_for(stage: Any, frame_type: type[FrameT], render: RenderInfo) -> list[FrameT]:
    """The stage's values on every frame of the render, as frame_type (see params.py)."""
    return frame_values(stage, frame_type, render.max_frames, seed=render.seed, fps=render.fps,
                        check_cancel=render.check_cancel)  # fmt: skip


def per_frame(make: Callable[[T], R], values: list[T]) -> list[R]:
    """make(value) for every frame's value; an error names the frame it happened on."""
    made = []
    for frame, value in enumerate(values):
        try:
            made.append(make(value))
        except DeforumError as error:
            if error.frame is not None:
                raise
            raise ScheduleError(error.reason, parameter=error.parameter, frame=frame,
                                hint=error.hint) from None  # fmt: skip
    return made


class BoundStage(Protocol):
    def apply(self, frames: torch.Tensor, context: FrameContext) -> torch.Tensor:
        """One frame's work on frames [B, H, W, C] in 0..1."""
        ...

    def preview(self, frames: torch.Tensor, context: FrameContext) -> torch.Tensor:
        """What of that work a diffuser leaves in its frame, for a motion preview (no
        diffuser): applied to the carried frame instead of `apply`, so that work the diffuser
        would undo (noise, sharpening) does not pile up frame after frame."""
        ...


class Stage(Protocol):
    def bind(self, render: RenderInfo) -> BoundStage:
        """The stage with its schedules evaluated for this render."""
        ...

    def describe(self) -> dict[str, Any]:
        """Its settings as plain data, for the run's record."""
        ...
