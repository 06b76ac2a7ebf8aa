"""Deforum's 2D camera: rotation and zoom about a centre, translation, perspective flip.

Coordinates are continuous pixel coordinates in which the image spans [0, W] x [0, H]
(pixel (i, j) has its centre at (j + 0.5, i + 0.5)), so the transform centre 0.5, 0.5 is the
true image centre and a 90 degree turn of a square image is an exact rotation. Matrices map
source positions to destination positions, as Deforum's cv2.warpPerspective call does:
the frame is first translated, then rotated and zoomed about the centre (R.T), and the
perspective flip is applied last. Unlike Deforum, the flip keeps the translation.

Frames are [B, H, W, C] float tensors (ComfyUI's IMAGE layout) on any device.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from .deforum_camera import deforum_flip_matrix
from .geometry import (
    SAMPLING_MODES,
    FlipAngles,
    axis_rotation,
    check_choice,
    check_flip_fv,
    pixel_centres,
)

BORDER_MODES = ("replicate", "wrap", "reflect", "zeros")
_PADDING = {"replicate": "border", "reflect": "reflection", "zeros": "zeros", "wrap": "border"}
_WRAP_MARGIN = 2  # pixels of circular padding: enough for the bicubic footprint


@dataclass(frozen=True)
class Motion2D:
    """The camera motion of one frame, in Deforum's units."""

    angle: float = 0.0  # degrees per frame, positive turns the picture counter-clockwise
    zoom: float = 1.0  # scale per frame, 1.0 is still
    translation_x: float = 0.0  # pixels per frame, positive moves the picture right
    translation_y: float = 0.0  # pixels per frame, positive moves the picture down
    transform_center_x: float = 0.5  # rotation and zoom centre, as a fraction of the width
    transform_center_y: float = 0.5
    enable_perspective_flip: bool = False
    perspective_flip_theta: float = 0.0  # degrees about the viewing axis, counter-clockwise
    perspective_flip_phi: float = 0.0  # degrees about the horizontal axis
    perspective_flip_gamma: float = 0.0  # degrees about the vertical axis
    perspective_flip_fv: float = 53.0  # field of view of the flip camera, degrees
    camera: str = "pinhole"  # the flip's: "pinhole" or "deforum" (deforum_camera.py)


def motion_matrix(motion: Motion2D, width: int, height: int) -> torch.Tensor:
    """The 3x3 float64 matrix mapping source to destination positions for this motion."""
    center_x = motion.transform_center_x * width
    center_y = motion.transform_center_y * height
    radians = math.radians(motion.angle)
    cos_a = motion.zoom * math.cos(radians)
    sin_a = motion.zoom * math.sin(radians)
    # y points down, so a counter-clockwise turn on screen uses +sin in the first row
    rotate_zoom = torch.tensor(
        [
            [cos_a, sin_a, (1 - cos_a) * center_x - sin_a * center_y],
            [-sin_a, cos_a, sin_a * center_x + (1 - cos_a) * center_y],
            [0.0, 0.0, 1.0],
        ],
        dtype=torch.float64,
    )
    translate = torch.tensor(
        [[1.0, 0.0, motion.translation_x], [0.0, 1.0, motion.translation_y], [0.0, 0.0, 1.0]],
        dtype=torch.float64,
    )
    matrix = rotate_zoom @ translate
    if motion.enable_perspective_flip:
        matrix = any_flip_matrix(motion, motion.camera, width, height) @ matrix
    return matrix


def any_flip_matrix(angles: FlipAngles, camera: str, width: int, height: int) -> torch.Tensor:
    """The perspective flip of a camera: Deforum's own, or the pinhole one (flip_matrix)."""
    if camera == "deforum":
        return deforum_flip_matrix(angles, width, height)
    return flip_matrix(angles, width, height)


def flip_matrix(angles: FlipAngles, width: int, height: int) -> torch.Tensor:
    """Homography of the picture plane turned in 3D and seen by a pinhole camera.

    The plane is rotated about its centre by theta (viewing axis), phi (horizontal axis)
    and gamma (vertical axis), placed at the distance where the field of view fv spans the
    image diagonal, and projected back so that zero angles give the identity.
    """
    fv = check_flip_fv(angles.perspective_flip_fv)
    distance = math.hypot(width, height) / (2.0 * math.sin(math.radians(fv) / 2.0))
    # y points down: a negative turn about the viewing axis is counter-clockwise on screen,
    # so a positive theta turns the same way as a positive 2D angle
    rotation = (
        axis_rotation(2, -angles.perspective_flip_theta)
        @ axis_rotation(1, angles.perspective_flip_gamma)
        @ axis_rotation(0, angles.perspective_flip_phi)
    )
    # picture point (x, y) relative to the centre -> camera space -> projected with focal
    # length = distance, so an unrotated plane maps onto itself
    center = torch.tensor(
        [[1.0, 0.0, -width / 2], [0.0, 1.0, -height / 2], [0.0, 0.0, 1.0]], dtype=torch.float64
    )
    place = torch.stack(
        [rotation[:, 0], rotation[:, 1], torch.tensor([0.0, 0.0, distance], dtype=torch.float64)],
        dim=1,
    )
    project = torch.tensor(
        [[distance, 0.0, width / 2 * 1.0], [0.0, distance, height / 2 * 1.0], [0.0, 0.0, 1.0]],
        dtype=torch.float64,
    )
    return project @ place @ center


def warp_frames(
    frames: torch.Tensor,
    matrix: torch.Tensor,
    *,
    border: str = "replicate",
    sampling: str = "bicubic",
) -> torch.Tensor:
    """Move frames [B, H, W, C] by a source-to-destination matrix [3, 3].

    Sampling happens on the frames' device with torch.grid_sample; bicubic results are
    clamped to 0..1 so that repeated warps never drift out of range.
    """
    check_choice(border, BORDER_MODES, "border", "border mode")
    check_choice(sampling, SAMPLING_MODES, "sampling", "sampling mode")
    batch, height, width, _ = frames.shape
    inverse = torch.linalg.inv(matrix.to(torch.float64)).to(frames.device, torch.float32)
    source = pixel_centres(height, width, frames.device) @ inverse.T
    source_xy = source[:, :2] / source[:, 2:3]
    images = frames.permute(0, 3, 1, 2)
    size = torch.tensor([width, height], dtype=torch.float32, device=frames.device)
    if border == "wrap":
        source_xy = torch.remainder(source_xy, size) + _WRAP_MARGIN
        images = F.pad(images, [_WRAP_MARGIN] * 4, mode="circular")
        size = size + 2 * _WRAP_MARGIN
    grid = (source_xy * (2.0 / size) - 1.0).reshape(1, height, width, 2).expand(batch, -1, -1, -1)
    warped = F.grid_sample(
        images,
        grid.to(frames.dtype),
        mode=sampling,
        padding_mode=_PADDING[border],
        align_corners=False,
    )
    if sampling == "bicubic":
        warped = warped.clamp_(0.0, 1.0)
    return warped.permute(0, 2, 3, 1)


def warp_2d(
    frames: torch.Tensor, motion: Motion2D, *, border: str = "replicate", sampling: str = "bicubic"
) -> torch.Tensor:
    """Apply one frame's 2D motion to frames [B, H, W, C]."""
    _, height, width, _ = frames.shape
    return warp_frames(
        frames, motion_matrix(motion, width, height), border=border, sampling=sampling
    )
