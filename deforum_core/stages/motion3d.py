"""Deforum's 3D camera as a stage: a rigid camera motion per frame, applied through depth."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from ..errors import ScheduleError
from ..geometry import SAMPLING_MODES
from ..keyframes import Schedule
from ..params import ParameterTable, choice, flag, schedule
from ..warp2d import flip_matrix, warp_frames
from ..warp3d import PADDING_MODES, Camera3D, rigid_motion, warp_3d
from .motion2d import flip_schedule, perspective_flip_flag
from .protocol import FrameContext, RenderInfo, per_frame, values_for

UNUSED = "Kept from Deforum settings; has no effect on the picture."


@dataclass(frozen=True)
class Motion3DStage(ParameterTable):
    """The Deforum Motion 3D node's settings, in widget order."""

    translation_x: Schedule = schedule(
        "0:(0)",
        "Camera moves right per frame (Deforum units); the picture moves left.",
        deforum_key="translation_x",
    )
    translation_y: Schedule = schedule(
        "0:(0)",
        "Camera moves up per frame (Deforum units); the picture moves down.",
        deforum_key="translation_y",
    )
    translation_z: Schedule = schedule(
        "0:(10)",
        "Camera moves forward per frame (Deforum units): near things grow most.",
        deforum_key="translation_z",
    )
    rotation_3d_x: Schedule = schedule(
        "0:(0)",
        "Camera tilt in degrees per frame; positive moves the picture down.",
        deforum_key="rotation_3d_x",
    )
    rotation_3d_y: Schedule = schedule(
        "0:(0)",
        "Camera pan in degrees per frame; positive moves the picture left.",
        deforum_key="rotation_3d_y",
    )
    rotation_3d_z: Schedule = schedule(
        "0:(0)",
        "Camera roll in degrees per frame; positive turns the picture counter-clockwise.",
        deforum_key="rotation_3d_z",
    )
    fov: Schedule = schedule(
        "0:(40)",
        "Camera field of view in degrees: wider makes depth motion stronger.",
        deforum_key="fov_schedule",
        aliases=("fov",),
    )
    near: Schedule = schedule(
        "0:(200)", UNUSED, deforum_key="near_schedule", aliases=("near_plane",)
    )
    far: Schedule = schedule(
        "0:(10000)", UNUSED, deforum_key="far_schedule", aliases=("far_plane",)
    )
    padding_mode: str = choice(
        "border",
        PADDING_MODES,
        "What fills areas moved in from outside.",
        deforum_key="padding_mode",
    )
    sampling_mode: str = choice(
        "bicubic", SAMPLING_MODES, "Pixel interpolation of the warp.", deforum_key="sampling_mode"
    )
    enable_perspective_flip: bool = perspective_flip_flag("Also turn the picture plane, as in 2D.")
    perspective_flip_theta: Schedule = flip_schedule("perspective_flip_theta", "0:(0)")
    perspective_flip_phi: Schedule = flip_schedule("perspective_flip_phi", "0:(0)")
    perspective_flip_gamma: Schedule = flip_schedule("perspective_flip_gamma", "0:(0)")
    perspective_flip_fv: Schedule = flip_schedule("perspective_flip_fv", "0:(53)")
    save_depth_maps: bool = flag(
        False,
        "Write each diffused frame's depth as a 16-bit PNG (depth_NNNNN.png) into the run folder.",
        deforum_key="save_depth_maps",
    )
    occlusion_aware: bool = flag(
        False,
        "Resolve what the camera sees by depth: near things cover far ones, and uncovered "
        "areas continue the background instead of stretching the near edge (slower).",
    )

    def bind(self, render: RenderInfo) -> BoundMotion3D:
        return BoundMotion3D(self, render)

    def describe(self) -> dict[str, Any]:
        return {"type": "Motion3D", **super().describe()}


class BoundMotion3D:
    """The 3D camera of one render: each frame's rigid motion, perspective flip and fov."""

    def __init__(self, stage: Motion3DStage, render: RenderInfo) -> None:
        self.stage = stage
        cameras = values_for(stage, Camera3D, render)
        identity = torch.eye(3, dtype=torch.float64)
        self.motions = [rigid_motion(camera) for camera in cameras]
        self.flips = per_frame(
            lambda camera: (
                flip_matrix(camera, render.width, render.height)
                if camera.enable_perspective_flip
                else identity
            ),
            cameras,
        )
        self.fovs = [camera.fov for camera in cameras]
        for frame, fov in enumerate(self.fovs):
            if not 0.0 < fov < 180.0:
                raise ScheduleError(
                    f"{fov:g} is outside 0..180 (exclusive)", parameter="fov", frame=frame,
                    hint="use a field of view in degrees such as 40",
                )  # fmt: skip

    def warp(
        self,
        frames: torch.Tensor,
        depth: torch.Tensor,
        motion: torch.Tensor,
        flip: torch.Tensor,
        fov: float,
    ) -> torch.Tensor:
        """The perspective flip (as Deforum, on the picture first), then the 3D move."""
        stage = self.stage
        if not torch.equal(flip, torch.eye(3, dtype=flip.dtype)):
            frames = warp_frames(frames, flip, border="replicate", sampling=stage.sampling_mode)
        return warp_3d(
            frames, depth, motion, fov, padding=stage.padding_mode,
            sampling=stage.sampling_mode, occlusion_aware=stage.occlusion_aware,
        )  # fmt: skip

    def apply(self, frames: torch.Tensor, context: FrameContext) -> torch.Tensor:
        """Move frames by the camera motion of frame context.index through context.depth."""
        index = context.index
        if context.depth is None:
            raise ValueError("a 3D move needs the depth of the frames in its context")
        flip, fov = self.flips[index], self.fovs[index]
        return self.warp(frames, context.depth, self.motions[index], flip, fov)
