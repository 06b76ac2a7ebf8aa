"""Deforum keyframe schedules: `frame:(value)` pairs evaluated for every frame.

Semantics follow Deforum on valid input: a numeric key is interpolated to the next key,
an expression key is re-evaluated on every frame until the next key, the first value holds
before the first key and the last after the last. Unlike Deforum, commas may appear inside
parentheses, a frame-0 key is optional, and keys past the last frame still shape the ramp.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from .curves import INTERPOLATIONS, interpolate_segment, segment_slopes
from .errors import ScheduleError
from .expression import MAX_NESTING, Expression, check_length, compile_expression

VALUE_NAMES = frozenset({"t", "max_f", "s", "fps"})
KEY_NAMES = frozenset({"max_f", "fps"})
MAX_FRAME_KEY = 10**7
CANCEL_CHECK_FRAMES = 2048

__all__ = [
    "INTERPOLATIONS",
    "KEY_NAMES",
    "VALUE_NAMES",
    "FrameKey",
    "Keyframe",
    "Schedule",
    "evaluate_schedule",
    "parse_frame_key",
    "parse_schedule",
    "split_top_level",
]


@dataclass(frozen=True)
class FrameKey:
    """A frame number as written: an integer, or an expression of max_f (and fps)."""

    expression: Expression
    parameter: str

    def resolve(self, max_frames: int, fps: float) -> int:
        """The frame index this key stands for in an animation of max_frames frames."""
        value = self.expression.evaluate(
            {"max_f": float(max_frames - 1), "fps": fps}, parameter=self.parameter
        )
        if abs(value) > MAX_FRAME_KEY:
            raise ScheduleError(
                f"frame key {value:g} is out of range",
                parameter=self.parameter,
                text=self.expression.source,
                position=self.expression.start,
                hint=f"frame keys must lie within ±{MAX_FRAME_KEY:,}",
            )
        return int(value)


@dataclass(frozen=True)
class Keyframe:
    """One `key:(value)` entry of a schedule."""

    key: FrameKey
    value: Expression

    @property
    def is_numeric(self) -> bool:
        """A plain number is interpolated; anything else is re-evaluated every frame."""
        return self.value.literal is not None


@dataclass(frozen=True)
class Schedule:
    """A parsed keyframe schedule; evaluate() gives one float per frame."""

    name: str
    text: str
    keyframes: tuple[Keyframe, ...]
    interpolation: str = "linear"

    def resolved_keys(self, max_frames: int, fps: float = 15.0) -> list[tuple[int, Keyframe]]:
        """Keyframes by frame index, sorted; a repeated frame keeps its last entry."""
        by_frame = {entry.key.resolve(max_frames, fps): entry for entry in self.keyframes}
        return sorted(by_frame.items(), key=lambda item: item[0])

    def key_frames(self, max_frames: int, fps: float = 15.0) -> list[int]:
        """The frame indices that carry a key."""
        return [frame for frame, _ in self.resolved_keys(max_frames, fps)]

    def cost(self, max_frames: int) -> int:
        """An upper bound of the operations evaluate(max_frames) takes: every key once, and
        the costliest expression key on every frame."""
        keys = sum(entry.key.expression.operations + entry.value.operations for entry in self)
        per_frame = max((e.value.operations for e in self if not e.is_numeric), default=0)
        return keys + max_frames * (per_frame + 1)

    def __iter__(self):
        return iter(self.keyframes)

    def evaluate(
        self,
        max_frames: int,
        *,
        seed: int = 0,
        fps: float = 15.0,
        check_cancel: Callable[[], None] | None = None,
    ) -> list[float]:
        """The value on each of frames 0..max_frames-1; check_cancel is called every
        CANCEL_CHECK_FRAMES frames, so a long evaluation can be stopped."""
        _check_frame_count(max_frames, self.name)
        keys = self.resolved_keys(max_frames, fps)
        base = {"max_f": float(max_frames - 1), "s": float(seed), "fps": float(fps)}

        def value_at(entry: Keyframe, frame: int) -> float:
            variables = {**base, "t": float(frame)}
            return entry.value.evaluate(variables, parameter=self.name, frame=frame)

        knot_frames = [frame for frame, _ in keys]
        knot_values = [value_at(entry, frame) for frame, entry in keys]
        slopes = segment_slopes(knot_frames, knot_values, self.interpolation)

        values: list[float] = []
        segment = -1  # index of the last key at or before the current frame
        for frame in range(max_frames):
            if check_cancel is not None and frame % CANCEL_CHECK_FRAMES == 0:
                check_cancel()
            while segment + 1 < len(keys) and keys[segment + 1][0] <= frame:
                segment += 1
            if segment < 0:
                values.append(knot_values[0])
                continue
            key_frame, entry = keys[segment]
            if frame == key_frame:
                values.append(knot_values[segment])
            elif not entry.is_numeric:
                values.append(value_at(entry, frame))
            elif segment + 1 == len(keys):
                values.append(knot_values[segment])
            else:
                values.append(
                    interpolate_segment(
                        frame, knot_frames, knot_values, slopes, segment, self.interpolation
                    )
                )
        return values


def _check_frame_count(max_frames: int, name: str) -> None:
    if not isinstance(max_frames, int) or max_frames < 1:
        raise ScheduleError(
            f"max_frames must be a whole number of at least 1, got {max_frames!r}",
            parameter=name,
        )


def split_top_level(
    text: str, separator: str, start: int, end: int, *, parameter: str
) -> list[tuple[int, int]]:
    """Spans of text[start:end] between separators that sit outside parentheses and quotes.

    Raises ScheduleError for unbalanced parentheses or an unclosed quote.
    """
    spans: list[tuple[int, int]] = []
    depth = 0
    opened: list[int] = []
    quote: tuple[str, int] | None = None
    piece_start = start
    for position in range(start, end):
        character = text[position]
        if quote is not None:
            if character == quote[0]:
                quote = None
            continue
        if character in "\"'":
            quote = (character, position)
        elif character == "(":
            depth += 1
            opened.append(position)
            if depth > MAX_NESTING:
                raise ScheduleError(
                    f"parentheses nested deeper than {MAX_NESTING} levels",
                    parameter=parameter,
                    text=text,
                    position=position,
                    hint="remove redundant parentheses",
                )
        elif character == ")":
            if depth == 0:
                raise ScheduleError(
                    "unbalanced ')'",
                    parameter=parameter,
                    text=text,
                    position=position,
                    hint="remove it or add a '('",
                )
            depth -= 1
            opened.pop()
        elif character == separator and depth == 0:
            spans.append((piece_start, position))
            piece_start = position + 1
    if quote is not None:
        raise ScheduleError(
            f"unclosed quote {quote[0]}",
            parameter=parameter,
            text=text,
            position=quote[1],
            hint="close the quote",
        )
    if opened:
        raise ScheduleError(
            "unclosed '('",
            parameter=parameter,
            text=text,
            position=opened[-1],
            hint="add the missing ')'",
        )
    spans.append((piece_start, end))
    return spans


def _strip_span(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def parse_frame_key(text: str, start: int, end: int, *, parameter: str) -> FrameKey:
    """A frame key: an integer or an expression of max_f, optionally in quotes."""
    start, end = _strip_span(text, start, end)
    if end - start >= 2 and text[start] in "\"'" and text[end - 1] == text[start]:
        start, end = _strip_span(text, start + 1, end - 1)
    if start == end:
        raise ScheduleError(
            "missing frame number before ':'",
            parameter=parameter,
            text=text,
            position=start,
            hint="write keys as frame:(value), for example 0:(1.0)",
        )
    try:
        expression = compile_expression(
            text, start, end, parameter=parameter, allowed_names=KEY_NAMES
        )
    except ScheduleError as error:
        if "unknown name 't'" in error.reason:
            raise ScheduleError(
                "a frame key cannot use t",
                parameter=parameter,
                text=text,
                position=error.position,
                hint='frame keys are numbers or expressions of max_f, such as "max_f-1"',
            ) from None
        raise
    return FrameKey(expression, parameter)


def parse_schedule(text: str, *, name: str = "value", interpolation: str = "linear") -> Schedule:
    """Parse a Deforum keyframe string such as `0:(0), 30:(10*sin(t/10))`."""
    if not isinstance(text, str):
        raise ScheduleError(f"expected text, got {type(text).__name__}", parameter=name)
    if interpolation not in INTERPOLATIONS:
        raise ScheduleError(
            f"unknown interpolation {interpolation!r}",
            parameter=name,
            hint=f"use one of {', '.join(INTERPOLATIONS)}",
        )
    check_length(text, name)
    return Schedule(name, text, tuple(_parse_keyframes(text, name)), interpolation)


def _parse_keyframes(text: str, name: str) -> list[Keyframe]:
    keyframes: list[Keyframe] = []
    previous_value_end: int | None = None
    for piece_start, piece_end in split_top_level(text, ",", 0, len(text), parameter=name):
        start, end = _strip_span(text, piece_start, piece_end)
        if start == end:
            continue  # a trailing or doubled comma
        pieces = split_top_level(text, ":", start, end, parameter=name)
        if len(pieces) == 1:
            raise _missing_colon(text, name, start, end, previous_value_end)
        if len(pieces) > 2:
            raise ScheduleError(
                "more than one ':' in a keyframe",
                parameter=name,
                text=text,
                position=pieces[2][0] - 1,
                hint="separate keyframes with commas: 0:(1.0), 30:(2.0)",
            )
        (key_start, key_end), (value_start, value_end) = pieces
        key = parse_frame_key(text, key_start, key_end, parameter=name)
        value_start, value_end = _strip_span(text, value_start, value_end)
        value = compile_expression(
            text, value_start, value_end, parameter=name, allowed_names=VALUE_NAMES
        )
        keyframes.append(Keyframe(key, value))
        previous_value_end = value_end
    if not keyframes:
        raise ScheduleError(
            "empty schedule",
            parameter=name,
            text=text,
            hint="write at least one keyframe, for example 0:(1.0)",
        )
    return keyframes


def _missing_colon(
    text: str, name: str, start: int, end: int, previous_value_end: int | None
) -> ScheduleError:
    piece = text[start:end]
    follows_number = (
        previous_value_end is not None
        and previous_value_end == start - 1
        and text[previous_value_end - 1].isdigit()
    )
    if follows_number and piece.isdigit():
        whole = text[:previous_value_end].rsplit(":", 1)[-1].strip()
        return ScheduleError(
            "decimal comma: ',' is not a decimal separator",
            parameter=name,
            text=text,
            position=start - 1,
            hint=f"use '.' as the decimal separator: write {whole}.{piece}",
        )
    shown = piece if len(piece) <= 40 else piece[:40] + "..."
    return ScheduleError(
        f"keyframe {shown!r} has no ':'",
        parameter=name,
        text=text,
        position=start,
        hint="write keyframes as frame:(value), for example 0:(1.0)",
    )


def evaluate_schedule(
    text: str,
    max_frames: int,
    *,
    name: str = "value",
    interpolation: str = "linear",
    seed: int = 0,
    fps: float = 15.0,
) -> list[float]:
    """Parse and evaluate a keyframe string: one float per frame 0..max_frames-1."""
    return parse_schedule(text, name=name, interpolation=interpolation).evaluate(
        max_frames, seed=seed, fps=fps
    )
