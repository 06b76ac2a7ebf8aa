"""A Parseq manifest applied to imported settings as sd-webui-deforum applies it.

What sd-webui-deforum does with one (parseq_adapter.py, render.py, render_modes.py, args.py):
- Parseq is on when parseq_manifest holds non-blank text: the manifest's JSON, or a URL it
  downloads (parseq_manifest.py says how the pack finds that file instead). Animation modes
  2D, 3D, Video Input and Interpolation read it; mode None (stills) never does.
- Only rendered_frames is read (the rest of the document is Parseq's editor state), by the
  columns of its first frame; columns ending in _delta or _pc are helpers, not fields.
- The motion fields angle, zoom, translation_x/y/z, rotation_3d_x/y/z and
  perspective_flip_theta/phi/gamma come from their <field>_delta column while
  parseq_use_deltas is on (the default), else from the absolute column. Parseq computes the
  delta (the change from the previous frame, for zoom the ratio; frame 0's is its value).
- Other fields are never deltas: perspective_flip_fv, steps_schedule, transform_center_x/y
  by their own names; noise, strength, contrast, scale, seed, fov, near, far, subseed,
  subseed_strength and antiblur_kernel/sigma/amount/threshold as noise_schedule, ...,
  cfg_scale_schedule, seed_schedule, fov_schedule, ..., kernel_schedule, ...; any other
  schedule by its name less _schedule (noise_multiplier, clipskip, aspect_ratio, the
  hybrid_comp_* and flow factors, ddim_eta, ancestral_eta, pix2pix_img_cfg_scale);
  ControlNet's cn_N_weight/guidance_start/guidance_end; guided images' guided_* fields.
- A field without its column keeps the settings' own schedule. A column gives frame i its
  value at frame i; frames past the manifest's last repeat its value, and rows past
  max_frames are dropped. A schedule behind an enable_*_scheduling switch (steps, CLIP skip,
  noise multiplier, subseed) applies only while its switch is on, as without Parseq.
- With a seed column every frame's seed is int(seed), whatever seed_behavior says, and
  enable_subseed_scheduling is forced on, so subseed and subseed_strength come from the
  manifest (Parseq derives them from fractional seeds) or else the settings' schedules.
- With a deforum_prompt column each frame's prompt is that text as is ("positive --neg
  negative"), not interpolated; animation_prompts_positive/negative are not added to it
  (Deforum composes them into the settings' own prompts only); backtick math still applies.
- parseq_non_schedule_overrides (on by default) sets max_frames to the number of rendered
  frames, diffusion_cadence to options.cadence and fps to options.output_fps where those are
  set and not 0; off, the settings' own apply.
- render.py sets flip_2d_perspective under Parseq, a name nothing has read since it became
  enable_perspective_flip: the perspective flip stays as the settings say.

The pack writes each column it can use as the schedule text of its settings key before the
settings are read, a keyframe for every frame (a run of equal values as its first and last
frame, which linear interpolation keeps exact), so every frame evaluates to the manifest's
value; the prompts likewise, one prompt key at each end of a run of equal prompts. Fields
the pack cannot use are reported, each with its reason.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..expression import MAX_TEXT_LENGTH
from ..params import params_of
from ..prompts import PromptTexts
from .context import SCHEDULE_SWITCHES, ImportContext
from .features import IGNORED_KEYS, feature_of
from .parseq_manifest import KEY, PROMPT_FIELD, ParseqManifest, locate_manifest
from .reading import SettingsFileError
from .report import DEFAULTED, IGNORED, MAPPED, TAKEN, UNSUPPORTED, ReportLine

MOTION_FIELDS = ("angle", "zoom", "translation_x", "translation_y", "translation_z",
                 "rotation_3d_x", "rotation_3d_y", "rotation_3d_z", "perspective_flip_theta",
                 "perspective_flip_phi", "perspective_flip_gamma")  # fmt: skip
RENAMED = {
    "noise": "noise_schedule", "strength": "strength_schedule", "contrast": "contrast_schedule",
    "scale": "cfg_scale_schedule", "seed": "seed_schedule", "fov": "fov_schedule",
    "near": "near_schedule", "far": "far_schedule", "subseed": "subseed_schedule",
    "subseed_strength": "subseed_strength_schedule", "antiblur_kernel": "kernel_schedule",
    "antiblur_sigma": "sigma_schedule", "antiblur_amount": "amount_schedule",
    "antiblur_threshold": "threshold_schedule", "guided_blendFactorMax": "blendFactorMax",
    "guided_blendFactorSlope": "blendFactorSlope",
    "guided_tweening_frames": "tweening_frames_schedule",
    "guided_color_correction_factor": "color_correction_factor",
}  # fmt: skip
SAME_NAME = frozenset({
    *MOTION_FIELDS, "perspective_flip_fv", "steps_schedule", "transform_center_x",
    "transform_center_y",
    *(f"cn_{unit}_{part}" for unit in range(1, 6)
      for part in ("weight", "guidance_start", "guidance_end")),
})  # fmt: skip
WITH_SCHEDULE_SUFFIX = frozenset({
    "noise_multiplier", "clipskip", "aspect_ratio", "cadence_flow_factor", "redo_flow_factor",
    "hybrid_comp_alpha", "hybrid_comp_mask_blend_alpha", "hybrid_comp_mask_contrast",
    "hybrid_comp_mask_auto_contrast_cutoff_low", "hybrid_comp_mask_auto_contrast_cutoff_high",
    "hybrid_flow_factor", "ddim_eta", "ancestral_eta", "pix2pix_img_cfg_scale",
})  # fmt: skip
HELPER_SUFFIXES = ("_delta", "_pc")


def settings_key(parseq_field: str) -> str | None:
    """The settings key whose per-frame values Deforum takes from a Parseq field, or None
    for a field Deforum does not read."""
    if parseq_field in SAME_NAME:
        return parseq_field
    if parseq_field in WITH_SCHEDULE_SUFFIX:
        return f"{parseq_field}_schedule"
    return RENAMED.get(parseq_field)


@dataclass(frozen=True)
class ParseqApplied:
    """A manifest's part in an import: its file (None for one written into the settings)
    and its frame count."""

    path: Path | None
    frames: int


@dataclass
class ParseqImport:
    """A manifest applied to an import. Its report lines are written once the import knows
    which keys its mode read (note_lines); `blocker` says why the render cannot go on."""

    applied: ParseqApplied | None = None
    blocker: str | None = None
    lines: list[ReportLine] = field(default_factory=list)
    scheduled: list[tuple[str, str]] = field(default_factory=list)  # (key, where from)

    def note_lines(self, context: ImportContext, is_read: Callable[[str], bool]) -> None:
        """Write the lines over the import's own; a scheduled key is reported unused where
        a switch that is off dropped it, or the mode reads no such key (as in Deforum)."""
        mode = context.get("animation_mode", "None")
        for key, detail in self.scheduled:
            if key not in context.written:  # popped by its switch (switch_schedules)
                switch = next(name for name, (keys, _) in SCHEDULE_SWITCHES.items() if key in keys)
                _write(context, key, IGNORED, f"{detail}, unused: {switch} is off, as in Deforum")
            elif not is_read(key):
                _write(context, key, IGNORED, f"{detail}, unused in animation_mode {mode}")
            else:
                _write(context, key, MAPPED, detail)
        for line in self.lines:
            _write(context, line.key, line.status, line.detail)


def _write(context: ImportContext, key: str, status: str, detail: str) -> None:
    shown = context.renamed.get(key, key)
    line = ReportLine(shown, status, detail)
    if shown in context.file_keys:
        context.lines[shown] = line
    else:
        context.extra_lines.append(line)


def import_parseq(
    context: ImportContext, mode: str, folder: Path | None, known: Callable[[str], bool]
) -> ParseqImport | None:
    """Apply the settings' Parseq manifest, if any, to context.written before the settings
    are read: folder is the settings file's (see locate_manifest); known(key) says whether
    the pack reads a settings key."""
    value = context.written.get(KEY)
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    result = ParseqImport()
    if mode == "None":
        why = "Deforum reads no Parseq manifest in animation_mode None"
        for key in (KEY, "parseq_use_deltas", "parseq_non_schedule_overrides"):
            if context.has(key):
                result.lines.append(ReportLine(key, IGNORED, why))
        return result
    use_deltas = context.flag("parseq_use_deltas", True)
    overrides = context.flag("parseq_non_schedule_overrides", True)
    found = locate_manifest(value, folder, context.source)
    if found.manifest is None:
        result.blocker = f"Parseq: {found.problem}"
        result.lines.append(ReportLine(KEY, UNSUPPORTED, found.problem))
        return result
    manifest = found.manifest
    count = len(manifest.frames)
    result.lines.append(ReportLine(KEY, TAKEN, f"{found.named}: {count} rendered frames"))
    _apply_columns(context, manifest, use_deltas, known, result)
    if "seed" in manifest.fields:
        _apply_seed(context, result)
    if PROMPT_FIELD in manifest.fields:
        _apply_prompts(context, manifest, result)
    if overrides:
        _apply_options(context, manifest, result)
    result.lines.append(_switch_line(context, "parseq_use_deltas", use_deltas, (
        "the motion fields from Parseq's *_delta columns", "the motion fields from Parseq's "
        "absolute values")))  # fmt: skip
    result.lines.append(_switch_line(context, "parseq_non_schedule_overrides", overrides, (
        "max_frames, cadence and fps from the manifest", "max_frames, cadence and fps are "
        "the settings' own")))  # fmt: skip
    result.applied = ParseqApplied(found.path, count)
    return result


def _switch_line(context: ImportContext, key: str, on: bool, what: tuple[str, str]) -> ReportLine:
    detail = f"on: {what[0]}" if on else f"off: {what[1]}"
    if context.has(key):
        return ReportLine(key, TAKEN, detail)
    return ReportLine(key, DEFAULTED, f"{detail} ({context.dialect_words} default)")


def _apply_columns(
    context: ImportContext,
    manifest: ParseqManifest,
    use_deltas: bool,
    known: Callable[[str], bool],
    result: ParseqImport,
) -> None:
    """Each field's column as its settings key's schedule; a line for every other field."""
    count = len(manifest.frames)
    for name in manifest.fields:
        if name == PROMPT_FIELD or name.endswith(HELPER_SUFFIXES):
            continue
        key = settings_key(name)
        column = f"{name}_delta" if use_deltas and name in MOTION_FIELDS else name
        if key is None:
            result.lines.append(ReportLine(f"(parseq) {name}", IGNORED,
                                           "not a field Deforum reads"))  # fmt: skip
        elif column not in manifest.fields:
            result.lines.append(ReportLine(f"(parseq) {name}", IGNORED, (
                f"no {column} column: {key} is the settings' own, as in Deforum with "
                "parseq_use_deltas on")))  # fmt: skip
        elif not known(key):
            result.lines.append(_unusable(key, f"from Parseq ({count} frames)"))
        else:
            context.written[key] = schedule_text(manifest.column(column), key)
            shown = "" if column == name else f" of {column}"
            result.scheduled.append((key, f"from Parseq ({count} frames{shown})"))


def _unusable(key: str, detail: str) -> ReportLine:
    if key in IGNORED_KEYS:
        return ReportLine(key, IGNORED, f"{detail}, no effect: {IGNORED_KEYS[key]}")
    feature = feature_of(key)
    what = feature.name if feature else "a setting the pack does not read"
    return ReportLine(key, UNSUPPORTED, f"{detail}, which the pack cannot use: {what}")


def _apply_seed(context: ImportContext, result: ParseqImport) -> None:
    """Parseq's seeds rule every frame, with the variation seeds switched on."""
    context.written["seed_behavior"] = "schedule"
    context.written["enable_subseed_scheduling"] = True
    result.lines += [
        ReportLine("seed_behavior", MAPPED, "schedule: Parseq sets every frame's seed"),
        ReportLine("enable_subseed_scheduling", MAPPED,
                   "on: Deforum reads the variation seeds when Parseq sets the seed"),
    ]  # fmt: skip


