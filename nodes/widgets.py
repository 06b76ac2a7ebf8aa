"""Widget definitions and queue-time validation shared by the pack's nodes."""

from __future__ import annotations

from collections.abc import Callable

from ..deforum_core.errors import ScheduleError

MAX_FRAMES_LIMIT = 100_000
SEED_LIMIT = 2**32 - 1

MAX_FRAMES = (
    "INT",
    {
        "default": 120,
        "min": 1,
        "max": MAX_FRAMES_LIMIT,
        "tooltip": "Number of frames in the animation; max_f in expressions is max_frames - 1.",
    },
)
S_VALUE = (
    "INT",
    {
        "default": 0,
        "min": 0,
        "max": SEED_LIMIT,
        "tooltip": "The render seed that `s` stands for in expressions.",
    },
)
FPS = (
    "FLOAT",
    {
        "default": 15.0,
        "min": 0.01,
        "max": 1000.0,
        "step": 0.01,
        "tooltip": "Frames per second; `fps` in expressions.",
    },
)
FRAME = (
    "INT",
    {
        "default": 0,
        "min": 0,
        "max": MAX_FRAMES_LIMIT - 1,
        "tooltip": "The frame whose scheduled values are used.",
    },
)


def schedule_input(default: str, tooltip: str) -> tuple[str, dict]:
    """A one-line keyframe-schedule widget, e.g. `0:(0), 30:(10)`."""
    return ("STRING", {"default": default, "multiline": False, "tooltip": tooltip})


def validation_result(check: Callable[[], object]) -> bool | str:
    """VALIDATE_INPUTS body: True when the check passes, the error text when it raises.

    A node declares in VALIDATE_INPUTS only the text inputs it parses: ComfyUI skips its own
    range and choice checks for declared inputs and repeats an error once per declared input.
    Text is parsed, not evaluated, at queue time, since the frame count, seed and fps may
    still come from links; errors that only show on a given frame are raised at run time.
    """
    try:
        check()
    except ScheduleError as error:
        return str(error)
    return True
