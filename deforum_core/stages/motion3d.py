"""Deforum's 3D camera as a stage: a rigid camera motion per frame, applied through depth."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from ..deforum_camera import deforum_rigid_motion, deforum_warp_3d
from ..errors import ScheduleError
from ..geometry import SAMPLING_MODES
from ..keyframes import Schedule
from ..params import ParameterTable, choice, flag, schedule
from ..warp2d import any_flip_matrix, warp_frames
from ..warp3d import PADDING_MODES, Camera3D, rigid_motion, warp_3d
from .motion2d import PINHOLE, camera_choice, flip_schedule, perspective_flip_flag
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
        "areas continue the background instead of stretching the near edge (slower; pinhole "
        "camera only).",
    )
    camera: str = camera_choice(
        "deforum: Deforum's own 3D camera and flip, so moves tuned in Deforum run at its speed. "
        "pinhole: a true pinhole through the depth (the pack's first camera, with the "
        "occlusion option)."
    )
    aspect_ratio: Schedule = schedule(
        "0:(1)", "Deforum camera: stretches the depth motion sideways (1 as in Deforum).",
        deforum_key="aspect_ratio_schedule", appended=True,
    )  # fmt: skip
    aspect_ratio_use_old_formula: bool = flag(
        False, "Deforum camera: use width/height as the aspect ratio (Deforum's old formula).",
        deforum_key="aspect_ratio_use_old_formula", appended=True,
    )  # fmt: skip

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.occlusion_aware and self.camera != PINHOLE:
            raise ScheduleError(
                "occlusion_aware works with the pinhole camera", parameter="occlusion_aware",
                hint="set camera to pinhole, or turn occlusion_aware off",
            )  # fmt: skip

    def bind(self, render: RenderInfo) -> BoundMotion3D:
        return BoundMotion3D(self, render)

    def describe(self) -> dict[str, Any]:
        return {"type": "Motion3D", **super().describe()}


class BoundMotion3D:
    """The 3D camera of one render: each frame's motion, perspective flip, fov and aspect."""

    def __init__(self, stage: Motion3DStage, render: RenderInfo) -> None:
        self.stage = stage
        cameras = values_for(stage, Camera3D, render)
        identity = torch.eye(3, dtype=torch.float64)
        deforum = stage.camera != PINHOLE
        self.motions = [(deforum_rigid_motion if deforum else rigid_motion)(c) for c in cameras]
        self.flips = per_frame(
            lambda camera: (
                any_flip_matrix(camera, stage.camera, render.width, render.height)
                if camera.enable_perspective_flip
                else identity
            ),
            cameras,
        )
        self.fovs = [camera.fov for camera in cameras]
        old_formula = render.width / render.height
        self.aspects = [
            old_formula if stage.aspect_ratio_use_old_formula else camera.aspect_ratio
            for camera in cameras
        ]
        for frame, (fov, aspect) in enumerate(zip(self.fovs, self.aspects, strict=True)):
            if not 0.0 < fov < 180.0:
                raise ScheduleError(
                    f"{fov:g} is outside 0..180 (exclusive)", parameter="fov", frame=frame,
                    hint="use a field of view in degrees such as 40",
                )  # fmt: skip
            if not aspect > 0.0:
                raise ScheduleError(f"{aspect:g} is not above 0", parameter="aspect_ratio",
                                    frame=frame, hint="use 1, as Deforum does")  # fmt: skip

    def warp(
        self,
        frames: torch.Tensor,
        depth: torch.Tensor,
        motion: torch.Tensor,
        flip: torch.Tensor,
        frame: int,
    ) -> torch.Tensor:
        """The perspective flip (as Deforum, on the picture first), then the 3D move, with
        the field of view and aspect ratio of frame `frame`."""
        stage = self.stage
        if not torch.equal(flip, torch.eye(3, dtype=flip.dtype)):
            frames = warp_frames(frames, flip, border="replicate", sampling=stage.sampling_mode)
        sampling = {"padding": stage.padding_mode, "sampling": stage.sampling_mode}
        if stage.camera != PINHOLE:
            return deforum_warp_3d(frames, depth, motion, self.fovs[frame], self.aspects[frame],
                                   **sampling)  # fmt: skip
        return warp_3d(frames, depth, motion, self.fovs[frame],
                       occlusion_aware=stage.occlusion_aware, **sampling)  # fmt: skip

    def apply(self, frames: torch.Tensor, context: FrameContext) -> torch.Tensor:
        """Move frames by the camera motion of frame context.index through context.depth."""
        index = context.index
        if context.depth is None:
            raise ValueError("a 3D move needs the depth of the frames in its context")
        return self.warp(frames, context.depth, self.motions[index], self.flips[index], index)
