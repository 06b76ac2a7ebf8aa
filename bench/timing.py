"""The timing rules of the benchmarks: wall times after a warm-up call, quoted as medians
with their spread."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable


def median_ms(step: Callable[[], object], repeats: int = 5) -> float:
    """Median wall time of one call of step in milliseconds, after one warm-up call."""
    step()
    samples = []
    for _ in range(repeats):
        started = time.perf_counter()
        step()
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples)


def spread(samples: list[float]) -> tuple[float, float, float]:
    """Median, smallest and largest of repeated measurements."""
    return statistics.median(samples), min(samples), max(samples)


def with_spread(samples: list[float], digits: int = 2) -> str:
    """'median (min-max)' of repeated measurements, for a table cell."""
    middle, low, high = spread(samples)
    return f"{middle:.{digits}f} ({low:.{digits}f}-{high:.{digits}f})"


def interleaved_ms(steps: dict[str, Callable[[], object]], repeats: int = 5) -> dict[str, list]:
    """Wall times in milliseconds of `repeats` calls of each step, taken in turns (one call of
    each per round, after one warm-up call of each), so that a machine whose speed drifts
    slows them alike."""
    for step in steps.values():
        step()
    samples: dict[str, list] = {name: [] for name in steps}
    for _ in range(repeats):
        for name, step in steps.items():
            started = time.perf_counter()
            step()
            samples[name].append((time.perf_counter() - started) * 1000)
    return samples
