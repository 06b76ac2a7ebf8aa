"""What the schedule nodes show: a schedule's values, and a prompt schedule's key frames.

The same summaries answer the nodes when they run and the page while a schedule is typed
(nodes/routes.py), so both always agree; each is kept within a render's budget.
"""

from __future__ import annotations

from typing import Any

from .keyframes import Schedule, parse_schedule
from .prompts import PromptSchedule
from .render.budget import check_evaluation_cost


def schedule_values(
    text: str,
    max_frames: int,
    *,
    name: str = "value",
    interpolation: str = "linear",
    seed: int = 0,
    fps: float = 15.0,
) -> tuple[Schedule, list[float]]:
    """The parsed schedule and its value on every frame."""
    parsed = parse_schedule(text, name=name, interpolation=interpolation)
    check_evaluation_cost({name: parsed.cost(max_frames)}, max_frames)
    return parsed, parsed.evaluate(max_frames, seed=seed, fps=fps)


def schedule_summary(text: str, max_frames: int, **options: Any) -> dict[str, Any]:
    """{"values": one per frame, "key_frames": the frames that carry a key}."""
    parsed, values = schedule_values(text, max_frames, **options)
    return {"values": values, "key_frames": parsed.key_frames(max_frames, options.get("fps", 15.0))}


def prompt_summary(
    prompts: PromptSchedule, max_frames: int, *, seed: int = 0, fps: float = 15.0
) -> dict[str, Any]:
    """{"prompts": the positive and negative text of each key frame (and of frame 0)}; only
    those frames are worked out."""
    frames = prompts.frames(max_frames, seed=seed, fps=fps)
    shown = (frames[index] for index in frames.key_frames())
    return {
        "prompts": [
            {"frame": f.frame, "positive": f.positive, "negative": f.negative} for f in shown
        ]
    }
