"""A value per frame written as an ordinary Deforum schedule, `0:(0.5), 1:(0.5123), ...`.

Values are rounded to a fixed step of at most 1/10,000 of the low..high range (more
decimals for a narrow range such as a zoom of 1..1.01, enough to write low and high
exactly), trailing zeros dropped. A key is left out only where the evaluator's linear
interpolation between its neighbours gives exactly its rounded value (runs of one value or
one slope, such as silence); every other frame keeps its key. The text is checked with the
pack's own schedule parser and its length limit, so any schedule input takes it.
"""

from __future__ import annotations

import math

import numpy as np

from ..expression import MAX_TEXT_LENGTH
from ..keyframes import Schedule, parse_schedule
from .sound import AudioError

MAX_DECIMALS = 10
STEPS_PER_RANGE = 10_000


def decimals_for(low: float, high: float) -> int:
    """Decimals for a step of at most 1/STEPS_PER_RANGE of the range that write low and
    high exactly (as far as MAX_DECIMALS allows)."""
    span = abs(high - low)
    needed = math.ceil(math.log10(STEPS_PER_RANGE / span) - 1e-9) if span > 0 else 4
    return min(MAX_DECIMALS, max(0, needed, _written(low), _written(high)))


def _written(value: float) -> int:
    """The decimals a number is written with (at most MAX_DECIMALS)."""
    return next((d for d in range(MAX_DECIMALS) if round(value, d) == value), MAX_DECIMALS)


def schedule_text(values: np.ndarray, decimals: int) -> str:
    """The keyframe text of the values rounded to `decimals`."""
    steps = np.rint(np.asarray(values, np.float64) * 10**decimals).astype(np.int64)
    slopes = np.diff(steps)
    kept = np.ones(len(steps), bool)
    kept[1:-1] = slopes[1:] != slopes[:-1]  # inside a run of one slope: interpolated exactly
    return ", ".join(f"{frame}:({_number(int(steps[frame]), decimals)})"
                     for frame in np.flatnonzero(kept))  # fmt: skip


def _number(step: int, decimals: int) -> str:
    sign = "-" if step < 0 else ""
    whole, fraction = divmod(abs(step), 10**decimals)
    digits = f"{fraction:0{decimals}d}".rstrip("0") if decimals else ""
    return f"{sign}{whole}.{digits}" if digits else f"{sign}{whole}"


def checked_schedule(text: str, frames: int, fps: float, *, name: str) -> Schedule:
    """The text parsed by the pack's parser, or an AudioError when it is too long to be a
    schedule (too many frames that differ)."""
    if len(text) > MAX_TEXT_LENGTH:
        keys = text.count(":(")
        raise AudioError(
            f"the schedule of {frames:,} frames needs {keys:,} keyframes, {len(text):,} "
            f"characters; a schedule may be at most {MAX_TEXT_LENGTH:,}",
            parameter="max_frames",
            hint=f"take a shorter part (max_frames and start_seconds, e.g. "
            f"{frames * MAX_TEXT_LENGTH // len(text):,} frames) or a lower fps than {fps:g}",
        )
    return parse_schedule(text, name=name)
