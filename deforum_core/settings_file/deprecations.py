"""Old Deforum names and values brought to today's, as sd-webui-deforum's own loader does
(its deprecation_utils.py), so a 2022 file means what it meant then.

Each rule rewrites the settings in place and returns report lines saying what it changed.
The notebook and run.py files use the same old names (flip_2d_perspective, 'Match Frame 0
LAB'), so the renames apply to every dialect; `legacy_colormatch` defaults to true only for
webui files that lack it, as that loader does for files saved before the option existed.
"""

from __future__ import annotations

from typing import Any

from .reading import WEBUI
from .report import MAPPED, ReportLine

RENAMED_KEYS = {
    "flip_2d_perspective": "enable_perspective_flip",
    "skip_video_for_run_all": "skip_video_creation",
}
RENAMED_VALUES: dict[str, dict[Any, str]] = {
    "color_coherence": {
        "Match Frame 0 HSV": "HSV",
        "Match Frame 0 LAB": "LAB",
        "Match Frame 0 RGB": "RGB",
    },
    "hybrid_composite": {False: "None", True: "Normal"},
    "optical_flow_redo_generation": {False: "None", True: "DIS Fine"},
    "optical_flow_cadence": {False: "None", True: "DIS Fine"},
    **{
        f"cn_{unit}_resize_mode": {
            "Envelope (Outer Fit)": "Outer Fit (Shrink to Fit)",
            "Scale to Fit (Inner Fit)": "Inner Fit (Scale to Fit)",
        }
        for unit in range(1, 6)
    },
}
OLD_DEPTH_SWITCH = ("use_zoe_depth", "depth_algorithm", {True: "Zoe+AdaBins (old)",
                                                         False: "Midas+AdaBins (old)"})  # fmt: skip
NUMBERS_TO_SCHEDULES = tuple(
    f"cn_{unit}_{name}" for unit in range(1, 6) for name in ("weight", "guidance_start",
                                                             "guidance_end")
)  # fmt: skip


def apply_deprecations(settings: dict[str, Any], dialect: str) -> dict[str, ReportLine]:
    """Rewrite old names and values in settings; the report line of each key it changed,
    by the key as the file wrote it."""
    lines: dict[str, ReportLine] = {}
    for old, new in RENAMED_KEYS.items():
        if old in settings:
            value = settings.pop(old)
            settings.setdefault(new, value)
            lines[old] = ReportLine(old, MAPPED, f"renamed {new} (as Deforum renamed it)")
    for key, renames in RENAMED_VALUES.items():
        value = settings.get(key)
        if _hashable(value) and value in renames and not _is_number_as_bool(value, renames):
            settings[key] = renames[value]
            lines[key] = ReportLine(key, MAPPED, f"{value!r} is now {renames[value]!r}")
    old_key, new_key, values = OLD_DEPTH_SWITCH
    if old_key in settings:
        value = settings.pop(old_key)
        if isinstance(value, bool):
            settings[new_key] = values[value]
            lines[old_key] = ReportLine(old_key, MAPPED, f"{new_key} {values[value]!r}")
    for key in NUMBERS_TO_SCHEDULES:
        value = settings.get(key)
        if isinstance(value, int | float) and not isinstance(value, bool):
            settings[key] = f"0:({value})"
            lines[key] = ReportLine(key, MAPPED, f"{value!r} is now the schedule 0:({value})")
    if dialect == WEBUI and "legacy_colormatch" not in settings:
        settings["legacy_colormatch"] = True  # reported as a default by the importer
    return lines


def _hashable(value: Any) -> bool:
    return isinstance(value, str | bool | int | float | type(None))


def _is_number_as_bool(value: Any, renames: dict[Any, str]) -> bool:
    """1 == True in Python: only a real bool matches a bool rename."""
    return (
        not isinstance(value, bool)
        and isinstance(value, int)
        and value in (0, 1)
        and (True in renames)
    )
