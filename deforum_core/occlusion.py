"""What a moved 3D camera sees where surfaces at different depths cross.

Resampling backwards from a displacement field cannot tell which of two surfaces landing on
the same pixel is in front, and has nothing to show where the camera uncovers something that
was hidden: Deforum's warp eats into the leading edge of a near object and stretches its
trailing edge over the uncovered background. Here every source pixel is also splatted
forward with its new depth into a depth buffer, so that:

- where the backward sample is farther than the nearest surface landing on that pixel, the
  nearest surface's colour is shown instead (near things cover far things);
- where nothing lands (beyond one-pixel gaps from magnification) although the source lies in
  the frame, the area is grown from its farthest neighbours (the uncovered background).

Frames are [B, H, W, C]; source and landing are (u, v) fields [B, H, W, 2] in -1..1.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from .geometry import pixel_grid

_DEPTH_TOLERANCE = 0.02  # relative depth difference that counts as a different surface
_FILL_STEPS = 64


def _pixel_index(positions: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """Flat index of the pixel each (u, v) position falls in, -1 outside the frame."""
    cols = ((positions[..., 0] + 1) * (width / 2)).floor().long()
    rows = ((positions[..., 1] + 1) * (height / 2)).floor().long()
    inside = (cols >= 0) & (cols < width) & (rows >= 0) & (rows < height)
    return torch.where(inside, rows * width + cols, -1)


def _splat(
    target: torch.Tensor, moved_depth: torch.Tensor, pixels: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """For each destination pixel of one image: the nearest landing depth (inf where nothing
    lands) and the flat index of a source pixel with that depth (-1 where nothing lands)."""
    valid = target >= 0
    nearest = torch.full((pixels,), torch.inf, device=target.device)
    nearest.scatter_reduce_(0, target[valid], moved_depth[valid], reduce="amin")
    sources = torch.arange(target.numel(), device=target.device)
    front = valid & (moved_depth <= nearest[target.clamp(min=0)])
    winner = torch.full((pixels,), -1, dtype=torch.long, device=target.device)
    winner[target[front]] = sources[front]
    return nearest, winner


def resolve_occlusions(
    frames: torch.Tensor,
    warped: torch.Tensor,
    source: torch.Tensor,
    landing: torch.Tensor,
    moved_depth: torch.Tensor,
) -> torch.Tensor:
    """The backward-warped frames corrected by depth (see the module docstring)."""
    batch, height, width, channels = frames.shape
    pixels = height * width
    landed = pixel_grid(height, width, frames.device) + landing  # where each source lands
    result = []
    for index in range(batch):
        target = _pixel_index(landed[index], height, width).reshape(-1)
        depth = moved_depth[index].reshape(-1)
        nearest, winner = _splat(target, depth, pixels)
        # depth of what the backward warp shows at each destination pixel
        shown_depth = F.grid_sample(
            moved_depth[index][None, None], source[index][None], mode="nearest",
            padding_mode="border", align_corners=False,
        ).reshape(-1)  # fmt: skip
        image = warped[index].reshape(pixels, channels).clone()
        colors = frames[index].reshape(pixels, channels)
        covered = (winner >= 0) & (shown_depth > nearest * (1 + _DEPTH_TOLERANCE))
        image[covered] = colors[winner[covered]]
        hit = (winner >= 0).float().view(1, 1, height, width)
        near_hit = F.max_pool2d(hit, 3, stride=1, padding=1).view(-1) > 0
        source_inside = (source[index].abs() <= 1).all(dim=-1).reshape(-1)
        holes = ~near_hit & source_inside
        known = torch.where(covered, nearest, shown_depth)
        result.append(_grow_background(image, holes, known, height, width))
    return torch.stack(result).view(batch, height, width, channels)


def _grow_background(
    image: torch.Tensor, holes: torch.Tensor, depth: torch.Tensor, height: int, width: int
) -> torch.Tensor:
    """Fill holes a pixel per step from the farthest known neighbour, [H*W, C]."""
    channels = image.shape[1]
    filled = image.t().reshape(1, channels, height, width)
    known = torch.where(holes, -torch.inf, depth).view(1, 1, height, width)
    remaining = holes.view(1, 1, height, width)
    for _ in range(_FILL_STEPS):
        if not remaining.any():
            break
        far, index = F.max_pool2d(known, 3, stride=1, padding=1, return_indices=True)
        reachable = remaining & torch.isfinite(far)
        colors = filled.flatten(2).gather(2, index.flatten(2).expand(-1, channels, -1))
        filled = torch.where(reachable, colors.view_as(filled), filled)
        known = torch.where(reachable, far, known)
        remaining = remaining & ~reachable
    return filled.reshape(channels, -1).t()
