"""Shared primitives of the 2D and 3D cameras: rotations, pixel grids and sampling modes.

Pixel (i, j) has its centre at (j + 0.5, i + 0.5) in continuous pixel coordinates, and at
(u, v) = ((j + 0.5) * 2 / W - 1, (i + 0.5) * 2 / H - 1) in grid_sample's normalised
coordinates with align_corners=False.
"""

from __future__ import annotations

import math
from functools import lru_cache
from typing import Protocol

import torch
import torch.nn.functional as F

from .errors import DeforumError

SAMPLING_MODES = ("bicubic", "bilinear", "nearest")


class FlipAngles(Protocol):
    """What the perspective flip needs of a frame's motion (2D or 3D), in degrees."""

    perspective_flip_theta: float
    perspective_flip_phi: float
    perspective_flip_gamma: float
    perspective_flip_fv: float


def check_choice(value: str, choices: tuple[str, ...], parameter: str, what: str = "") -> str:
    """The value when it is one of the choices, else an error naming them; `what` names the
    kind of value in the message (default: the parameter's name in words)."""
    if value not in choices:
        raise DeforumError(
            f"unknown {what or parameter.replace('_', ' ')} {value!r}", parameter=parameter,
            hint=f"use one of {', '.join(choices)}",
        )  # fmt: skip
    return value


def check_flip_fv(fv: float) -> float:
    """A perspective flip's field of view, which must lie strictly between 0 and 180."""
    if not 0.0 < fv < 180.0:
        raise DeforumError(
            f"must lie between 0 and 180 degrees, got {fv:g}", parameter="perspective_flip_fv",
            hint="use a field of view such as 53",
        )  # fmt: skip
    return fv


def axis_rotation(axis: int, degrees: float) -> torch.Tensor:
    """A 3x3 float64 rotation by degrees about axis 0 (x), 1 (y) or 2 (z)."""
    cos_a, sin_a = math.cos(math.radians(degrees)), math.sin(math.radians(degrees))
    first, second = [index for index in range(3) if index != axis]
    rotation = torch.eye(3, dtype=torch.float64)
    rotation[first, first] = rotation[second, second] = cos_a
    rotation[first, second] = -sin_a
    rotation[second, first] = sin_a
    return rotation


def pixel_grid(height: int, width: int, device: torch.device) -> torch.Tensor:
    """Pixel centres as (u, v) in -1..1 (grid_sample's align_corners=False), [H, W, 2]."""
    vs = (torch.arange(height, device=device, dtype=torch.float32) + 0.5) * (2.0 / height) - 1.0
    us = (torch.arange(width, device=device, dtype=torch.float32) + 0.5) * (2.0 / width) - 1.0
    grid_v, grid_u = torch.meshgrid(vs, us, indexing="ij")
    return torch.stack([grid_u, grid_v], dim=-1)


@lru_cache(maxsize=8)
def pixel_centres(height: int, width: int, device: torch.device) -> torch.Tensor:
    """Homogeneous pixel centres (x, y, 1) in pixel coordinates, [H*W, 3]; cached, since
    every frame of a render reuses them."""
    ys = torch.arange(height, dtype=torch.float32, device=device) + 0.5
    xs = torch.arange(width, dtype=torch.float32, device=device) + 0.5
    grid_y, grid_x = torch.meshgrid(ys, xs, indexing="ij")
    ones = torch.ones_like(grid_x)
    return torch.stack([grid_x, grid_y, ones], dim=-1).reshape(-1, 3)


def stretch(images: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """Images [B, H, W, C] resampled to height x width without keeping the aspect, as Deforum
    stretches its init image, video frames and masks; antialiased bicubic, close to the
    Lanczos filter Deforum uses. Images of that size are returned as they are."""
    if tuple(images.shape[1:3]) == (height, width):
        return images
    resized = F.interpolate(images.permute(0, 3, 1, 2), (height, width), mode="bicubic",
                            antialias=True)  # fmt: skip
    return resized.permute(0, 2, 3, 1)
