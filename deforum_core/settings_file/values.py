"""Settings values as users wrote them, turned into the kinds the parameter table holds.

Real files hold numbers as strings ("diffusion_cadence": "3"), scalars where a schedule is
meant ("fov": 40), schedules with any spacing, and, in two files, a schedule with a doubled
key ("0: 0: (...)") that Deforum's own parser silently reads as the constant after the
second colon. Each conversion returns the value and, when it changed what was written, a
note for the import report.
"""

from __future__ import annotations

import math
import re
from typing import Any

from ..errors import DeforumError
from ..keyframes import parse_schedule
from ..params import BOOL, CHOICE, FLOAT, INT, SCHEDULE, TEXT, Param
from .reading import SettingsFileError

Converted = tuple[Any, str]  # the value, and a note when it is not what the file wrote
_NUMBER = re.compile(r"\s*[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?\s*")
_TRUE, _FALSE = ("true", "yes", "on", "1"), ("false", "no", "off", "0")


def convert(declared: Param, value: Any, key: str) -> Converted:
    """The file's value of key for a parameter, or a SettingsFileError naming the key."""
    if declared.kind == CHOICE:
        return _to_choice(value, key, declared.choices)
    return _CONVERTERS[declared.kind](value, key)


def _refuse(key: str, value: Any, expected: str) -> SettingsFileError:
    return SettingsFileError(
        f"{value!r} is not {expected}", parameter=key, hint=f"write {expected} for {key}"
    )


def _number_text(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def to_number(value: Any, key: str) -> Converted:
    if isinstance(value, bool):
        raise _refuse(key, value, "a number")
    if isinstance(value, int | float):
        if not math.isfinite(value):
            raise _refuse(key, value, "a finite number")
        return value, ""
    if isinstance(value, str) and _NUMBER.fullmatch(value):
        number = float(value)
        number = int(number) if number.is_integer() and "." not in value else number
        return number, f"the text {value!r} read as the number {number!r}"
    raise _refuse(key, value, "a number")


def to_int(value: Any, key: str) -> Converted:
    number, note = to_number(value, key)
    if isinstance(number, float):
        if not number.is_integer():
            raise _refuse(key, value, "a whole number")
        number, note = int(number), note or f"{value!r} read as {int(number)}"
    return number, note


def to_float(value: Any, key: str) -> Converted:
    number, note = to_number(value, key)
    return float(number), note


def to_bool(value: Any, key: str) -> Converted:
    if isinstance(value, bool):
        return value, ""
    if isinstance(value, int) and value in (0, 1):
        return bool(value), f"{value!r} read as {bool(value)}"
    if isinstance(value, str) and value.strip().lower() in (*_TRUE, *_FALSE):
        flag = value.strip().lower() in _TRUE
        return flag, f"the text {value!r} read as {flag}"
    raise _refuse(key, value, "true or false")


def to_text(value: Any, key: str) -> Converted:
    if value is None:
        return "", "null read as empty text"
    if not isinstance(value, str):
        raise _refuse(key, value, "a text")
    return value, ""


def _to_choice(value: Any, key: str, choices: tuple[str, ...]) -> Converted:
    if isinstance(value, str):
        if value in choices:
            return value, ""
        for known in choices:
            if known.lower() == value.strip().lower():
                return known, f"{value!r} read as {known!r}"
    raise SettingsFileError(
        f"{value!r} is not one the pack knows", parameter=key,
        hint=f"use one of {', '.join(choices)}",
    )  # fmt: skip


def to_schedule(value: Any, key: str) -> Converted:
    """Schedule text: a number becomes the constant 0:(n); line breaks become spaces."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        number, _ = to_number(value, key)
        text = f"0:({_number_text(number)})"
        return text, f"the number {value!r} as the schedule {text}"
    if not isinstance(value, str):
        raise _refuse(key, value, "a keyframe schedule such as 0:(1)")
    if _NUMBER.fullmatch(value):
        text = f"0:({value.strip()})"
        return text, f"the number {value!r} as the schedule {text}"
    text = " ".join(value.split())
    try:
        parse_schedule(text, name=key)
    except DeforumError as error:
        repaired = deforum_reading(text)
        if repaired is None:
            raise SettingsFileError(error.reason, parameter=key, text=error.text,
                                    position=error.position, hint=error.hint) from None  # fmt: skip
        return repaired, (
            f"{value!r} is malformed (a key followed by another key); Deforum's parser reads "
            f"it as {repaired}, and so does the import"
        )
    return text, ""


_DOUBLED_KEY = re.compile(r"^\s*(\d+)\s*:\s*([-+]?\d+(?:\.\d*)?)\s*:")


def deforum_reading(text: str) -> str | None:
    """What Deforum's parser (split on commas, then on colons, keeping the second piece)
    makes of a schedule whose first key holds another key, or None for other texts."""
    if not _DOUBLED_KEY.match(text):
        return None
    keys = []
    for piece in text.split(","):
        parts = piece.split(":")
        if len(parts) < 2 or not parts[0].strip().isdigit():
            return None
        keys.append(f"{parts[0].strip()}:({parts[1].strip() or '0'})")
    repaired = ", ".join(keys)
    try:
        parse_schedule(repaired, name="value")
    except DeforumError:
        return None
    return repaired


_CONVERTERS = {SCHEDULE: to_schedule, INT: to_int, FLOAT: to_float, BOOL: to_bool, TEXT: to_text}
