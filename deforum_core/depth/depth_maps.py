"""Depth maps on disk: 16-bit greyscale PNGs, written atomically (temporary file + rename).

Saved maps show near as bright: a map whose small values are near (Deforum's camera depth
z, metric depth) is inverted; one whose large values are near (raw MiDaS / Depth Anything
output) is not. Values are scaled to 0..65535 over `value_range`, by default the map's own
min and max. To give a whole render one scale, pass a fixed range (for Deforum's z, (1, 2))
or keep a DepthRange, which widens over the frames as Deforum's own depth saving does.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch

from ..errors import DeforumError
from ..files import atomic_write

MAX_16BIT = 65535


class DepthRange:
    """Running min and max over the maps seen so far (Deforum's depth_min / depth_max)."""

    def __init__(self) -> None:
        self.low = float("inf")
        self.high = float("-inf")

    def update(self, depth: torch.Tensor) -> tuple[float, float]:
        finite = depth[torch.isfinite(depth)]
        if finite.numel():
            self.low = min(self.low, float(finite.min()))
            self.high = max(self.high, float(finite.max()))
        return self.low, self.high


def depth_to_uint16(
    depth: torch.Tensor,
    *,
    near_is_small: bool = True,
    value_range: tuple[float, float] | None = None,
) -> np.ndarray:
    """[H, W] (or [1, H, W]) depth as a uint16 array with near bright."""
    depth = depth.detach().float()
    if depth.ndim == 3 and depth.shape[0] == 1:
        depth = depth[0]
    if depth.ndim != 2:
        raise DeforumError(f"a depth map is [H, W], got {tuple(depth.shape)}")
    depth = torch.nan_to_num(depth, nan=0.0, posinf=0.0, neginf=0.0)
    if value_range is None:
        low, high = float(depth.min()), float(depth.max())
    else:
        low, high = (float(value) for value in value_range)
    scaled = (depth - low) / max(high - low, 1e-12)
    if near_is_small:
        scaled = 1.0 - scaled
    levels = scaled.clamp(0.0, 1.0).mul(MAX_16BIT).round()
    return levels.to(torch.int32).cpu().numpy().astype(np.uint16)


def save_depth_map(
    path: str | os.PathLike,
    depth: torch.Tensor,
    *,
    near_is_small: bool = True,
    value_range: tuple[float, float] | None = None,
) -> Path:
    """Write a depth map as a 16-bit greyscale PNG, atomically; returns the path."""
    import cv2

    path = Path(path)
    ok, encoded = cv2.imencode(
        ".png", depth_to_uint16(depth, near_is_small=near_is_small, value_range=value_range)
    )
    if not ok:
        raise DeforumError(f"could not encode the depth map for {path}")
    path.parent.mkdir(parents=True, exist_ok=True)
    return atomic_write(path, encoded.tobytes())


def read_depth_map(path: str | os.PathLike) -> torch.Tensor:
    """A saved depth map as [H, W] float32 in 0..1 (near bright)."""
    import cv2

    levels = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if levels is None:
        raise DeforumError(f"cannot read the depth map {path}")
    if levels.ndim == 3:
        levels = levels[..., 0]
    scale = MAX_16BIT if levels.dtype == np.uint16 else 255
    return torch.from_numpy(levels.astype(np.float32) / scale)
