"""The state of one import: the file's keys, its dialect's defaults, and the report so far.

The parameter table (params.py) says which Deforum key (and older alias) sets each parameter,
so most keys need no code of their own: `value_of` takes a value from the file, else from
the dialect's own defaults (defaults.py), else the pack's default, converts what the user
wrote (values.py), and writes the key's report line.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from ..errors import DeforumError
from ..hybrid.stage import HybridStage
from ..modes import InterpolationStage
from ..params import Param, params_of
from ..render.settings import AnimationSettings
from ..stages import ColorCoherenceStage, EnhanceStage, Motion2DStage, Motion3DStage, NoiseStage
from ..stages.optical_flow import OpticalFlowStage
from .defaults import DIALECT_DEFAULTS
from .deprecations import apply_deprecations
from .reading import LOCAL, NOTEBOOK, WEBUI, SettingsFileError, detect_dialect
from .references import FileReference
from .report import DEFAULTED, IGNORED, MAPPED, TAKEN, UNSUPPORTED, ReportLine
from .values import convert, to_bool

# enable_* switch: (the schedules it turns on, the constant key used while it is off). With
# no constant key, a switch that is off leaves the pack's default, which is what Deforum does
# then (noise multiplier 1, no variation seed, CLIP skip 1); seed_enable_extras is the
# webui's switch of the constants subseed and subseed_strength in late-2022 files.
SCHEDULE_SWITCHES: dict[str, tuple[tuple[str, ...], str | None]] = {
    "enable_steps_scheduling": (("steps_schedule",), "steps"),
    "enable_noise_multiplier_scheduling": (("noise_multiplier_schedule",), None),
    "enable_subseed_scheduling": (("subseed_schedule", "subseed_strength_schedule"), None),
    "enable_clipskip_scheduling": (("clipskip_schedule",), None),
    "enable_sampler_scheduling": (("sampler_schedule",), None),
    "enable_schedule_samplers": (("sampler_schedule",), None),  # the notebook's name
    "seed_enable_extras": (("subseed", "subseed_strength"), None),
}
# Parameters the pack has and Deforum does not: what imported settings use, and why.
PACK_CHOICES: dict[type, dict[str, tuple[Any, str]]] = {
    Motion2DStage: {"sampling": ("bilinear", "Deforum's 2D warp samples bilinearly (OpenCV)")},
    Motion3DStage: {"camera": ("deforum", "Deforum's own 3D camera and perspective flip")},
    InterpolationStage: {
        "conditioning": (
            "spherical",
            "the prompts' encodings are slerped token by token (the "
            "notebook's slerp works out as a linear blend)",
        ),
        "interpolate_noise": (
            True,
            "each prompt keeps its seed and the noise moves between "
            "them (the notebook holds one seed for the whole morph)",
        ),
    },
}
# The key of an exported file holding the pack's own choices Deforum has no key for, by the
# names of the tables below and their parameters.
PACK_KEY = "deforum_comfy"
TABLE_NAMES = {
    AnimationSettings: "Animation", Motion2DStage: "Motion2D", Motion3DStage: "Motion3D",
    ColorCoherenceStage: "ColorCoherence", EnhanceStage: "Enhance", NoiseStage: "Noise",
    InterpolationStage: "Interpolation", HybridStage: "Hybrid", OpticalFlowStage: "OpticalFlow",
}  # fmt: skip
DIALECT_WORDS = {NOTEBOOK: "the notebook", LOCAL: "run.py", WEBUI: "sd-webui-deforum"}


class ImportContext:
    """One settings file being imported (see the module docstring)."""

    def __init__(self, data: dict[str, Any], source: str) -> None:
        self.source = source
        self.file_keys = list(data)
        self.dialect = detect_dialect(data)
        self.lines: dict[str, ReportLine] = apply_deprecations(data, self.dialect)
        self.renamed = {  # today's name -> the name the file wrote
            key: line.key
            for key in data
            for line in self.lines.values()
            if line.detail.startswith(f"renamed {key} ")
        }
        self.written = data  # the file's keys under today's names
        self.defaults = dict(DIALECT_DEFAULTS[self.dialect])
        apply_deprecations(self.defaults, self.dialect)  # the notebook's own are old names too
        self.extra_lines: list[ReportLine] = []
        self.references: list[FileReference] = []
        self.pack_choices = self._pack_choices()

    def _pack_choices(self) -> dict[str, Any]:
        block = self.written.get(PACK_KEY)
        if block is None:
            return {}
        if not isinstance(block, dict) or not all(isinstance(v, dict) for v in block.values()):
            raise SettingsFileError(
                f"{PACK_KEY} must map table names to parameter values", parameter=PACK_KEY,
                hint="leave it as the export wrote it, or remove it",
            )  # fmt: skip
        self.note(PACK_KEY, TAKEN, "the pack's own choices: " + short(block))
        return block

    @property
    def dialect_words(self) -> str:
        return DIALECT_WORDS[self.dialect]

    def has(self, key: str) -> bool:
        return key in self.written

    def get(self, key: str, fallback: Any = None) -> Any:
        """The file's value, else the dialect default, else fallback."""
        return self.written.get(key, self.defaults.get(key, fallback))

    def note(self, key: str, status: str, detail: str = "") -> None:
        """The report line of a key (under the file's own name for it when it was renamed);
        a line about a value the file does not hold is listed with the defaults."""
        shown = self.renamed.get(key, key)
        if shown in self.file_keys:
            previous = self.lines.get(shown)
            if previous is not None and (
                (previous.status == MAPPED and status == TAKEN) or status == DEFAULTED
            ):
                return  # its line already says it (a rename, or a switch that is off)
            self.lines[shown] = ReportLine(shown, status, detail)
        elif status in (DEFAULTED, MAPPED, UNSUPPORTED):
            self.extra_lines.append(ReportLine(key, DEFAULTED, detail))

    def default_note(self, key: str, value: Any) -> None:
        whose = f"{self.dialect_words} default" if key in self.defaults else "the pack's default"
        self.note(key, DEFAULTED, f"{short(value)} ({whose})")

    def flag(self, key: str, fallback: bool) -> bool:
        """A true/false setting, with its report line."""
        value, conversion = to_bool(self.get(key, fallback), key)
        if self.has(key):
            self.note(key, MAPPED if conversion else TAKEN, conversion)
        return value

    def value_of(self, declared: Param) -> Any:
        """A parameter's value from its Deforum key or aliases (file first, then the
        dialect's defaults, then the pack), converted, with its report line."""
        keys = [key for key in (declared.deforum_key, *declared.aliases) if key]
        for source in (self.written, self.defaults):
            found = [key for key in keys if key in source]
            if not found:
                continue
            key = found[0]
            value, conversion = self._convert(declared, source[key], key)
            if source is self.written:
                self.note(key, MAPPED if conversion else TAKEN, conversion)
                for superseded in found[1:]:
                    self.note(superseded, IGNORED, f"superseded by {key}")
            else:
                self.default_note(key, source[key])
            return value
        self.default_note(keys[0] if keys else declared.name, declared.default)
        return declared.default

    def _convert(self, declared: Param, value: Any, key: str) -> tuple[Any, str]:
        converted, conversion = convert(declared, value, key)
        try:
            declared.check(converted)
        except DeforumError as error:
            raise SettingsFileError(error.reason, parameter=key, hint=error.hint) from None
        return converted, conversion

    def table(self, settings_type: type, special: Mapping[str, Any] | None = None) -> dict:
        """The fields of a settings dataclass: special ones as given, the pack's own choices
        for imports, the rest by Deforum key."""
        special = dict(special or {})
        exported = self.pack_choices.get(TABLE_NAMES.get(settings_type, ""), {})
        names = {declared.name: declared for declared in params_of(settings_type)}
        for name, value in exported.items():
            if name not in names or names[name].deforum_key:
                raise SettingsFileError(
                    f"{PACK_KEY} sets {name!r}, which is not a choice of its own in "
                    f"{TABLE_NAMES[settings_type]}", parameter=PACK_KEY,
                    hint="leave it as the export wrote it, or remove it",
                )  # fmt: skip
            special.setdefault(name, self._convert(names[name], value, PACK_KEY)[0])
        for name, (value, why) in PACK_CHOICES.get(settings_type, {}).items():
            if name not in special:
                special[name] = value
                self.extra_lines.append(ReportLine(f"({name})", DEFAULTED, f"{value}: {why}"))
        fields = {}
        for declared in params_of(settings_type):
            if declared.name in special:
                fields[declared.name] = special[declared.name]
            elif declared.deforum_key or declared.aliases:
                fields[declared.name] = self.value_of(declared)
        return fields

    def switch_schedules(self) -> None:
        """A switch that is off keeps the constant; one that is on makes the constant unused."""
        for switch, (scheduled, constant) in SCHEDULE_SWITCHES.items():
            if switch not in self.written and switch not in self.defaults:
                continue
            if self.flag(switch, False):
                unused, why = (constant,) if constant else (), f"{switch} is on: "
                why += " and ".join(scheduled) + " apply"
            else:
                unused, why = (
                    scheduled,
                    f"{switch} is off: "
                    + (f"{constant} applies" if constant else "the pack's default applies"),
                )
            for key in unused:
                if self.has(key):
                    self.note(key, IGNORED, why)
                self.written.pop(key, None)
                self.defaults.pop(key, None)


def short(value: Any) -> str:
    """A value for a report line, cut to 60 characters."""
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    text = " ".join(text.split())
    return text if len(text) <= 60 else text[:57] + "..."
