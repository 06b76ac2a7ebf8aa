"""From a feature's curve to the values a schedule takes: 0..1 by the track's loudest
moment, shaped by an exponent, then laid onto low..high."""

from __future__ import annotations

import numpy as np


def to_range(values: np.ndarray, low: float, high: float, curve: float = 1.0) -> np.ndarray:
    """low where the feature is 0, high at its maximum, (v / max) ** curve between (a curve
    above 1 keeps only the strongest moments, below 1 lifts the quiet ones). A silent track
    stays at low. low may exceed high: the mapping then runs downwards."""
    strongest = float(np.max(values, initial=0.0))
    unit = values / strongest if strongest > 0 else np.zeros(len(values))
    return low + (high - low) * np.clip(unit, 0.0, 1.0) ** curve
