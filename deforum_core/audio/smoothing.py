"""Attack and decay: how fast a feature's curve may rise and fall, in seconds.

Two one-pole stages per frame. The decay stage holds each peak and lets it fall
exponentially: `decay` seconds after a spike it is at 1/e of the spike (0: no hold). The
attack stage follows that curve upwards with a time constant of `attack` seconds (0: at
once), reaching 1 - 1/e of a step on the frame that ends `attack` seconds after the step
began (a frame's value stands for its whole span), and follows it down at once.
So a beat's spike becomes a pulse that rises over `attack` and dies away over `decay`.
"""

from __future__ import annotations

import math

import numpy as np


def _keep(seconds: float, fps: float) -> float:
    """The share a one-pole stage keeps per frame for a time constant (0 keeps nothing)."""
    return math.exp(-1.0 / (seconds * fps)) if seconds > 0 else 0.0


def follow(values: np.ndarray, fps: float, attack: float, decay: float) -> np.ndarray:
    """The values smoothed by the attack and decay stages (see the module docstring)."""
    hold, rise = _keep(decay, fps), _keep(attack, fps)
    smoothed = np.zeros(len(values))
    held = shown = 0.0
    for index, value in enumerate(values):
        held = max(float(value), held * hold)
        shown = shown + (1.0 - rise) * (held - shown) if held > shown else held
        smoothed[index] = shown
    return smoothed
