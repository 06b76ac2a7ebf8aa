"""The animation modes, by the name Deforum's settings and the Animate node use for them.

Adding a mode is one module (a subclass of AnimationMode) and one line here.
"""

from __future__ import annotations

from ..errors import ScheduleError
from .base import AnimationMode, FrameNoise, KeyInputs, KeyStart
from .cameras import Camera2D, Camera3D, DepthModel, StillCamera
from .interpolation import InterpolationMode, InterpolationStage
from .still import NoneMode
from .three_d import Mode3D
from .two_d import Mode2D
from .video_input import VideoInputMode

MODES: dict[str, AnimationMode] = {
    mode.name: mode
    for mode in (
        NoneMode(),
        Mode2D(),
        Mode3D(),
        VideoInputMode(),
        InterpolationMode(),
    )
}
MODE_NAMES = tuple(MODES)


def get_mode(name: str) -> AnimationMode:
    if name not in MODES:
        raise ScheduleError(
            f"unknown animation mode {name!r}",
            parameter="animation_mode",
            hint=f"use one of {', '.join(MODE_NAMES)}",
        )
    return MODES[name]


__all__ = [
    "MODES",
    "MODE_NAMES",
    "AnimationMode",
    "Camera2D",
    "Camera3D",
    "DepthModel",
    "FrameNoise",
    "InterpolationStage",
    "KeyInputs",
    "KeyStart",
    "StillCamera",
    "get_mode",
]