def _apply_prompts(context: ImportContext, manifest: ParseqManifest, result: ParseqImport) -> None:
    """Each frame's deforum_prompt as the prompts, with no global text added."""
    key = "animation_prompts" if context.has("animation_prompts") else "prompts"
    texts = manifest.column(PROMPT_FIELD)
    context.written[key] = {str(frame): texts[frame] for frame in _ends_of_runs(texts)}
    detail = f"from Parseq ({len(texts)} frames), each frame's deforum_prompt as it is"
    result.lines.append(ReportLine(key, MAPPED, detail))
    for declared in params_of(PromptTexts):
        if declared.name == "prompts":
            continue
        names = (declared.deforum_key, *declared.aliases)
        for name in [name for name in names if context.has(name)] or names[:1]:
            context.written[name] = ""
            result.lines.append(ReportLine(name, IGNORED, "Deforum adds no global text to "
                                           "Parseq's prompts"))  # fmt: skip


def _apply_options(context: ImportContext, manifest: ParseqManifest, result: ParseqImport) -> None:
    """max_frames, and the cadence and fps the manifest sets (parseq_non_schedule_overrides)."""
    values = {"max_frames": (len(manifest.frames), "its number of rendered frames"),
              "diffusion_cadence": (manifest.cadence, "its options.cadence"),
              "fps": (manifest.fps, "its options.output_fps")}  # fmt: skip
    for key, (value, what) in values.items():
        if value is not None:
            context.written[key] = value
            shown = f"{value:g}" if isinstance(value, float) else value
            result.lines.append(ReportLine(key, MAPPED, f"{shown} from the Parseq manifest, "
                                           f"{what}"))  # fmt: skip


def _ends_of_runs(values: Sequence[Any]) -> list[int]:
    """The frames that begin or end a run of equal values."""
    last = len(values) - 1
    return [
        frame
        for frame, value in enumerate(values)
        if frame in (0, last) or value != values[frame - 1] or value != values[frame + 1]
    ]


def schedule_text(values: Sequence[float], key: str = "value") -> str:
    """Keyframes giving values[i] at frame i: a key at each end of a run of equal values
    (linear interpolation between equal ends is exact) and at every other frame."""
    text = ", ".join(f"{frame}:({_number(values[frame])})" for frame in _ends_of_runs(values))
    if len(text) > MAX_TEXT_LENGTH:
        raise SettingsFileError(
            f"Parseq's values for {key} change on so many frames that their keyframes take "
            f"{len(text):,} characters, more than a schedule holds ({MAX_TEXT_LENGTH:,})",
            parameter=key, hint="render fewer frames in Parseq, or leave this field unmanaged",
        )  # fmt: skip
    return text


def _number(value: float) -> str:
    """The number as the schedule parser reads it back exactly."""
    return str(value) if isinstance(value, int) else repr(float(value))
