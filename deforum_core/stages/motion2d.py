"""Deforum's 2D camera as a stage: rotation, zoom, translation and the perspective flip."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import torch

from ..errors import ScheduleError
from ..geometry import SAMPLING_MODES
from ..keyframes import Schedule
from ..params import ParameterTable, choice, flag, schedule
from ..warp2d import BORDER_MODES, Motion2D, motion_matrix, warp_frames
from .protocol import FrameContext, RenderInfo, per_frame, values_for

FLIP_TOOLTIPS = {
    "perspective_flip_theta": "Perspective flip: degrees about the viewing axis (like angle).",
    "perspective_flip_phi": "Perspective flip: degrees about the horizontal axis (tilts).",
    "perspective_flip_gamma": "Perspective flip: degrees about the vertical axis (pans).",
    "perspective_flip_fv": "Perspective flip: field of view in degrees (smaller = flatter).",
}


def flip_schedule(name: str, default: str) -> Any:
    """A perspective-flip schedule, declared alike for the 2D and the 3D camera."""
    return schedule(default, FLIP_TOOLTIPS[name], deforum_key=name)


CAMERAS = ("deforum", "pinhole")
PINHOLE = "pinhole"  # what workflows saved before the camera choice render with


def camera_choice(tooltip: str) -> Any:
    """The camera input both motion nodes gained after their first release."""
    return choice("deforum", CAMERAS, tooltip, appended=True, legacy=PINHOLE)


def perspective_flip_flag(tooltip: str) -> Any:
    return flag(
        False, tooltip, deforum_key="enable_perspective_flip", aliases=("flip_2d_perspective",)
    )


@dataclass(frozen=True)
class Motion2DStage(ParameterTable):
    """The Deforum Motion 2D node's settings, in widget order."""

    angle: Schedule = schedule(
        "0:(0)",
        "Rotation in degrees per frame; positive turns the picture counter-clockwise.",
        deforum_key="angle",
    )
    zoom: Schedule = schedule(
        "0:(1.0025+0.002*sin(1.25*3.14*t/30))",
        "Scale per frame: above 1 zooms in, below 1 zooms out.",
        deforum_key="zoom",
    )
    translation_x: Schedule = schedule(
        "0:(0)", "Pixels per frame; positive moves the picture right.", deforum_key="translation_x"
    )
    translation_y: Schedule = schedule(
        "0:(0)", "Pixels per frame; positive moves the picture down.", deforum_key="translation_y"
    )
    transform_center_x: Schedule = schedule(
        "0:(0.5)",
        "Centre of rotation and zoom as a fraction of the width (0.5: middle).",
        deforum_key="transform_center_x",
    )
    transform_center_y: Schedule = schedule(
        "0:(0.5)",
        "Centre of rotation and zoom as a fraction of the height (0.5: middle).",
        deforum_key="transform_center_y",
    )
    border: str = choice(
        "replicate",
        BORDER_MODES,
        "What fills the area moved in from outside the frame.",
        deforum_key="border",
    )
    sampling: str = choice("bicubic", SAMPLING_MODES, "Pixel interpolation of the warp.")
    enable_perspective_flip: bool = perspective_flip_flag("Turn the picture plane in 3D as well.")
    perspective_flip_theta: Schedule = flip_schedule("perspective_flip_theta", "0:(0)")
    perspective_flip_phi: Schedule = flip_schedule("perspective_flip_phi", "0:(0)")
    perspective_flip_gamma: Schedule = flip_schedule("perspective_flip_gamma", "0:(0)")
    perspective_flip_fv: Schedule = flip_schedule("perspective_flip_fv", "0:(53)")
    camera: str = camera_choice(
        "deforum: the perspective flip exactly as Deforum turns it (for settings made there). "
        "pinhole: the picture plane turned and seen by a pinhole camera (the pack's first flip)."
    )

    def bind(self, render: RenderInfo) -> BoundMotion2D:
        return BoundMotion2D(self, render)

    def describe(self) -> dict[str, Any]:
        return {"type": "Motion2D", **super().describe()}


def _check_invertible(matrix: torch.Tensor, motion: Motion2D, frame: int) -> None:
    """A camera that squashes the picture to a line or a point cannot be undone."""
    determinant = float(torch.linalg.det(matrix))
    if abs(determinant) > 1e-9 and math.isfinite(determinant):
        return
    if motion.zoom == 0:
        raise ScheduleError(
            f"zoom {motion.zoom:g} shrinks the picture to a point", parameter="zoom", frame=frame,
            hint="use a zoom above 0: 1 holds still, 1.02 zooms in, 0.98 zooms out",
        )  # fmt: skip
    raise ScheduleError(
        "the perspective flip turns the picture edge-on", parameter="perspective_flip_phi",
        frame=frame, hint="keep perspective_flip_phi and perspective_flip_gamma within ±80",
    )  # fmt: skip


class BoundMotion2D:
    """The 2D camera of one render: each frame's source-to-destination matrix."""

    def __init__(self, stage: Motion2DStage, render: RenderInfo) -> None:
        self.stage = stage
        motions = values_for(stage, Motion2D, render)
        self.matrices = per_frame(lambda m: motion_matrix(m, render.width, render.height), motions)
        for frame, (motion, matrix) in enumerate(zip(motions, self.matrices, strict=True)):
            _check_invertible(matrix, motion, frame)

    def warp(self, frames: torch.Tensor, matrix: torch.Tensor) -> torch.Tensor:
        """Move frames [B, H, W, C] by a matrix, with this stage's border and sampling."""
        return warp_frames(frames, matrix, border=self.stage.border, sampling=self.stage.sampling)

    def apply(self, frames: torch.Tensor, context: FrameContext) -> torch.Tensor:
        """Move frames by the motion of frame context.index."""
        return self.warp(frames, self.matrices[context.index])
