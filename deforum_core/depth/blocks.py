"""The DPT decoder shared by MiDaS v3 and Depth Anything V2: reassembled features are
projected to one width, fused coarse to fine with residual convolution units, and upsampled.

Attribute names (`scratch.layer1_rn`, `refinenet1.resConfUnit1.conv1`, `out_conv`, ...) are
the names in the published checkpoints, so their state dicts load without renaming.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class ResidualConvUnit(nn.Module):
    """relu -> 3x3 conv -> relu -> 3x3 conv, added to the input."""

    def __init__(self, features: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(features, features, 3, padding=1)
        self.conv2 = nn.Conv2d(features, features, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv2(F.relu(self.conv1(F.relu(x))))


class FusionBlock(nn.Module):
    """Adds the refined skip features to the coarser path, refines, upsamples, projects."""

    def __init__(self, features: int) -> None:
        super().__init__()
        self.resConfUnit1 = ResidualConvUnit(features)
        self.resConfUnit2 = ResidualConvUnit(features)
        self.out_conv = nn.Conv2d(features, features, 1)

    def forward(
        self,
        path: torch.Tensor,
        skip: torch.Tensor | None = None,
        size: tuple[int, int] | None = None,
    ) -> torch.Tensor:
        if skip is not None:
            path = path + self.resConfUnit1(skip)
        path = self.resConfUnit2(path)
        if size is None:
            size = (path.shape[-2] * 2, path.shape[-1] * 2)
        path = F.interpolate(path, size=size, mode="bilinear", align_corners=True)
        return self.out_conv(path)


class Upsample2x(nn.Module):
    """Bilinear x2 (align_corners=True) as a module, to sit inside an nn.Sequential."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        size = (x.shape[-2] * 2, x.shape[-1] * 2)
        return F.interpolate(x, size=size, mode="bilinear", align_corners=True)


def make_scratch(in_channels: list[int], features: int) -> nn.Module:
    """The decoder container: one 3x3 projection per level and four fusion blocks."""
    scratch = nn.Module()
    for level, channels in enumerate(in_channels, start=1):
        setattr(
            scratch, f"layer{level}_rn", nn.Conv2d(channels, features, 3, padding=1, bias=False)
        )
    for level in range(1, 5):
        setattr(scratch, f"refinenet{level}", FusionBlock(features))
    return scratch


def fuse(scratch: nn.Module, layers: list[torch.Tensor]) -> torch.Tensor:
    """Run the four levels (finest first) through the decoder; returns the finest path."""
    r1, r2, r3, r4 = (
        getattr(scratch, f"layer{level}_rn")(layer) for level, layer in enumerate(layers, start=1)
    )
    path = scratch.refinenet4(r4, size=tuple(r3.shape[-2:]))
    path = scratch.refinenet3(path, r3, size=tuple(r2.shape[-2:]))
    path = scratch.refinenet2(path, r2, size=tuple(r1.shape[-2:]))
    return scratch.refinenet1(path, r1)


def tokens_to_map(tokens: torch.Tensor, grid: tuple[int, int]) -> torch.Tensor:
    """[B, N, C] patch tokens to a [B, C, h, w] feature map."""
    batch, _, channels = tokens.shape
    return tokens.transpose(1, 2).reshape(batch, channels, grid[0], grid[1])
