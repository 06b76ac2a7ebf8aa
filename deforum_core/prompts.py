"""Deforum prompt schedules: prompts keyed by frame, resolved for every frame.

Accepts Deforum's JSON form {"0": "a cat", "30": "a dog"} and a line form `0: a cat`.
Text after `--neg` is the negative prompt, global positive text goes before every prompt and
global negative text after every negative prompt (as Deforum composes them), and math in
`backticks` is evaluated per frame by the same whitelisting evaluator as the schedules.
For each frame the current and the next keyframed prompt are given with the blend weight
between them, so conditioning can be interpolated.
"""

from __future__ import annotations

import bisect
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass

from .errors import ScheduleError
from .expression import MAX_NESTING, Expression, check_length, compile_expression
from .keyframes import VALUE_NAMES, FrameKey, parse_frame_key
from .params import ParameterTable
from .params import text as text_param

NEGATIVE_MARKER = "--neg"
_LINE_KEY = re.compile(r"""[ \t]*(-?\d+|"[^"\n]*"|'[^'\n]*'|max_f[^:\n]*)[ \t]*:""")
_JSON_HINT = 'Deforum prompts are JSON such as {"0": "a cat", "30": "a dog"}'
# A whole schedule may hold far more text than one prompt (each is held to the expression
# limit): a Parseq manifest's gives a prompt to every frame where its prompts blend.
MAX_SCHEDULE_LENGTH = 1_000_000


@dataclass(frozen=True)
class PromptTemplate:
    """Prompt text with `math` in backticks; render() fills in the numbers for a frame."""

    text: str
    parts: tuple[str | Expression, ...]

    @property
    def is_static(self) -> bool:
        return all(isinstance(part, str) for part in self.parts)

    @property
    def operations(self) -> int:
        """What rendering it once costs: its math, and one for the text."""
        return 1 + sum(part.operations for part in self.parts if not isinstance(part, str))

    def render(self, variables: dict[str, float], *, parameter: str, frame: int) -> str:
        if self.is_static:
            return self.text
        return "".join(
            part
            if isinstance(part, str)
            else format(part.evaluate(variables, parameter=parameter, frame=frame), ".6g")
            for part in self.parts
        )


def compile_template(text: str, *, parameter: str) -> PromptTemplate:
    """Split prompt text at backticks and compile the math between them."""
    check_length(text, parameter)
    pieces = text.split("`")
    if len(pieces) % 2 == 0:
        raise ScheduleError(
            "unclosed backtick",
            parameter=parameter,
            text=text,
            position=text.rfind("`"),
            hint="close the math with a second backtick, as in `0.5+0.5*sin(t/10)`",
        )
    parts: list[str | Expression] = []
    position = 0
    for index, piece in enumerate(pieces):
        if index % 2 == 0:
            if piece:
                parts.append(piece)
        else:
            parts.append(
                compile_expression(
                    text,
                    position,
                    position + len(piece),
                    parameter=parameter,
                    allowed_names=VALUE_NAMES,
                )
            )
        position += len(piece) + 1
    return PromptTemplate(text, tuple(parts))


@dataclass(frozen=True)
class PromptKey:
    key: FrameKey
    template: PromptTemplate


@dataclass(frozen=True)
class FramePrompt:
    """The prompts in force on one frame."""

    frame: int
    positive: str
    negative: str
    next_positive: str
    next_negative: str
    blend: float  # weight of the next prompt: 0 on a key frame, rising towards the next key
    key_frame: int
    next_key_frame: int


