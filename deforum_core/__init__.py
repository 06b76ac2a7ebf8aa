"""Deforum's animation engine, independent of ComfyUI.

Public API (see README.md):

- ``evaluate_schedule(text, max_frames, ...)`` / ``parse_schedule(text, ...)``: keyframe strings.
- ``parse_prompt_schedule(text, positive=..., negative=...)``: prompts per frame.
- ``resolve_seed(seed)`` and ``seed_sequence(behavior, seed, count, ...)``: seeds per frame.
- ``DeforumError``: the base of every error raised for bad input; ``ScheduleError`` (bad
  schedule text) derives from it.
"""

from .curves import INTERPOLATIONS
from .errors import DeforumError, ScheduleError
from .keyframes import Schedule, evaluate_schedule, parse_schedule
from .prompts import FramePrompt, PromptSchedule, parse_prompt_schedule
from .seeds import SEED_BEHAVIORS, resolve_seed, seed_sequence

__all__ = [
    "INTERPOLATIONS",
    "SEED_BEHAVIORS",
    "DeforumError",
    "FramePrompt",
    "PromptSchedule",
    "Schedule",
    "ScheduleError",
    "evaluate_schedule",
    "parse_prompt_schedule",
    "parse_schedule",
    "resolve_seed",
    "seed_sequence",
]
