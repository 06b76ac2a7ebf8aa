"""Deforum's own cameras, computed as sd-webui-deforum computes them, for moves tuned there.

3D (Deforum's `transform_image_3d_new`): the frame is not lifted into space by its depth and
seen again. Points (x, y, z) are taken with x, y spread evenly from -1 to 1 over the width and
height (edges included) and z the camera depth (1 near to 2 far; 1 everywhere for flat
depth), and projected by an unmoved and a moved perspective camera: K = (1 / (tan(fov/2) *
aspect), 1 / tan(fov/2)), a point seen at (K_x * X / Z, K_y * Y / Z) with (X, Y, Z) = p R + t
for the moved one (row vectors, R the XYZ Euler rotation of rotation_3d_x/y/z, t =
(-translation_x, translation_y, -translation_z) / 200). Each pixel centre of the output
samples the frame at its own position minus the difference of the two projections, in
grid_sample's -1..1 units. aspect is the aspect_ratio schedule (1 by default: not W/H), or
W/H with aspect_ratio_use_old_formula. near and far only scale the projected depth, which the
warp never uses: they change nothing.

Perspective flip (Deforum's `get_flip_perspective_matrix`): the picture plane, turned by
phi about x, gamma about y and theta about z, is seen from the distance h = d / (2 sin(fv/2))
(d the frame's diagonal) through an OpenGL-style projection whose last diagonal entry stays 1,
which zooms out slightly even at zero angles; the result is stretched over a square of side
d / cos(fv/2) and shifted back by half of what it overhangs. Its matrix works in OpenCV's
pixel coordinates (pixel centres at whole numbers) and is moved to the pack's (centres at
half pixels) so that both sample the same places.

Matrices are float64; motions are column-form 4x4, so moves combine as products.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from .geometry import FlipAngles, axis_rotation, check_flip_fv
from .warp3d import TRANSLATION_SCALE, Camera3D

_MIN_DEPTH = 1e-6


def deforum_rigid_motion(camera: Camera3D) -> torch.Tensor:
    """Deforum's camera move of one frame as a column-form 4x4: (X, Y, Z, 1) = M (x, y, z, 1)."""
    rotation = (
        axis_rotation(0, camera.rotation_3d_x)
        @ axis_rotation(1, -camera.rotation_3d_y)  # Deforum's Y turns the other way round
        @ axis_rotation(2, camera.rotation_3d_z)
    )
    translation = torch.tensor(
        [-camera.translation_x, camera.translation_y, -camera.translation_z], dtype=torch.float64
    )
    motion = torch.eye(4, dtype=torch.float64)
    motion[:3, :3] = rotation.T  # Deforum applies p @ R: the transpose, in column form
    motion[:3, 3] = translation * TRANSLATION_SCALE
    return motion


def deforum_sampling_grid(
    depth: torch.Tensor, motion: torch.Tensor, fov: float, aspect_ratio: float
) -> torch.Tensor:
    """Where each output pixel samples the frame, [B, H, W, 2] in grid_sample's -1..1 units,
    for camera depth [B, H, W] and a column-form motion [4, 4] (see the module docstring)."""
    _, height, width = depth.shape
    device = depth.device
    focal = 1.0 / math.tan(math.radians(fov) / 2.0)
    scale = torch.tensor([focal / aspect_ratio, focal], device=device, dtype=torch.float32)
    ys = torch.linspace(-1.0, 1.0, height, device=device)
    xs = torch.linspace(-1.0, 1.0, width, device=device)
    y, x = torch.meshgrid(ys, xs, indexing="ij")
    z = depth.float()
    points = torch.stack([x.expand_as(z), y.expand_as(z), z], dim=-1)  # [B, H, W, 3]
    rotation = motion[:3, :3].to(device, torch.float32)
    translation = motion[:3, 3].to(device, torch.float32)
    moved = points @ rotation.T + translation
    still = points[..., :2] * scale / z.clamp(min=_MIN_DEPTH)[..., None]
    seen = moved[..., :2] * scale / moved[..., 2:].clamp(min=_MIN_DEPTH)
    centres = F.affine_grid(
        torch.eye(2, 3, device=device)[None], [1, 1, height, width], align_corners=False
    )
    return centres - (seen - still)


def deforum_warp_3d(
    frames: torch.Tensor,
    depth: torch.Tensor,
    motion: torch.Tensor,
    fov: float,
    aspect_ratio: float,
    *,
    padding: str = "border",
    sampling: str = "bicubic",
) -> torch.Tensor:
    """Frames [B, H, W, C] moved by Deforum's 3D camera through their depth [B, H, W]."""
    if torch.equal(motion, torch.eye(4, dtype=motion.dtype)):
        return frames
    grid = deforum_sampling_grid(depth, motion, fov, aspect_ratio)
    warped = F.grid_sample(frames.permute(0, 3, 1, 2), grid.to(frames.dtype), mode=sampling,
                           padding_mode=padding, align_corners=False)  # fmt: skip
    if sampling == "bicubic":
        warped = warped.clamp_(0.0, 1.0)
    return warped.permute(0, 2, 3, 1)


def deforum_flip_matrix(angles: FlipAngles, width: int, height: int) -> torch.Tensor:
    """Deforum's perspective flip as a source-to-destination matrix [3, 3] in the pack's
    pixel coordinates (see the module docstring)."""
    half = math.radians(check_flip_fv(angles.perspective_flip_fv) / 2.0)
    diagonal = math.hypot(width, height)
    side = diagonal / math.cos(half)
    distance = diagonal / (2.0 * math.sin(half))
    near, far = distance - diagonal / 2.0, distance + diagonal / 2.0
    projection = torch.eye(4, dtype=torch.float64)  # [3, 3] stays 1, as in Deforum
    projection[0, 0] = projection[1, 1] = 1.0 / math.tan(half)
    projection[2, 2] = -(far + near) / (far - near)
    projection[2, 3] = -2.0 * far * near / (far - near)
    projection[3, 2] = -1.0
    back = torch.eye(4, dtype=torch.float64)
    back[2, 3] = -distance
    turn = torch.eye(4, dtype=torch.float64)
    turn[:3, :3] = (
        axis_rotation(0, angles.perspective_flip_phi)
        @ axis_rotation(1, -angles.perspective_flip_gamma)
        @ axis_rotation(2, angles.perspective_flip_theta)
    )
    seen = projection @ back @ turn
    onto_plane = torch.tensor(  # OpenCV pixel (x, y) -> plane point (x - W/2, y - H/2, 0)
        [[1.0, 0.0, -width / 2], [0.0, 1.0, -height / 2], [0.0, 0.0, 0.0], [0.0, 0.0, 1.0]],
        dtype=torch.float64,
    )
    to_square = torch.tensor(
        [[side / 2, 0.0, side / 2], [0.0, side / 2, side / 2], [0.0, 0.0, 1.0]],
        dtype=torch.float64,
    )
    shift_back = _translation((width - side) / 2, (height - side) / 2)
    opencv = to_square @ seen[[0, 1, 3]] @ onto_plane @ shift_back
    return _translation(0.5, 0.5) @ opencv @ _translation(-0.5, -0.5)


def _translation(dx: float, dy: float) -> torch.Tensor:
    return torch.tensor([[1.0, 0.0, dx], [0.0, 1.0, dy], [0.0, 0.0, 1.0]], dtype=torch.float64)
