"""The parameter table: every animation parameter declared once, where its stage is defined.

A stage's settings are a frozen dataclass whose fields are declared with `schedule`,
`integer`, `number`, `flag`, `choice` or `text`. The field is the parameter: its name (the
node widget's name), kind, default, bounds, choices, tooltip, and the key Deforum's settings
files use for it with that key's older aliases. From that one declaration come the engine's
defaults and checks (`check_params`, called by each dataclass after init), the node widgets
and queue-time checks (nodes/widgets.py), the run's settings.json (`record`), the typed
per-frame values (`frame_values`) and the settings-file importer's key lookup (`by_deforum_key`).

Schedule fields are parsed once, when the dataclass is made: they hold a `Schedule`, whose
`.text` is what the user wrote.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cache
from typing import Any, TypeVar

from .errors import ScheduleError
from .keyframes import Schedule, parse_schedule

SCHEDULE, INT, FLOAT, BOOL, CHOICE, TEXT = "schedule", "int", "float", "bool", "choice", "text"
_META = "deforum_param"
FrameT = TypeVar("FrameT")


@dataclass(frozen=True)
class Param:
    """One animation parameter as its stage declares it."""

    name: str
    kind: str
    default: Any
    tooltip: str
    choices: tuple[str, ...] = ()
    low: float | None = None  # for a schedule: the range of its values on every frame
    high: float | None = None
    step: float | None = None
    deforum_key: str | None = None  # its key in Deforum settings files, None if Deforum has none
    aliases: tuple[str, ...] = ()  # older Deforum keys for the same setting
    multiline: bool = False
    whole: bool = False  # a schedule of whole numbers (its values are rounded)
    hint: str = ""  # how to fix a value outside low..high
    appended: bool = False  # added after a release: an optional input, so old workflows load
    # for an appended parameter: what renders saved before it existed rendered with, when
    # that is not its default (the 3D camera: pinhole then, Deforum's own for new nodes)
    legacy: Any = None

    @property
    def frame_name(self) -> str:
        """The name of its per-frame value: `strength_schedule` gives `strength`."""
        return self.name.removesuffix("_schedule")

    def check(self, value: Any) -> Any:
        """The value as the engine keeps it (a parsed Schedule for schedules), or a
        ScheduleError naming the parameter and the fix."""
        if self.kind == SCHEDULE:
            if isinstance(value, Schedule):
                return value
            if isinstance(value, str):
                return parse_schedule(value, name=self.name)
            self._refuse(value, "a keyframe schedule text such as 0:(1.0)")
        if self.kind == CHOICE:
            if value not in self.choices:
                raise ScheduleError(
                    f"unknown {self.name} {value!r}",
                    parameter=self.name,
                    hint=f"use one of {', '.join(self.choices)}",
                )
        elif self.kind == BOOL and not isinstance(value, bool):
            self._refuse(value, "true or false")
        elif self.kind == TEXT and not isinstance(value, str):
            self._refuse(value, "a text")
        elif self.kind in (INT, FLOAT):
            self._check_number(value)
        return value

    def _check_number(self, value: Any) -> None:
        allowed = (int,) if self.kind == INT else (int, float)
        if isinstance(value, bool) or not isinstance(value, allowed):
            what = "a whole number" if self.kind == INT else "a number"
            self._refuse(value, f"{what}{self._range_text()}")
        if not self.admits(value):
            raise ScheduleError(
                f"{value!r} is outside {self.bounds_text()}",
                parameter=self.name,
                hint=self.hint or f"use a value{self._range_text()}",
            )

    def admits(self, value: float) -> bool:
        """Whether a number lies within the parameter's bounds."""
        low_ok = self.low is None or value >= self.low
        return low_ok and (self.high is None or value <= self.high)

    def bounds_text(self) -> str:
        """The bounds as `0..1`, `at least 1` or `at most 5`."""
        if self.low is not None and self.high is not None:
            return f"{self.low:g}..{self.high:g}"
        return f"at least {self.low:g}" if self.low is not None else f"at most {self.high:g}"

    def _range_text(self) -> str:
        if self.low is not None and self.high is not None:
            return f" from {self.low:g} to {self.high:g}"
        if self.low is not None:
            return f" of at least {self.low:g}"
        return ""

    def _refuse(self, value: Any, expected: str) -> None:
        raise ScheduleError(f"must be {expected}, got {value!r}", parameter=self.name)


def _declare(kind: str, default: Any, tooltip: str, **options: Any) -> Any:
    return dataclasses.field(default=default, metadata={_META: (kind, tooltip, options)})


def schedule(default: str, tooltip: str, **options: Any) -> Any:
    """A keyframe schedule field (options: deforum_key, aliases, low, high, whole, hint)."""
    return _declare(SCHEDULE, default, tooltip, **options)


def integer(default: int, tooltip: str, **options: Any) -> Any:
    """A whole-number field (options: low, high, step, deforum_key, aliases, hint)."""
    return _declare(INT, default, tooltip, **options)


