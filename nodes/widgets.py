"""Node widgets made from the engine's parameter table, and queue-time validation.

A stage's parameters (deforum_core/params.py) become ComfyUI widgets here, in the order the
stage declares them, with its defaults, bounds, choices and tooltips; `schedule_validator`
makes a VALIDATE_INPUTS that parses the stage's schedule texts when the prompt is queued.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from deforum_core.errors import DeforumError
from deforum_core.params import BOOL, CHOICE, FLOAT, INT, SCHEDULE, Param, param_of, params_of
from deforum_core.render import AnimationSettings
from deforum_core.render.budget import check_evaluation_cost

Widget = tuple[Any, dict[str, Any]]
# A schedule stays a one-line widget (its saved value is unchanged); the page's schedule
# editor (web/js/schedule_editor.js) finds it by the mark and shows its whole text and curve.
SCHEDULE_OPTIONS = {"multiline": False, "deforum_schedule": True}
_TYPES = {SCHEDULE: "STRING", INT: "INT", FLOAT: "FLOAT", BOOL: "BOOLEAN"}


def widget(declared: Param) -> Widget:
    """The ComfyUI input spec of one parameter."""
    options: dict[str, Any] = {"default": declared.default}
    if declared.kind in (INT, FLOAT):
        options.update(min=declared.low, max=declared.high)
        if declared.step is not None:
            options["step"] = declared.step
    if declared.kind == SCHEDULE:
        options.update(SCHEDULE_OPTIONS)
    elif declared.multiline:
        options.update(multiline=True, dynamicPrompts=False)  # keep Deforum's braces intact
    options["tooltip"] = declared.tooltip
    kind = list(declared.choices) if declared.kind == CHOICE else _TYPES.get(declared.kind)
    return (kind or "STRING", options)


def widgets(settings_type: type, *, appended: bool = False) -> dict[str, Widget]:
    """A stage's parameters as widgets, in the stage's (the saved workflows') order: those of
    the first release (`required`), or those appended since (`optional`, so that workflows
    saved before them still load)."""
    return {
        declared.name: widget(declared)
        for declared in params_of(settings_type)
        if declared.appended == appended
    }


FRAME_COUNT = param_of(AnimationSettings, "max_frames")
MAX_FRAMES = widget(FRAME_COUNT)
FPS = widget(param_of(AnimationSettings, "fps"))
MAX_FRAMES_LIMIT = MAX_FRAMES[1]["max"]
SEED_LIMIT = 2**32 - 1
S_VALUE = (
    "INT",
    {
        "default": 0,
        "min": 0,
        "max": SEED_LIMIT,
        "tooltip": "The render seed that `s` stands for in expressions.",
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


def validation_result(check: Callable[[], object]) -> bool | str:
    """VALIDATE_INPUTS body: True when the check passes, the error text when it raises.

    Text is parsed, not evaluated, at queue time, since the frame count, seed and fps may
    still come from links; errors that only show on a given frame are raised at run time.
    """
    try:
        check()
    except DeforumError as error:
        return str(error)
    return True


def queue_check(check: Callable[..., None]) -> classmethod:
    """A node's VALIDATE_INPUTS made from `check(cls, **inputs)`, which raises DeforumError.

    ComfyUI passes VALIDATE_INPUTS the inputs its signature names (so the signature is the
    check's), skips its own range and choice checks for them, and files a failure once under
    every one of them; the pack's prompt check (nodes/prompt_check.py) calls `deforum_check`
    itself before ComfyUI validates, so that a refusal names the input that is wrong.
    Inputs that come from links arrive as None.
    """

    def validate(cls, *args: Any, **inputs: Any) -> bool | str:
        return validation_result(lambda: check(cls, *args, **inputs))

    validate.__signature__ = inspect.signature(check)
    validate.deforum_check = check
    validate.__doc__ = check.__doc__
    return classmethod(validate)


def schedule_validator(settings_type: type, *, with_frame_count: bool = False) -> classmethod:
    """A VALIDATE_INPUTS for a stage node: parses the stage's schedule texts that arrive as
    constants (linked ones arrive at run time); with_frame_count also takes max_frames (then
    checked here, as ComfyUI leaves declared inputs to the node) and refuses schedules whose
    math over that many frames exceeds a render's budget (deforum_core/render/budget.py).

    The signature is made from the table: one keyword per schedule parameter.
    """
    schedules = {p.name: p for p in params_of(settings_type) if p.kind == SCHEDULE}
    names = [*schedules, *(["max_frames"] if with_frame_count else [])]

    def check(cls, max_frames: Any = None, **texts: Any) -> None:
        given = [(schedules[name], text) for name, text in texts.items() if isinstance(text, str)]
        parsed = {declared.name: declared.check(text) for declared, text in given}
        if with_frame_count and max_frames is not None:
            frames = FRAME_COUNT.check(max_frames)
            costs = {name: schedule.cost(frames) for name, schedule in parsed.items()}
            check_evaluation_cost(costs, frames)

    keyword = inspect.Parameter.POSITIONAL_OR_KEYWORD
    check.__signature__ = inspect.Signature(
        [inspect.Parameter("cls", keyword)]
        + [inspect.Parameter(name, keyword, default=None) for name in names]
    )
    return queue_check(check)
