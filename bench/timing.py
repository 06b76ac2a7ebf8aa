"""The one timing rule of the benchmarks: median wall time after a warm-up call."""

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
