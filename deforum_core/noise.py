"""Noise added to each frame before diffusion, reproducible from the frame's seed.

Deforum blends the frame towards a noise picture (cv2.addWeighted), which also pulls every
frame towards grey; here the noise is added instead. Amount a adds Gaussian noise with
standard deviation a/2 in 0..1 units, the random strength Deforum's blend has at the same
setting. Perlin noise is Deforum's kind: Gaussian noise shaped by a fractal Perlin envelope
(scale cells across the frame, doubling per octave, each octave weighted by persistence).
Noise is drawn on the CPU from the seed, so a seed gives the same noise on any device.

Frames are [B, H, W, C] floats in 0..1 (ComfyUI's IMAGE layout).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from .errors import DeforumError

NOISE_TYPES = ("gaussian", "perlin")


@dataclass(frozen=True)
class NoiseAmount:
    """One frame's noise amount."""

    noise: float = 0.0


def add_noise(
    frames: torch.Tensor,
    amount: float,
    seed: int,
    *,
    noise_type: str = "gaussian",
    perlin_scale: tuple[int, int] = (8, 8),
    octaves: int = 4,
    persistence: float = 0.5,
    mask: torch.Tensor | None = None,
) -> torch.Tensor:
    """Frames with seeded noise added and clamped to 0..1; amount 0 returns the input itself.

    mask ([H, W] or [B, H, W], 1 where noise applies) scales the noise per pixel.
    """
    if noise_type not in NOISE_TYPES:
        raise DeforumError(
            f"unknown noise type {noise_type!r}; use one of {', '.join(NOISE_TYPES)}"
        )
    if amount == 0:
        return frames
    batch, height, width, channels = frames.shape
    generator = torch.Generator(device="cpu").manual_seed(int(seed))
    noise = torch.randn((batch, height, width, channels), generator=generator)
    if noise_type == "perlin":
        envelope = (
            perlin_octaves(height, width, perlin_scale, octaves, persistence, generator) + 1
        ) / 2
        noise = noise * envelope[None, :, :, None]
    noise = noise.to(frames.device, frames.dtype)
    if mask is not None:
        if mask.shape[-2:] != (height, width):
            raise DeforumError(
                f"noise mask is {tuple(mask.shape[-2:])} but the frames are {(height, width)}; "
                "resize the mask to the frame size"
            )
        weight = mask.to(frames.device, frames.dtype)
        noise = noise * (
            weight.reshape(-1, height, width, 1) if weight.dim() == 3 else weight[..., None]
        )
    return torch.add(frames, noise.mul_(amount / 2)).clamp_(0.0, 1.0)


def perlin_octaves(
    height: int,
    width: int,
    scale: tuple[int, int],
    octaves: int,
    persistence: float,
    generator: torch.Generator,
) -> torch.Tensor:
    """Fractal Perlin noise [height, width]: octaves of gradient noise, each twice as fine."""
    if octaves < 1 or min(scale) < 1:
        raise DeforumError("perlin noise needs at least one octave and a scale of at least 1")
    total = torch.zeros(height, width)
    amplitude = 1.0
    cells_x, cells_y = scale
    for _ in range(int(octaves)):
        total += amplitude * perlin(height, width, cells_y, cells_x, generator)
        cells_x, cells_y = cells_x * 2, cells_y * 2
        amplitude *= persistence
    return total


def perlin(height: int, width: int, cells_y: int, cells_x: int, generator: torch.Generator):
    """Gradient noise [height, width] in about -1..1 over a lattice of cells_y x cells_x cells.

    Works for any frame size: pixel centres are placed on the lattice by their position, so
    sizes need not be multiples of the cell count.
    """
    angles = 2 * math.pi * torch.rand((cells_y + 1, cells_x + 1), generator=generator)
    gradients = torch.stack((torch.cos(angles), torch.sin(angles)), dim=-1)
    ys = (torch.arange(height) + 0.5) * (cells_y / height)
    xs = (torch.arange(width) + 0.5) * (cells_x / width)
    y0, x0 = ys.floor().long().clamp(max=cells_y - 1), xs.floor().long().clamp(max=cells_x - 1)
    fy, fx = (ys - y0)[:, None], (xs - x0)[None, :]
    y0, x0 = y0[:, None], x0[None, :]

    def corner(dy: int, dx: int) -> torch.Tensor:
        gradient = gradients[y0 + dy, x0 + dx]
        return gradient[..., 0] * (fx - dx) + gradient[..., 1] * (fy - dy)

    def fade(t: torch.Tensor) -> torch.Tensor:
        return t * t * t * (t * (t * 6 - 15) + 10)

    wx, wy = fade(fx), fade(fy)
    top = torch.lerp(corner(0, 0), corner(0, 1), wx)
    bottom = torch.lerp(corner(1, 0), corner(1, 1), wx)
    return math.sqrt(2) * torch.lerp(top, bottom, wy)
