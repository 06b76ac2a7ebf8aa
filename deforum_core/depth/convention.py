"""Deforum's depth conventions: from a network's raw output to the depth the 3D warp uses.

MiDaS and Depth Anything both output *relative inverse depth* (disparity): larger is nearer,
in arbitrary units that change from frame to frame. Deforum (its current 3D warp,
`transform_image_3d_new`) turns any depth map into a camera depth z like this:

1. normalise the map to 0..1 by its own minimum and maximum;
2. equalise its histogram (1024 bins on 0..1; each value is mapped through the normalised
   cumulative histogram, interpolated linearly between left bin edges, as numpy.interp);
3. for inverse-depth models (MiDaS, and Depth Anything likewise) z = 2 - equalised, so the
   nearest pixels get z = 1 and the farthest z = 2; for metric-depth models (Deforum's Zoe,
   AdaBins, LeReS) z = 1 + equalised, again near = 1 and far = 2;
4. a map with NaN, infinities or no variation gives a flat z = 1 everywhere.

`deforum_depth` does exactly this, per frame, in torch on the map's device.

Deforum's older path (Disco Diffusion's, kept in Deforum as "Midas+AdaBins (old)") used
z = (50 - midas) / 19 and, when AdaBins ran, blended z = midas_weight * z_midas +
(1 - midas_weight) * z_adabins. `legacy_midas_depth` and `blend_depth` give that; without a
second depth model midas_weight has no effect, as in Deforum when AdaBins is off.
"""

from __future__ import annotations

import torch

from ..errors import DeforumError

EQUALIZATION_BINS = 1024
DEPTH_CONVENTIONS = ("deforum", "legacy")


def _frames(depth: torch.Tensor) -> tuple[torch.Tensor, torch.Size]:
    if depth.ndim < 2:
        raise DeforumError(f"a depth map needs at least 2 dimensions, got {tuple(depth.shape)}")
    return depth.reshape(-1, depth.shape[-2] * depth.shape[-1]).float(), depth.shape


def valid_frames(depth: torch.Tensor) -> torch.Tensor:
    """Per map (all leading dims): finite everywhere and not constant."""
    flat, shape = _frames(depth)
    finite = torch.isfinite(flat).all(dim=1)
    safe = torch.where(torch.isfinite(flat), flat, torch.zeros_like(flat))
    varied = safe.amax(dim=1) > safe.amin(dim=1)
    return (finite & varied).reshape(shape[:-2])


def normalize_depth(depth: torch.Tensor) -> torch.Tensor:
    """Each map scaled to 0..1 by its own min and max (invalid maps give zeros)."""
    flat, shape = _frames(depth)
    valid = valid_frames(depth).reshape(-1, 1)
    flat = torch.where(valid, flat, torch.zeros_like(flat))
    low = flat.amin(dim=1, keepdim=True)
    span = (flat.amax(dim=1, keepdim=True) - low).clamp_min(torch.finfo(torch.float32).tiny)
    return ((flat - low) / span).reshape(shape)


def equalize_depth(normalized: torch.Tensor, bins: int = EQUALIZATION_BINS) -> torch.Tensor:
    """Deforum's histogram equalisation of maps already in 0..1."""
    flat, shape = _frames(normalized)
    flat = flat.clamp(0.0, 1.0)
    position = flat * bins
    index = position.floor().clamp(max=bins - 1).long()
    counts = torch.zeros(flat.shape[0], bins, device=flat.device, dtype=torch.float32)
    counts.scatter_add_(1, index, torch.ones_like(flat))
    cdf = counts.cumsum(dim=1)
    cdf = cdf / cdf[:, -1:].clamp_min(1.0)
    low = cdf.gather(1, index)
    high = cdf.gather(1, (index + 1).clamp(max=bins - 1))
    equalized = low + (position - index) * (high - low)
    equalized = torch.where(index >= bins - 1, cdf[:, -1:].expand_as(equalized), equalized)
    return equalized.reshape(shape)


def deforum_depth(
    raw: torch.Tensor, *, inverse: bool = True, equalize: bool = True
) -> torch.Tensor:
    """Deforum's camera depth z in 1..2 (near 1, far 2) from raw network output.

    raw: [..., H, W]; `inverse` for disparity-like output (MiDaS, Depth Anything).
    """
    normalized = normalize_depth(raw)
    if equalize:
        normalized = equalize_depth(normalized)
    z = 2.0 - normalized if inverse else 1.0 + normalized
    valid = valid_frames(raw)[..., None, None]
    return torch.where(valid, z, torch.ones_like(z))


def legacy_midas_depth(raw: torch.Tensor) -> torch.Tensor:
    """Deforum's (and Disco Diffusion's) old MiDaS alignment: (50 - midas) / 19."""
    return (50.0 - raw.float()) / 19.0


def blend_depth(
    primary: torch.Tensor, secondary: torch.Tensor, midas_weight: float
) -> torch.Tensor:
    """Deforum's midas_weight blend: midas_weight * primary + (1 - midas_weight) * secondary."""
    return primary * midas_weight + secondary * (1.0 - midas_weight)


def depth_image(raw: torch.Tensor, *, inverse: bool = True, equalize: bool = False) -> torch.Tensor:
    """A viewable map in 0..1 with near = 1 (bright) from raw network output."""
    normalized = normalize_depth(raw)
    if not inverse:
        normalized = 1.0 - normalized
    if equalize:
        normalized = equalize_depth(normalized)
    return normalized
