"""How a numeric keyframe is joined to the next key (its curve): linear, step or smooth cubic.

The cubic is monotone (Fritsch-Carlson, as in PCHIP): it passes through every key and never
overshoots between two keys, so a zoom that eases from 1.0 to 1.02 never dips below 1.0.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

INTERPOLATIONS = ("linear", "step", "cubic")


def segment_slopes(
    frames: Sequence[int], values: Sequence[float], method: str
) -> list[float] | None:
    """Tangents at each knot for the cubic method; None for the others."""
    if method != "cubic" or len(frames) < 2:
        return None
    widths = [frames[k + 1] - frames[k] for k in range(len(frames) - 1)]
    secants = [(values[k + 1] - values[k]) / widths[k] for k in range(len(widths))]
    if len(secants) == 1:
        return [secants[0], secants[0]]
    slopes = [_end_slope(widths[0], widths[1], secants[0], secants[1])]
    for k in range(1, len(frames) - 1):
        left, right = secants[k - 1], secants[k]
        if left == 0 or right == 0 or (left > 0) != (right > 0):
            slopes.append(0.0)
            continue
        weight_left = 2 * widths[k] + widths[k - 1]
        weight_right = widths[k] + 2 * widths[k - 1]
        slopes.append((weight_left + weight_right) / (weight_left / left + weight_right / right))
    slopes.append(_end_slope(widths[-1], widths[-2], secants[-1], secants[-2]))
    return slopes


def _end_slope(width: float, next_width: float, secant: float, next_secant: float) -> float:
    """Three-point end tangent, limited so the end segment stays monotone."""
    slope = ((2 * width + next_width) * secant - width * next_secant) / (width + next_width)
    if math.copysign(1, slope) != math.copysign(1, secant) or secant == 0:
        return 0.0
    if (secant > 0) != (next_secant > 0) and abs(slope) > 3 * abs(secant):
        return 3 * secant
    return slope


def interpolate_segment(
    frame: int,
    frames: Sequence[int],
    values: Sequence[float],
    slopes: Sequence[float] | None,
    segment: int,
    method: str,
) -> float:
    """The value at a frame strictly between knot `segment` and the next knot."""
    start, end = frames[segment], frames[segment + 1]
    low, high = values[segment], values[segment + 1]
    if method == "step":
        return low
    position = (frame - start) / (end - start)
    if method == "linear" or slopes is None:
        return low + (high - low) * position
    width = end - start
    p2, p3 = position * position, position * position * position
    return (
        (2 * p3 - 3 * p2 + 1) * low
        + (p3 - 2 * p2 + position) * width * slopes[segment]
        + (-2 * p3 + 3 * p2) * high
        + (p3 - p2) * width * slopes[segment + 1]
    )
