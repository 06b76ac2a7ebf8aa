"""Bilinear sampling of images at arbitrary pixel positions, with OpenCV's border rules.

Positions are pixel indices (pixel (i, j) is at x = j, y = i, as OpenCV and flow fields
count), so grid_sample runs with align_corners=True. Its "reflection" padding then mirrors
about the centres of the edge pixels, which is OpenCV's BORDER_REFLECT_101 (the edge pixel
is not repeated), and "border" clamps to the edge pixels (BORDER_REPLICATE). Reflecting the
position is exact for bilinear sampling: the reflected image is symmetric about those centres.
"""

from __future__ import annotations

from functools import lru_cache

import torch
import torch.nn.functional as F

from ..geometry import pixel_centres

BORDERS = {"reflect_101": "reflection", "replicate": "border"}


@lru_cache(maxsize=8)
def pixel_indices(height: int, width: int, device: torch.device) -> torch.Tensor:
    """Every pixel's own position (x, y) in pixel indices, [H, W, 2] float32; cached, since
    every frame of a render reuses it (callers must not modify it)."""
    return (pixel_centres(height, width, device)[:, :2] - 0.5).reshape(height, width, 2)


def sample_bilinear(
    images: torch.Tensor, positions: torch.Tensor, border: str = "reflect_101"
) -> torch.Tensor:
    """images [B, H, W, C] read at positions [H, W, 2] (x, y in pixel indices), bilinearly.

    The result has the positions' height and width and the images' dtype; sampling is done
    in float32 so half-precision frames do not lose sub-pixel positions.
    """
    batch, height, width, _ = images.shape
    scale = torch.tensor([2.0 / max(width - 1, 1), 2.0 / max(height - 1, 1)], device=images.device)
    grid = positions.to(images.device, torch.float32) * scale - 1.0
    grid = grid.unsqueeze(0).expand(batch, -1, -1, -1)
    sampled = F.grid_sample(
        images.permute(0, 3, 1, 2).float(), grid, mode="bilinear",
        padding_mode=BORDERS[border], align_corners=True,
    )  # fmt: skip
    return sampled.permute(0, 2, 3, 1).to(images.dtype)
