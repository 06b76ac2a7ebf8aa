"""What a render may cost before it starts: schedule math, and memory for its frames.

A shared workflow is untrusted input: legal text can still ask for hours of schedule math
(a thousand operations on each of 100,000 frames) or a frame size whose working memory does
not fit. Both are refused up front, with the estimate in the message, instead of holding the
queue or the machine.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from ..errors import DeforumError, ScheduleError
from ..params import schedules_of

MAX_EVALUATION_COST = 25_000_000  # operations: about five seconds of schedule math on one core
BYTES_PER_PIXEL = 300  # peak working memory of a render per frame pixel, measured on the CPU
MEMINFO = Path("/proc/meminfo")


def schedule_costs(settings: object, max_frames: int) -> dict[str, int]:
    """Each schedule's cost over max_frames frames, by parameter name."""
    return {name: schedule.cost(max_frames) for name, schedule in schedules_of(settings).items()}


def check_evaluation_cost(costs: Mapping[str, int], max_frames: int) -> None:
    """Refuse schedules whose math together exceeds MAX_EVALUATION_COST, naming the costliest."""
    total = sum(costs.values())
    if total <= MAX_EVALUATION_COST:
        return
    heaviest = max(costs, key=costs.__getitem__)
    raise ScheduleError(
        f"working out the schedules for {max_frames} frames would take about "
        f"{total / 1e6:,.0f} million operations, more than the "
        f"{MAX_EVALUATION_COST / 1e6:,.0f} million a render may spend",
        parameter=heaviest,
        hint=f"{heaviest} alone costs {costs[heaviest] / 1e6:,.1f} million: use fewer frames or "
        "simpler expressions (plain numbers between keys are interpolated almost for free)",
    )


def render_costs(settings: object, stages: object, diffused: int) -> dict[str, int]:
    """The costs of every schedule of a render, its stages' and its prompts' (worked out
    for the diffused frames only)."""
    max_frames = settings.max_frames
    costs = schedule_costs(settings, max_frames)
    for name in ("motion", "color_coherence", "enhance", "noise"):
        stage = getattr(stages, name)
        if stage is not None:
            costs.update(schedule_costs(stage, max_frames))
    costs["prompts"] = stages.prompts.cost(diffused)
    return costs


def available_memory() -> int | None:
    """Bytes of memory free for new work, or None where the system does not say."""
    try:
        for line in MEMINFO.read_text(encoding="ascii").splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError):
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, OSError, ValueError):
        return None


def check_frame_memory(width: int, height: int) -> None:
    """Refuse a frame size whose working memory would not fit in what is free."""
    needed = BYTES_PER_PIXEL * width * height
    free = available_memory()
    if free is None or needed <= free:
        return
    raise DeforumError(
        f"a {width}x{height} render needs about {needed / 2**30:.1f} GiB of memory for its "
        f"frames, and {free / 2**30:.1f} GiB is free",
        parameter="width",
        hint="render smaller (and upscale afterwards), or free memory",
    )
