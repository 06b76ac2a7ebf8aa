"""A synthetic picture to preview camera motion on when no image is at hand."""

from __future__ import annotations

import math

import torch


def test_pattern(width: int = 512, height: int = 512) -> torch.Tensor:
    """A colourful [1, H, W, 3] picture with structure at several scales (rings, a grid,
    soft colour fields), so zoom, rotation and translation are easy to see."""
    ys = torch.linspace(-1.0, 1.0, height).view(-1, 1).expand(height, width)
    xs = torch.linspace(-1.0, 1.0, width).view(1, -1).expand(height, width) * (width / height)
    radius = torch.sqrt(xs * xs + ys * ys)
    angle = torch.atan2(ys, xs)
    rings = 0.5 + 0.5 * torch.cos(radius * 18 * math.pi)
    spokes = 0.5 + 0.5 * torch.cos(angle * 8)
    grid = ((torch.remainder(xs * 6, 1.0) < 0.06) | (torch.remainder(ys * 6, 1.0) < 0.06)).float()
    red = 0.55 + 0.35 * torch.sin(xs * 2.5 + 0.5) * rings
    green = 0.5 + 0.35 * torch.cos(ys * 3.0) * spokes
    blue = 0.5 + 0.4 * torch.sin((xs + ys) * 2.0 + 1.0) * (1 - rings)
    image = torch.stack([red, green, blue], dim=-1) * (1 - 0.6 * grid[..., None])
    return image.clamp(0.0, 1.0).unsqueeze(0)
