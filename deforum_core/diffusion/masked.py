"""Diffusing only part of a frame with diffusers: the kept area follows the input frame.

At every step the kept area of the latents is replaced by the encoded input frame noised to
the level of the next step (the frame itself after the last), the blend the classic latent
inpainting samplers use; ComfyUI does the same for a latent noise mask. The mask is 1 where
the frame is kept, at image size; it is resized to the latents.
"""

from __future__ import annotations

import functools
from typing import Any

import torch
import torch.nn.functional as F


def keeping_masked(
    scheduler: Any, keep: torch.Tensor | None, encoded: torch.Tensor, noise: torch.Tensor,
    timesteps: torch.Tensor,
) -> Any:  # fmt: skip
    """The scheduler, with its step() keeping the masked area (itself without a mask)."""
    if keep is None:
        return scheduler
    weight = F.interpolate(keep[None, None].float(), size=encoded.shape[-2:], mode="bilinear")
    weight = weight.to(encoded.device, encoded.dtype)
    return _KeepingScheduler(scheduler, weight, encoded, noise, list(timesteps))


class _KeepingScheduler:
    """A scheduler whose steps end with the kept area reset (everything else delegated)."""

    def __init__(self, scheduler: Any, weight, encoded, noise, timesteps: list) -> None:
        self._scheduler = scheduler
        self._weight, self._encoded, self._noise = weight, encoded, noise
        self._timesteps = timesteps
        self._done = 0

        @functools.wraps(scheduler.step)  # keeps its signature (does it take a generator?)
        def step(model_output, timestep, sample, *args, **kwargs):
            output = scheduler.step(model_output, timestep, sample, *args, **kwargs)
            self._done += 1
            if self._done < len(self._timesteps):
                following = self._timesteps[self._done].reshape(1)
                target = scheduler.add_noise(self._encoded, self._noise, following)
            else:
                target = self._encoded
            output.prev_sample = self._weight * target + (1 - self._weight) * output.prev_sample
            return output

        self.step = step

    def __getattr__(self, name: str) -> Any:
        return getattr(self._scheduler, name)
