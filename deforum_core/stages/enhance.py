"""Contrast and anti-blur (unsharp mask) as a stage, with a schedule for each setting."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from ..enhance import Enhancement, adjust_contrast, unsharp_mask
from ..keyframes import Schedule
from ..params import ParameterTable, schedule
from .protocol import FrameContext, RenderInfo, values_for


@dataclass(frozen=True)
class EnhanceStage(ParameterTable):
    """The Deforum Contrast & Anti-Blur node's schedules, in widget order."""

    contrast: Schedule = schedule(
        "0:(1.0)",
        "Multiplies pixel values each frame (1 = unchanged); results saturate at white.",
        deforum_key="contrast_schedule",
    )
    amount: Schedule = schedule(
        "0:(0.1)", "Anti-blur (unsharp mask) strength; 0 turns it off.",
        deforum_key="amount_schedule",
    )  # fmt: skip
    kernel: Schedule = schedule(
        "0:(5)", "Anti-blur kernel size in pixels; even sizes round up to the next odd one.",
        deforum_key="kernel_schedule",
    )  # fmt: skip
    sigma: Schedule = schedule(
        "0:(1.0)", "Anti-blur Gaussian sigma; 0 derives it from the kernel size.",
        deforum_key="sigma_schedule",
    )  # fmt: skip
    threshold: Schedule = schedule(
        "0:(0)", "Pixels whose detail is below this (0-255 scale) are not sharpened.",
        deforum_key="threshold_schedule",
    )  # fmt: skip

    def bind(self, render: RenderInfo) -> BoundEnhance:
        values = values_for(self, Enhancement, render)
        return BoundEnhance(values)


class BoundEnhance:
    def __init__(self, values: list[Enhancement]) -> None:
        self.values = values

    def apply(self, frames: torch.Tensor, context: FrameContext) -> torch.Tensor:
        """Contrast, then anti-blur where context.mask allows (everywhere without one)."""
        values = self.values[context.index]
        frames = adjust_contrast(frames, values.contrast)
        return unsharp_mask(frames, values.amount, values.kernel, values.sigma, values.threshold,
                            context.mask)  # fmt: skip

    def preview(self, frames: torch.Tensor, context: FrameContext) -> torch.Tensor:
        """The contrast only: anti-blur sharpens what the diffuser redraws."""
        return adjust_contrast(frames, self.values[context.index].contrast)
