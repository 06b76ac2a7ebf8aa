"""Deforum's strength→steps rule, shared by every diffusion backend.

Deforum's strength s is how much of the input frame survives: the sampler builds its full
schedule of `steps` noise levels and starts at step round(s·steps), so about (1-s)·steps
denoising steps run. s=1 keeps the input as it is; s=0 ignores it (a txt2img frame).
Halves round up, so the rule does not depend on Python's round-half-to-even.
"""

from __future__ import annotations

import math


def start_step(steps: int, strength: float, *, has_image: bool = True) -> int:
    """Index of the first step to run out of `steps`; `steps` means nothing runs."""
    if not has_image:
        return 0
    strength = min(max(float(strength), 0.0), 1.0)
    return min(steps, math.floor(strength * steps + 0.5))


def steps_to_run(steps: int, strength: float, *, has_image: bool = True) -> int:
    """How many denoising steps a frame of this strength runs."""
    return steps - start_step(steps, strength, has_image=has_image)
