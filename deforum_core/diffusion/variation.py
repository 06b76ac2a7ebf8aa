"""A1111 variation seeds: a frame's initial noise slerped towards the noise of a second seed.

What A1111 does (modules/rng.py `ImageRNG.first` and `slerp`; before its rng.py refactor the
same code sat in modules/processing.py `create_random_tensors` and `slerp`):

- each image's noise is drawn from its seed and, only when subseed_strength is not 0, a
  second noise of the same shape from the subseed; the image's noise is then
  `slerp(subseed_strength, noise, subnoise)`.
- its slerp normalises along dim 1 of the per-image [C, H, W] noise, so the "vectors" are the
  H-long columns, one per (channel, x); every column gets its own angle
  omega = acos(<a, b> / (|a| |b|)) and the result is
  sin((1 - t)·omega)/sin(omega) · a + sin(t·omega)/sin(omega) · b, with the original (not the
  normalised) a and b, so the result keeps the noise's scale.
- when the mean of those cosines exceeds 0.9995 (near-parallel noises: in practice subseed ==
  seed), it interpolates linearly instead. A1111 writes that fallback as
  `low * t + high * (1 - t)`, the weights swapped; here it is the lerp a·(1 - t) + b·t. The two
  agree for equal noises, the only near-parallel case seeded Gaussian noise produces.

With its "CPU" RNG source, A1111's noise for one image is torch.randn of the image's shape
from a CPU generator seeded with the seed (the subseed's likewise), which is what both
backends draw for a single-image frame, so such a frame's variation noise is A1111's.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

PARALLEL_COSINE = 0.9995  # A1111's threshold on the mean cosine for the linear fallback


def slerp(weight: float, start: torch.Tensor, end: torch.Tensor) -> torch.Tensor:
    """A1111's spherical interpolation start→end by `weight`, on noise batches [B, C, H, W].

    Each image is interpolated separately (A1111 slerps one image's [C, H, W] noise at a
    time), along the height axis as A1111 does. Weight 0 gives start, 1 gives end.
    """
    if start.shape != end.shape or start.ndim != 4:
        raise ValueError(
            f"slerp needs two noise batches [B, C, H, W] of one shape, got "
            f"{tuple(start.shape)} and {tuple(end.shape)}"
        )
    return torch.cat([_slerp_image(weight, a, b) for a, b in zip(start, end, strict=True)])


def _slerp_image(weight: float, start: torch.Tensor, end: torch.Tensor) -> torch.Tensor:
    """One image's [C, H, W] noise; the columns along H are the interpolated vectors."""
    cosine = (
        (start / start.norm(dim=1, keepdim=True)) * (end / end.norm(dim=1, keepdim=True))
    ).sum(dim=1)
    cosine = cosine.clamp(-1.0, 1.0)  # rounding can step past 1, where acos has no value
    if cosine.mean() > PARALLEL_COSINE:
        result = start * (1.0 - weight) + end * weight
    else:
        omega = torch.acos(cosine)
        sine = torch.sin(omega)
        result = (torch.sin((1.0 - weight) * omega) / sine).unsqueeze(1) * start + (
            torch.sin(weight * omega) / sine
        ).unsqueeze(1) * end
    return result.unsqueeze(0)


def variation_noise(
    seed_noise: Callable[[], torch.Tensor],
    subseed_noise: Callable[[], torch.Tensor],
    strength: float,
) -> torch.Tensor:
    """The initial noise of a frame: the seed's noise slerped towards the subseed's.

    Strength 0 draws the seed's noise only, so frames without variation are exactly what they
    were before variation seeds existed. Otherwise the subseed's noise is drawn first: a
    backend whose sampler keeps drawing from a generator that the seed's draw left behind
    (ComfyUI's prepare_noise seeds torch's global generator, which 2024 ComfyUI's ancestral
    samplers then use) sees the same state as without a subseed, as in A1111, where the
    sampler's later noise also continues the seed's generator.
    """
    if strength == 0.0:
        return seed_noise()
    varied = subseed_noise()
    noise = seed_noise()
    return slerp(strength, noise, varied.to(noise))