@dataclass(frozen=True)
class PromptSchedule:
    """A parsed prompt schedule with its global positive and negative text."""

    name: str
    entries: tuple[PromptKey, ...]
    positive: PromptTemplate
    negative: PromptTemplate

    def evaluate(self, max_frames: int, *, seed: int = 0, fps: float = 15.0) -> list[FramePrompt]:
        """The prompts for each of frames 0..max_frames-1."""
        frames = self.frames(max_frames, seed=seed, fps=fps)
        return [frames[frame] for frame in range(max_frames)]

    def frames(self, max_frames: int, *, seed: int = 0, fps: float = 15.0) -> PromptFrames:
        """The prompts of an animation of max_frames frames, each worked out when asked for
        (a render asks only for the frames it diffuses)."""
        if not isinstance(max_frames, int) or max_frames < 1:
            raise ScheduleError(
                f"max_frames must be a whole number of at least 1, got {max_frames!r}",
                parameter=self.name,
            )
        keys = self._resolved_keys(max_frames, fps)
        starts = tuple(key for key, _ in keys)
        return PromptFrames(self, keys, starts, max_frames, seed, fps)

    def cost(self, frames: int) -> int:
        """An upper bound of the operations `frames` frames' prompts take to work out."""
        templates = [entry.template.operations for entry in self.entries]
        per_frame = 2 * max(templates) + self.positive.operations + self.negative.operations
        return sum(entry.key.expression.operations for entry in self.entries) + frames * (
            per_frame + 1
        )

    def prompt_at(
        self, keys: list[tuple[int, PromptKey]], starts: tuple[int, ...], frame: int, base: dict
    ) -> FramePrompt:
        """The prompts of one frame, with the resolved keys and their frames (see frames())."""
        current = bisect.bisect_right(starts, frame) - 1
        here = max(current, 0)
        following = min(here + 1, len(keys) - 1) if current >= 0 else here
        key_frame, entry = keys[here]
        next_key_frame, next_entry = keys[following]
        variables = {**base, "t": float(frame)}
        positive, negative = self._compose(entry.template, variables, frame)
        if following == here:
            next_positive, next_negative, blend = positive, negative, 0.0
        else:
            next_positive, next_negative = self._compose(next_entry.template, variables, frame)
            blend = (frame - key_frame) / (next_key_frame - key_frame)
        return FramePrompt(frame, positive, negative, next_positive, next_negative, blend,
                           key_frame, next_key_frame)  # fmt: skip

    def _resolved_keys(self, max_frames: int, fps: float) -> list[tuple[int, PromptKey]]:
        by_frame = {entry.key.resolve(max_frames, fps): entry for entry in self.entries}
        return sorted(by_frame.items(), key=lambda item: item[0])

    def _compose(
        self, template: PromptTemplate, variables: dict[str, float], frame: int
    ) -> tuple[str, str]:
        """Positive and negative text of one prompt on one frame, with the global text."""
        text = template.render(variables, parameter=self.name, frame=frame)
        positive, _, negative = text.partition(NEGATIVE_MARKER)
        negative = negative.replace(NEGATIVE_MARKER, " ")
        global_positive = self.positive.render(variables, parameter="positive", frame=frame)
        global_negative = self.negative.render(variables, parameter="negative", frame=frame)
        return (
            _join(global_positive, positive),
            _join(negative, global_negative),
        )


@dataclass(frozen=True)
class PromptFrames(Sequence):
    """The prompts of every frame of an animation, worked out frame by frame on demand."""

    schedule: PromptSchedule
    keys: list[tuple[int, PromptKey]]
    starts: tuple[int, ...]  # the keys' frames, sorted
    max_frames: int
    seed: int
    fps: float

    def __len__(self) -> int:
        return self.max_frames

    def __getitem__(self, frame: int) -> FramePrompt:
        if not 0 <= frame < self.max_frames:
            raise IndexError(frame)
        base = {"max_f": float(self.max_frames - 1), "s": float(self.seed), "fps": float(self.fps)}
        return self.schedule.prompt_at(self.keys, self.starts, frame, base)

    def key_frames(self) -> list[int]:
        """The frames within the animation that carry a prompt (and frame 0)."""
        inside = [key for key in self.starts if 0 <= key < self.max_frames]
        return sorted({0, *inside})


def _join(first: str, second: str) -> str:
    return " ".join(part for part in (first.strip(), second.strip()) if part)


