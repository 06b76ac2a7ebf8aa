"""Additive noise as a stage: an amount schedule, Gaussian or Perlin-shaped, from the seed."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from ..keyframes import Schedule
from ..noise import NOISE_TYPES, NoiseAmount, add_noise
from ..params import ParameterTable, choice, integer, number, schedule
from .protocol import FrameContext, RenderInfo, values_for


def _cells(default: int, tooltip: str, deforum_key: str) -> Any:
    return integer(default, tooltip, low=1, high=256, deforum_key=deforum_key)


@dataclass(frozen=True)
class NoiseStage(ParameterTable):
    """The Deforum Noise node's settings, in widget order."""

    noise: Schedule = schedule(
        "0:(0.065)",
        "Noise amount per frame: Gaussian noise with standard deviation amount/2.",
        deforum_key="noise_schedule",
    )
    noise_type: str = choice(
        "gaussian", NOISE_TYPES, "Plain Gaussian, or Perlin-shaped.", deforum_key="noise_type"
    )
    perlin_scale_x: int = _cells(8, "Perlin cells across the width (first octave).", "perlin_w")
    perlin_scale_y: int = _cells(8, "Perlin cells down the height (first octave).", "perlin_h")
    perlin_octaves: int = _cells(4, "Perlin octaves, each twice as fine.", "perlin_octaves")
    perlin_persistence: float = number(
        0.5,
        "Weight of each finer Perlin octave relative to the last.",
        low=0.0,
        high=1.0,
        step=0.01,
        deforum_key="perlin_persistence",
    )

    def bind(self, render: RenderInfo) -> BoundNoise:
        values = values_for(self, NoiseAmount, render)
        return BoundNoise(self, values)


class BoundNoise:
    def __init__(self, stage: NoiseStage, values: list[NoiseAmount]) -> None:
        self.stage = stage
        self.values = values

    def apply(self, frames: torch.Tensor, context: FrameContext) -> torch.Tensor:
        """Noise drawn from context.seed, where context.mask allows (everywhere without one)."""
        stage = self.stage
        return add_noise(
            frames, self.values[context.index].noise, context.seed, noise_type=stage.noise_type,
            perlin_scale=(stage.perlin_scale_x, stage.perlin_scale_y),
            octaves=stage.perlin_octaves, persistence=stage.perlin_persistence, mask=context.mask,
        )  # fmt: skip

    def preview(self, frames: torch.Tensor, context: FrameContext) -> torch.Tensor:
        """Nothing: the noise is what the diffuser turns into new detail."""
        return frames
