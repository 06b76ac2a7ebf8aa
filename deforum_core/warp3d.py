"""Deforum's 3D camera: moving the picture through its depth map with a pinhole camera.

Every pixel is lifted to 3D with its depth (a pinhole of field of view `fov`, pixel
coordinates u, v in -1..1 across the frame), moved by the camera's rigid motion, and
projected again. The frame is then resampled so that each pixel shows what lands there: the
source position of a destination pixel is found by a few fixed-point steps on the
displacement field (Deforum samples the field once, which smears where depth changes).

Units follow Deforum: translations in its units (1/200 of a depth unit, as Disco Diffusion),
rotations in degrees. Positive translation_x moves the camera right (the picture moves
left), positive translation_y moves it up (the picture moves down), positive translation_z
moves it forward (the picture grows). rotation_3d_x tilts (positive moves the picture down
like translation_y), rotation_3d_y pans (positive moves it left like translation_x),
rotation_3d_z rolls (positive turns the picture counter-clockwise like the 2D angle).
near and far, kept from Deforum's settings, do not change the picture: Deforum's own
renderer used them only for depth clipping planes that never clipped anything it drew.

Frames are [B, H, W, C] floats in 0..1 and depths [B, H, W] (larger is farther).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from .errors import DeforumError
from .geometry import SAMPLING_MODES, axis_rotation, check_choice, pixel_grid
from .occlusion import resolve_occlusions

TRANSLATION_SCALE = 1.0 / 200.0
PADDING_MODES = ("border", "reflection", "zeros")
_REFINEMENTS = 4
_MIN_DEPTH = 1e-3


@dataclass(frozen=True)
class Camera3D:
    """One frame's camera motion, in Deforum's units, and its perspective flip."""

    translation_x: float = 0.0
    translation_y: float = 0.0
    translation_z: float = 0.0
    rotation_3d_x: float = 0.0  # degrees
    rotation_3d_y: float = 0.0
    rotation_3d_z: float = 0.0
    fov: float = 40.0  # degrees
    near: float = 200.0  # kept for Deforum settings; no effect on the picture
    far: float = 10000.0
    enable_perspective_flip: bool = False  # the 2D perspective flip, applied first
    perspective_flip_theta: float = 0.0
    perspective_flip_phi: float = 0.0
    perspective_flip_gamma: float = 0.0
    perspective_flip_fv: float = 53.0
    aspect_ratio: float = 1.0  # the Deforum camera's depth stretch (deforum_camera.py)


def rigid_motion(camera: Camera3D) -> torch.Tensor:
    """The 4x4 float64 transform taking a point in the old camera's frame to the new one's.

    Camera space has x right, y down and z forward (depth), like the picture's rows.
    """
    # the scene moves opposite to the camera: a camera moving right shifts points left
    rotation = (
        axis_rotation(0, -camera.rotation_3d_x)
        @ axis_rotation(1, camera.rotation_3d_y)
        @ axis_rotation(2, -camera.rotation_3d_z)
    )
    translation = (
        torch.tensor(
            [-camera.translation_x, camera.translation_y, -camera.translation_z],
            dtype=torch.float64,
        )
        * TRANSLATION_SCALE
    )
    motion = torch.eye(4, dtype=torch.float64)
    motion[:3, :3] = rotation
    motion[:3, 3] = translation
    return motion


def focal_length(fov: float) -> float:
    """Focal length in units of half the frame height, for a vertical field of view."""
    if not 0.0 < fov < 180.0:
        raise DeforumError(
            f"must lie between 0 and 180 degrees, got {fov:g}", parameter="fov",
            hint="use a field of view such as 40",
        )  # fmt: skip
    return 1.0 / math.tan(math.radians(fov) / 2.0)


def project(
    depth: torch.Tensor, motion: torch.Tensor, fov: float
) -> tuple[torch.Tensor, torch.Tensor]:
    """Where each source pixel lands minus where it is, in (u, v) units, [B, H, W, 2], and
    its depth seen from the moved camera, [B, H, W]."""
    height, width = depth.shape[1:]
    aspect = width / height
    focal = focal_length(fov)
    grid = pixel_grid(height, width, depth.device)
    z = depth.float().clamp(min=_MIN_DEPTH)
    points = torch.stack(
        [grid[..., 0] * aspect * z / focal, grid[..., 1] * z / focal, z], dim=-1
    )  # [B, H, W, 3]
    rotation = motion[:3, :3].to(depth.device, torch.float32)
    translation = motion[:3, 3].to(depth.device, torch.float32)
    moved = points @ rotation.T + translation
    moved_z = moved[..., 2].clamp(min=_MIN_DEPTH)
    projected = torch.stack(
        [moved[..., 0] * focal / (moved_z * aspect), moved[..., 1] * focal / moved_z], dim=-1
    )
    return projected - grid, moved_z


def warp_3d(
    frames: torch.Tensor,
    depth: torch.Tensor,
    motion: torch.Tensor,
    fov: float = 40.0,
    *,
    padding: str = "border",
    sampling: str = "bicubic",
    occlusion_aware: bool = False,
) -> torch.Tensor:
    """Move frames [B, H, W, C] by a rigid camera motion [4, 4] through their depth [B, H, W].

    occlusion_aware resolves what the moved camera sees by depth (see occlusion.py): nearer
    things cover farther ones, and uncovered areas continue the background around them.
    """
    check_choice(padding, PADDING_MODES, "padding_mode")
    check_choice(sampling, SAMPLING_MODES, "sampling_mode")
    if depth.shape != frames.shape[:3]:
        raise DeforumError(
            f"depth {tuple(depth.shape)} does not match the frames {tuple(frames.shape[:3])}"
        )
    if torch.equal(motion, torch.eye(4, dtype=motion.dtype)):
        return frames
    batch, height, width, _ = frames.shape
    grid = pixel_grid(height, width, frames.device).expand(batch, -1, -1, -1)
    landing, moved_depth = project(depth, motion, fov)
    field = landing.permute(0, 3, 1, 2)  # [B, 2, H, W]
    source = grid - landing
    for _ in range(_REFINEMENTS):
        # the displacement at the current source estimate, so that source + d(source) = grid
        moved = F.grid_sample(field, source, mode="bilinear", padding_mode="border",
                              align_corners=False)  # fmt: skip
        source = grid - moved.permute(0, 2, 3, 1)
    warped = F.grid_sample(
        frames.permute(0, 3, 1, 2),
        source.to(frames.dtype),
        mode=sampling,
        padding_mode=padding,
        align_corners=False,
    )
    if sampling == "bicubic":
        warped = warped.clamp_(0.0, 1.0)
    warped = warped.permute(0, 2, 3, 1)
    if occlusion_aware:
        warped = resolve_occlusions(frames, warped, source, landing, moved_depth)
    return warped
