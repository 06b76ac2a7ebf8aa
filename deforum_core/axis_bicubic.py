"""Bicubic sampling of a grid that moves along each axis on its own, in two 1D passes.

A 2D camera that zooms and pans without turning (the commonest Deforum move) samples every
pixel of a column at the same x and every pixel of a row at the same y. grid_sample's
bicubic interpolation (A = -0.75, border padding, align_corners=False) first interpolates
four source rows along x with each output column's weights, then the four results along y.
Here the x interpolation is done once for every source row and the y interpolation once for
every output row, with the same float operations in the same order as grid_sample's CPU
kernel: the same values bit for bit with ATen's portable kernels (which the tests pin), and
within rounding elsewhere (vectorised builds fuse some of grid_sample's multiply-adds).
On the CPU it is 2.5 times quicker than grid_sample at 512x512 (test_warp2d holds the bits).
"""

from __future__ import annotations

from collections.abc import Callable

import torch

_SEPARABLE_DTYPES = (torch.float32, torch.float64)


def moves_along_axes(grid: torch.Tensor) -> bool:
    """Whether a grid [1, H, W, 2] has one x per column and one y per row."""
    x, y = grid[0, :, :, 0], grid[0, :, :, 1]
    return bool(torch.equal(x, x[:1].expand_as(x)) and torch.equal(y, y[:, :1].expand_as(y)))


def can_sample_along_axes(
    images: torch.Tensor, grid: torch.Tensor, mode: str, padding: str
) -> bool:
    """Whether sample_along_axes can stand in for grid_sample(images, grid) here: bicubic with
    border padding, a float32 or float64 batch (and grid) on the CPU, and a grid that moves
    along axes."""
    return (
        mode == "bicubic"
        and padding == "border"
        and images.device.type == "cpu"
        and images.dtype in _SEPARABLE_DTYPES
        and moves_along_axes(grid)
    )


def sample_along_axes(images: torch.Tensor, grid: torch.Tensor) -> torch.Tensor:
    """grid_sample(images [B, C, H', W'], grid [1, H, W, 2] moving along axes, bicubic, border
    padding, align_corners=False) for every image: [B, C, H, W], contiguous."""
    batch, channels, source_height, _ = images.shape
    columns, column_weights = _taps(grid[0, 0, :, 0], images.shape[3])
    rows, row_weights = _taps(grid[0, :, 0, 1], source_height)
    height, width = rows.shape[1], columns.shape[1]
    images = images.contiguous()
    # one buffer for each gathered tap, shaped for each pass in turn
    spare = images.new_empty(batch * channels * max(source_height, height) * width)

    def column_tap(k: int, out: torch.Tensor) -> torch.Tensor:
        index = columns[k].view(1, 1, 1, width).expand(batch, channels, source_height, width)
        return torch.gather(images, 3, index, out=out)

    along_x = _interpolate(images.new_empty((batch, channels, source_height, width)),
                           spare.view(batch, channels, source_height, width), column_tap,
                           [weight.view(1, 1, 1, width) for weight in column_weights])  # fmt: skip

    def row_tap(k: int, out: torch.Tensor) -> torch.Tensor:
        return torch.index_select(along_x, 2, rows[k], out=out)

    sampled_shape = (batch, channels, height, width)
    return _interpolate(images.new_empty(sampled_shape),
                        spare[: batch * channels * height * width].view(sampled_shape), row_tap,
                        [weight.view(1, 1, height, 1) for weight in row_weights])  # fmt: skip


def _interpolate(
    total: torch.Tensor,
    spare: torch.Tensor,
    tap: Callable[[int, torch.Tensor], torch.Tensor],
    weights: list[torch.Tensor],
) -> torch.Tensor:
    """((w0 t0 + w1 t1) + w2 t2) + w3 t3 into total, tap(k, out) gathering tap k into out:
    rounded after each product and each sum, as grid_sample adds its terms."""
    tap(0, total).mul_(weights[0])
    for k in (1, 2, 3):
        total.addcmul_(tap(k, spare), weights[k])
    return total


def _taps(coordinates: torch.Tensor, size: int) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """For normalised coordinates [N] along an axis of `size` pixels: the four source indices
    of each [4, N] (clamped to the image, as border padding reads) and their four weights."""
    position = coordinates.add(1.0).mul_(size / 2).sub_(0.5)
    floor = position.floor()
    indices = torch.stack([(floor + offset).clamp_(0, size - 1) for offset in (-1, 0, 1, 2)])
    return indices.long(), _cubic_weights(position - floor)


def _cubic_weights(fraction: torch.Tensor) -> list[torch.Tensor]:
    """The cubic convolution weights (A = -0.75) of the taps at -1, 0, 1 and 2 from a
    position's floor, for its fraction t past the floor, each as grid_sample evaluates it:
    ((A x - 5 A) x + 8 A) x - 4 A for the outer taps (x = t + 1, 2 - t) and
    ((A + 2) x - (A + 3)) x x + 1 for the inner ones (x = t, 1 - t)."""

    def outer(x: torch.Tensor) -> torch.Tensor:
        return x.mul(-0.75).sub_(-3.75).mul_(x).add_(-6.0).mul_(x).sub_(-3.0)

    def inner(x: torch.Tensor) -> torch.Tensor:
        return x.mul(1.25).sub_(2.25).mul_(x).mul_(x).add_(1.0)

    return [outer(fraction + 1.0), inner(fraction), inner(1.0 - fraction), outer(2.0 - fraction)]