def number(default: float, tooltip: str, **options: Any) -> Any:
    """A number field (options: low, high, step, deforum_key, aliases, hint)."""
    return _declare(FLOAT, default, tooltip, **options)


def flag(default: bool, tooltip: str, **options: Any) -> Any:
    """A true/false field (options: deforum_key, aliases)."""
    return _declare(BOOL, default, tooltip, **options)


def choice(default: str, choices: Iterable[str], tooltip: str, **options: Any) -> Any:
    """A field holding one of the choices (options: deforum_key, aliases)."""
    return _declare(CHOICE, default, tooltip, choices=tuple(choices), **options)


def text(default: str, tooltip: str, **options: Any) -> Any:
    """A free text field (options: multiline, deforum_key, aliases)."""
    return _declare(TEXT, default, tooltip, **options)


@cache
def params_of(settings_type: type) -> tuple[Param, ...]:
    """The parameters a settings dataclass declares, in field order (the widget order)."""
    found = []
    for field in dataclasses.fields(settings_type):
        if _META in field.metadata:
            kind, tooltip, options = field.metadata[_META]
            found.append(Param(field.name, kind, field.default, tooltip, **options))
    return tuple(found)


def param_of(settings_type: type, name: str) -> Param:
    for found in params_of(settings_type):
        if found.name == name:
            return found
    raise KeyError(f"{settings_type.__name__} has no parameter {name!r}")


class ParameterTable:
    """Base of the settings dataclasses: their parameters are checked (schedules parsed)
    when they are made, and recorded by name."""

    def __post_init__(self) -> None:
        check_params(self)

    def describe(self) -> dict[str, Any]:
        """The parameters as plain data, for the run's record."""
        return record(self)


def check_params(settings: Any) -> None:
    """Check every parameter of a settings dataclass and parse its schedule texts (once)."""
    for declared in params_of(type(settings)):
        value = getattr(settings, declared.name)
        kept = declared.check(value)
        if kept is not value:
            object.__setattr__(settings, declared.name, kept)


def record(settings: Any) -> dict[str, Any]:
    """The parameters' values as plain JSON data (schedules as their text), by name."""
    return {
        declared.name: _plain(getattr(settings, declared.name))
        for declared in params_of(type(settings))
    }


def _plain(value: Any) -> Any:
    return value.text if isinstance(value, Schedule) else value


def frame_values(
    settings: Any,
    frame_type: type[FrameT],
    max_frames: int,
    *,
    seed: int = 0,
    fps: float = 15.0,
    check_cancel: Callable[[], None] | None = None,
) -> list[FrameT]:
    """One `frame_type` per frame: each schedule's value on that frame under its frame name,
    and the settings' fixed values for the frame type's other fields.

    Schedules with bounds are checked on every frame; whole-number schedules are rounded.
    """
    columns = {
        declared.frame_name: _column(declared, getattr(settings, declared.name), max_frames,
                                     seed, fps, check_cancel)
        for declared in params_of(type(settings))
        if declared.kind == SCHEDULE
    }  # fmt: skip
    names = [field.name for field in dataclasses.fields(frame_type)]
    fixed = {name: getattr(settings, name) for name in names if name not in columns}
    wanted = {name: columns[name] for name in names if name in columns}
    return [
        frame_type(**fixed, **{name: values[frame] for name, values in wanted.items()})
        for frame in range(max_frames)
    ]


def _column(
    declared: Param,
    parsed: Schedule,
    max_frames: int,
    seed: int,
    fps: float,
    check_cancel: Callable[[], None] | None,
) -> list:
    values = parsed.evaluate(max_frames, seed=seed, fps=fps, check_cancel=check_cancel)
    if declared.whole:
        values = [round(value) for value in values]
    for frame, value in enumerate(values):
        if not declared.admits(value):
            raise ScheduleError(
                f"{value:g} is outside {declared.bounds_text()}",
                parameter=declared.name,
                frame=frame,
                hint=declared.hint or f"keep it within {declared.bounds_text()}",
            )
    return values


def schedules_of(settings: Any) -> dict[str, Schedule]:
    """A settings dataclass's parsed schedules, by parameter name."""
    return {
        declared.name: getattr(settings, declared.name)
        for declared in params_of(type(settings))
        if declared.kind == SCHEDULE
    }


def legacy_values(settings: Any) -> dict[str, Any]:
    """The appended parameters of a settings dataclass with the values records saved before
    they existed rendered with, by name: a resume of such a record reads them as these."""
    return {
        declared.name: declared.default if declared.legacy is None else declared.legacy
        for declared in params_of(type(settings))
        if declared.appended
    }


def by_deforum_key(settings_types: Iterable[type]) -> dict[str, list[tuple[type, Param]]]:
    """Each Deforum settings key (and alias) with the stages and parameters it sets (a key
    such as translation_x sets both the 2D and the 3D camera, as in Deforum)."""
    table: dict[str, list[tuple[type, Param]]] = {}
    for settings_type in settings_types:
        for declared in params_of(settings_type):
            for key in filter(None, (declared.deforum_key, *declared.aliases)):
                table.setdefault(key, []).append((settings_type, declared))
    return table