def parse_prompt_schedule(
    text: str, *, positive: str = "", negative: str = "", name: str = "prompts"
) -> PromptSchedule:
    """Parse Deforum's JSON prompts or `frame: prompt` lines."""
    if not isinstance(text, str):
        raise ScheduleError(f"expected text, got {type(text).__name__}", parameter=name)
    if len(text) > MAX_SCHEDULE_LENGTH:
        raise ScheduleError(
            f"the prompts are {len(text):,} characters long; the limit is {MAX_SCHEDULE_LENGTH:,}",
            parameter=name,
            hint="use fewer or shorter prompts",
        )
    stripped = text.strip()
    if not stripped:
        raise ScheduleError(
            "empty prompt schedule",
            parameter=name,
            hint='write at least one prompt, e.g. "0: a cat"',
        )
    pairs = _json_pairs(text, name) if stripped.startswith("{") else _line_pairs(text, name)
    if not pairs:
        raise ScheduleError("empty prompt schedule", parameter=name, text=text, hint=_JSON_HINT)
    entries = tuple(
        PromptKey(
            parse_frame_key(key, 0, len(key), parameter=name),
            compile_template(prompt, parameter=name),
        )
        for key, prompt in pairs
    )
    return PromptSchedule(
        name,
        entries,
        compile_template(positive, parameter="positive"),
        compile_template(negative, parameter="negative"),
    )


def _check_json_depth(text: str, name: str) -> None:
    """Refuse JSON nested deeper than a prompt schedule ever is (Python's parser would run
    out of stack on a few thousand levels)."""
    depth, in_string, escaped = 0, False, False
    for position, character in enumerate(text):
        if in_string:
            escaped = not escaped and character == "\\"
            in_string = escaped or character != '"'
            continue
        if character == '"':
            in_string = True
        elif character in "[{":
            depth += 1
            if depth > MAX_NESTING:
                raise ScheduleError(
                    f"JSON nested more than {MAX_NESTING} levels deep",
                    parameter=name,
                    text=text,
                    position=position,
                    hint=_JSON_HINT,
                )
        elif character in "]}":
            depth -= 1


def _json_pairs(text: str, name: str) -> list[tuple[str, str]]:
    _check_json_depth(text, name)
    try:
        loaded = json.loads(text, object_pairs_hook=list)
    except json.JSONDecodeError as error:
        raise ScheduleError(
            f"not valid JSON: {error.msg} (line {error.lineno}, column {error.colno})",
            parameter=name,
            text=text,
            position=error.pos,
            hint=f"{_JSON_HINT}; look for a trailing comma or a missing quote",
        ) from None
    if not isinstance(loaded, list):
        raise ScheduleError("expected a JSON object of prompts", parameter=name, hint=_JSON_HINT)
    for key, prompt in loaded:
        if not isinstance(prompt, str):
            raise ScheduleError(
                f"the prompt for frame {key!r} is {type(prompt).__name__}, not text",
                parameter=name,
                hint=_JSON_HINT,
            )
    return loaded


def _line_pairs(text: str, name: str) -> list[tuple[str, str]]:
    pairs: list[tuple[str, str]] = []
    offset = 0
    for line in text.splitlines(keepends=True):
        match = _LINE_KEY.match(line)
        if match is not None:
            pairs.append((match.group(1), line[match.end() :].strip()))
        elif line.strip():
            if not pairs:
                raise ScheduleError(
                    "the first prompt has no frame number",
                    parameter=name,
                    text=text,
                    position=offset,
                    hint="start each prompt with its frame, such as `0: a cat`",
                )
            key, prompt = pairs[-1]
            pairs[-1] = (key, _join(prompt, line))
        offset += len(line)
    return pairs


DEFAULT_PROMPTS = (
    '{\n  "0": "a lake by a mountain at sunrise",\n'
    '  "60": "a lake by a mountain under a starry sky --neg blurry"\n}'
)


@dataclass(frozen=True)
class PromptTexts(ParameterTable):
    """Deforum's animation prompts and the global texts around them, as written (the
    Deforum Prompts node's texts)."""

    prompts: str = text_param(
        DEFAULT_PROMPTS,
        'Deforum JSON {"frame": "prompt"} or lines `frame: prompt`. Frames may be expressions '
        "of max_f in quotes.",
        multiline=True,
        deforum_key="animation_prompts",
        aliases=("prompts",),
    )
    positive: str = text_param(
        "",
        "Text put before every prompt.",
        multiline=True,
        deforum_key="animation_prompts_positive",
        aliases=("positive_prompts",),
    )
    negative: str = text_param(
        "",
        "Text added to every negative prompt.",
        multiline=True,
        deforum_key="animation_prompts_negative",
        aliases=("negative_prompts",),
    )

    def parse(self) -> PromptSchedule:
        return parse_prompt_schedule(self.prompts, positive=self.positive, negative=self.negative)
