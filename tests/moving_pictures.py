"""Pictures that move by known amounts, for the tests of motion estimation and hybrid video:
a smooth random texture, shifted copies of it, and a video panning over it."""

from __future__ import annotations

import torch

from deforum_core.video_source import ImageBatch

HEIGHT, WIDTH = 96, 128


def texture(seed: int = 0) -> torch.Tensor:
    """A smooth random texture [1, H, W, 3] (features DIS and SIFT can follow)."""
    generator = torch.Generator().manual_seed(seed)
    coarse = torch.rand(1, 3, HEIGHT // 6, WIDTH // 6, generator=generator)
    fine = torch.nn.functional.interpolate(coarse, (HEIGHT, WIDTH), mode="bicubic")
    return fine.clamp(0, 1).permute(0, 2, 3, 1).contiguous()


def shifted(frames: torch.Tensor, dx: int, dy: int) -> torch.Tensor:
    """Content moved dx right and dy down (edges wrapped; tests look at the interior)."""
    return torch.roll(frames, shifts=(dy, dx), dims=(1, 2))


def interior(frames: torch.Tensor, margin: int = 16) -> torch.Tensor:
    return frames[:, margin:-margin, margin:-margin]


def panning_video(step: tuple[int, int], count: int = 4) -> ImageBatch:
    """A video whose frame i is the texture moved by i·step."""
    base = texture(1)
    return ImageBatch(torch.cat([shifted(base, i * step[0], i * step[1]) for i in range(count)]))
