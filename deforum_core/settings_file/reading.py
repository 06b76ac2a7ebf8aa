"""Reading a Deforum settings file: JSON text to a dict of keys, and which Deforum wrote it.

Every real settings file is the JSON Deforum dumps (DESIGN.md, ../shared/deforum_settings):
the notebook (N), DeforumStableDiffusionLocal's run.py files (L) and sd-webui-deforum (A).
They differ in key names and defaults, so the dialect is recognised from the keys only a
dialect writes, and a file with none of Deforum's keys is refused rather than guessed at.
A Parseq manifest is read as well: it imports onto sd-webui-deforum's defaults.
"""

from __future__ import annotations

import json
from typing import Any

from ..errors import DeforumError

MAX_SETTINGS_CHARS = 4_000_000  # the largest real file is 12 KB; Parseq documents reach 400 KB
NOTEBOOK, LOCAL, WEBUI = "N", "L", "A"
DIALECT_NAMES = {
    NOTEBOOK: "the Deforum notebook",
    LOCAL: "DeforumStableDiffusionLocal (run.py)",
    WEBUI: "sd-webui-deforum",
}
SETTINGS_HINT = (
    "give a settings file Deforum saved, such as deforum_settings.txt or "
    "<timestring>_settings.txt: a JSON object of Deforum's keys"
)

# Keys only sd-webui-deforum writes (all versions from v0.5 on carry several of them).
_WEBUI_KEYS = frozenset({
    "show_info_on_ui", "cfg_scale_schedule", "deforum_git_commit_id", "sd_model_name",
    "animation_prompts_positive", "animation_prompts_negative", "positive_prompts",
    "negative_prompts", "override_these_with_webui", "enable_steps_scheduling",
    "motion_preview_mode", "fov_schedule", "near_schedule", "far_schedule", "seed_enable_extras",
    "skip_video_creation", "add_soundtrack", "legacy_colormatch", "depth_algorithm",
    "parseq_manifest", "parseq_use_deltas", "parseq_non_schedule_overrides",
})  # fmt: skip
# Keys of the notebook and run.py that are part of Deforum's own settings.
_DEFORUM_KEYS = frozenset({
    "animation_mode", "max_frames", "W", "H", "width", "height", "prompts", "animation_prompts",
    "seed", "sampler", "steps", "scale", "strength", "strength_schedule", "angle", "zoom",
    "translation_x", "translation_y", "translation_z", "rotation_3d_x", "rotation_3d_y",
    "rotation_3d_z", "noise_schedule", "color_coherence", "diffusion_cadence", "border",
    "use_init", "init_image", "seed_behavior", "n_batch", "colormatch_scale", "blue_scale",
})  # fmt: skip


class SettingsFileError(DeforumError):
    """A file or text that cannot be read as Deforum settings."""

    default_parameter = "settings"


def parse_settings_text(text: str, source: str) -> dict[str, Any]:
    """The settings' keys and values as the file holds them; source names it in errors."""
    if not isinstance(text, str):
        raise SettingsFileError(f"{source}: expected text, got {type(text).__name__}")
    if len(text) > MAX_SETTINGS_CHARS:
        raise SettingsFileError(
            f"{source} is {len(text):,} characters, more than any settings file "
            f"({MAX_SETTINGS_CHARS:,} at most)",
            hint=SETTINGS_HINT,
        )
    text = text.removeprefix("\ufeff")
    if not text.strip():
        raise SettingsFileError(f"{source} is empty", hint=SETTINGS_HINT)
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise SettingsFileError(
            f"{source} is not valid JSON: {error.msg} (line {error.lineno}, column {error.colno})",
            hint=f"{SETTINGS_HINT}; look for a trailing comma or a missing quote",
        ) from None
    except RecursionError:
        raise SettingsFileError(f"{source} nests JSON too deeply", hint=SETTINGS_HINT) from None
    if not isinstance(data, dict):
        raise SettingsFileError(
            f"{source} holds a JSON {type(data).__name__}, not an object of settings",
            hint=SETTINGS_HINT,
        )
    _refuse_foreign(data, source)
    return data


def is_parseq_document(data: dict[str, Any]) -> bool:
    """A Parseq document (its manifest), which no settings file resembles: it carries
    rendered_frames, or meta.generated_by."""
    meta = data.get("meta")
    return "rendered_frames" in data or (isinstance(meta, dict) and "generated_by" in meta)


def _refuse_foreign(data: dict[str, Any], source: str) -> None:
    if is_parseq_document(data):
        if "rendered_frames" not in data:  # as Deforum refuses it
            raise SettingsFileError(
                f"{source} is a Parseq document without rendered_frames, not a manifest",
                hint="in Parseq, render the document and save the manifest it gives Deforum",
            )
        return  # imported onto Deforum's defaults (parseq_import.py)
    if not (_WEBUI_KEYS | _DEFORUM_KEYS) & data.keys():
        shown = ", ".join(list(data)[:5])
        raise SettingsFileError(
            f"{source} has none of Deforum's settings keys (it has {shown or 'no keys'})",
            hint=SETTINGS_HINT,
        )


def detect_dialect(data: dict[str, Any]) -> str:
    """N, L or A: A by the keys only sd-webui-deforum writes, L by run.py's `width`/`height`
    or `animation_prompts`, else the notebook (whose partial preset files are the smallest)."""
    if _WEBUI_KEYS & data.keys():
        return WEBUI
    if {"width", "height", "animation_prompts"} & data.keys():
        return LOCAL
    return NOTEBOOK
