"""A Deforum settings file as the pack's own settings and stages, with a report of every key.

`import_settings` takes the parsed file (reading.py) and gives ImportedSettings: the
animation settings, prompt texts and stages (context.py, prompt_import.py, stage_import.py,
run_import.py; a Parseq manifest's frames first written over the file's keys by
parseq_import.py), the files the render needs (references.py, found by the caller), and one
report line per key of the file (report.py), with the keys the pack does not render said to
be ignored or not supported yet (features.py). A mode the pack cannot render yet (none
today: UNRENDERED_MODES) still gives the report, with `blocker` saying why it cannot render.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from ..hybrid.stage import HybridStage
from ..modes import MODE_NAMES, InterpolationStage
from ..params import params_of
from ..prompts import PromptTexts
from ..render.settings import AnimationSettings
from ..stages import ColorCoherenceStage, EnhanceStage, Motion2DStage, Motion3DStage, NoiseStage
from ..stages.optical_flow import OpticalFlowStage
from .context import ImportContext
from .controlnet_import import UNIT_KEY, ControlNetChoice, import_controlnet
from .features import IGNORED_KEYS, feature_of
from .hybrid_import import HybridChoice, import_hybrid, import_optical_flow
from .interpolation_import import import_interpolation, init_strength_schedule, with_frame_count
from .mask_import import MaskChoice, import_mask
from .parseq_import import ParseqApplied, ParseqImport, import_parseq
from .prompt_import import import_prompts
from .reading import SettingsFileError, is_parseq_document
from .references import FileReference
from .report import IGNORED, MAPPED, TAKEN, UNSUPPORTED, ReportLine
from .run_import import (
    OutputOptions,
    import_init_image,
    import_output,
    import_sampler,
    import_sampler_schedule,
    import_subseed,
)
from .stage_import import DepthChoice, import_stages
from .values import to_int
from .video_import import VideoChoice, import_video

SIZE_MULTIPLE = {"N": 64, "L": 64, "A": 8}  # each dialect rounds W and H down to a multiple
MIN_SIDE = 64
UNRENDERED_MODES: tuple[str, ...] = ()
STAGE_TABLES = (Motion2DStage, Motion3DStage, ColorCoherenceStage, EnhanceStage, NoiseStage,
                InterpolationStage, HybridStage, OpticalFlowStage)  # fmt: skip


@dataclass(frozen=True)
class ImportedSettings:
    """A settings file imported: the report, and (unless `blocker` says why not) the pack's
    settings and stages for it. `references` are the files the render needs."""

    source: str
    dialect: str
    report: tuple[ReportLine, ...] = ()
    blocker: str | None = None
    animation: AnimationSettings | None = None
    prompts: PromptTexts | None = None
    motion: Motion2DStage | Motion3DStage | None = None
    color_coherence: dict[str, Any] | None = None  # ColorCoherenceStage's fields, less image
    enhance: EnhanceStage | None = None
    noise: NoiseStage | None = None
    depth: DepthChoice | None = None
    sampler: Any = None  # a SamplerChoice
    video: VideoChoice | None = None  # mode Video Input's video
    interpolation: InterpolationStage | None = None  # mode Interpolation's settings
    hybrid: HybridChoice | None = None  # hybrid video (modes 2D and 3D)
    optical_flow: dict[str, Any] | None = None  # OpticalFlowStage's fields, less its model
    mask: MaskChoice | None = None
    init_image: FileReference | None = None
    color_image: FileReference | None = None
    output: OutputOptions | None = None
    motion_preview: bool = False
    references: tuple[FileReference, ...] = field(default=())
    parseq: ParseqApplied | None = None  # what a Parseq manifest set
    controlnet: tuple[ControlNetChoice, ...] = ()  # its cn_N units that are on

    def check_renderable(self) -> None:
        if self.blocker is not None:
            raise SettingsFileError(self.blocker, hint="see the import report")

    def with_overrides(
        self, *, max_frames: int | None = None, size: tuple[int, int] | None = None
    ) -> ImportedSettings:
        """The settings with a shorter render or another frame size, for a quick look."""
        self.check_renderable()
        changes: dict[str, Any] = {}
        if max_frames is not None:
            changes["max_frames"] = max_frames
        if size is not None:
            changes["width"], changes["height"] = size
        return replace(self, animation=replace(self.animation, **changes))

    def color_stage(self, image: Any = None) -> ColorCoherenceStage | None:
        """The colour coherence stage, with its image (mode Image) once the caller loaded it."""
        if self.color_coherence is None:
            return None
        return ColorCoherenceStage(**self.color_coherence, image=image)


def import_settings(
    data: Mapping[str, Any], source: str, folder: Path | None = None
) -> ImportedSettings:
    """Import the parsed settings (reading.parse_settings_text) of the file named source;
    folder is the file's own, where a Parseq manifest it names by URL or path is looked for.
    A Parseq manifest itself imports onto sd-webui-deforum's defaults."""
    if is_parseq_document(data):
        data = {"parseq_manifest": dict(data)}
    context = ImportContext(dict(data), source)
    mode = _mode(context)
    if mode in UNRENDERED_MODES:
        blocker = (f"animation_mode {mode!r} is not supported yet (the pack renders "
                   f"{', '.join(MODE_NAMES)})")  # fmt: skip
        context.note("animation_mode", UNSUPPORTED, blocker)
        return _finish(context, ImportedSettings(source, context.dialect, blocker=blocker))
    parseq = import_parseq(context, mode, folder, _reads)
    context.switch_schedules()
    prompts = import_prompts(context, mode)
    special = {"width": _side(context, "W", "width"), "height": _side(context, "H", "height")}
    special.update(import_subseed(context))
    special.update(import_sampler_schedule(context))
    video = interpolation = None
    if mode == "Video Input":
        video, fixed = import_video(context)
        special.update(fixed)
    if mode == "Interpolation":
        interpolation = import_interpolation(context)
        special["diffusion_cadence"] = 1
    if prompts.stills is not None:
        special["max_frames"] = prompts.stills
        if context.has("max_frames"):
            why = f"mode None renders {prompts.stills} stills (prompts x n_batch)"
            context.note("max_frames", IGNORED, why)
    animation = AnimationSettings(**context.table(AnimationSettings, special))
    init_image = import_init_image(context)
    if interpolation is not None:
        animation = init_strength_schedule(context, animation, init_image)
        animation = with_frame_count(animation, prompts.texts, interpolation)
    imported = ImportedSettings(
        source,
        context.dialect,
        animation=animation,
        prompts=prompts.texts,
        init_image=init_image,
        output=import_output(context, animation.fps),
        motion_preview=context.flag("motion_preview_mode", False),
        sampler=import_sampler(context),
        video=video,
        interpolation=interpolation,
    )
    if mode in ("2D", "3D"):  # Deforum moves and prepares no frame in None and Video Input
        hybrid = import_hybrid(context)
        flow = import_optical_flow(context)
        stages = import_stages(context, mode, hybrid=hybrid)
        imported = replace(imported, **stages, hybrid=hybrid, optical_flow=flow)
    imported = replace(imported, mask=import_mask(context, imported.init_image))
    imported = replace(imported, controlnet=import_controlnet(context, video))
    return _finish(context, imported, parseq)


def _mode(context: ImportContext) -> str:
    mode = context.get("animation_mode", "None")
    known = (*MODE_NAMES, *UNRENDERED_MODES)
    if not isinstance(mode, str) or mode not in known:
        raise SettingsFileError(f"unknown animation_mode {mode!r}", parameter="animation_mode",
                                hint=f"use one of {', '.join(known)}")  # fmt: skip
    if context.has("animation_mode"):
        context.note("animation_mode", TAKEN)
    else:
        context.default_note("animation_mode", mode)
    return mode


def _side(context: ImportContext, key: str, alias: str) -> int:
    """A frame side rounded down as the dialect rounds it."""
    name = key if key in context.written or alias not in context.written else alias
    raw = context.get(name, context.defaults.get(key, context.defaults.get(alias, 512)))
    value, conversion = to_int(raw, name)
    multiple = SIZE_MULTIPLE[context.dialect]
    rounded = max(MIN_SIDE, value - value % multiple)
    if rounded != value:
        why = f"{context.dialect_words} rounds sizes down to multiples of {multiple}"
        context.note(name, MAPPED, f"{value} rounded down to {rounded}, as {why}")
    elif context.has(name):
        context.note(name, MAPPED if conversion else TAKEN, conversion)
    else:
        context.default_note(name, rounded)
    other = alias if name == key else key
    if context.has(other):
        context.note(other, IGNORED, f"superseded by {name}")
    return rounded


def _finish(
    context: ImportContext, imported: ImportedSettings, parseq: ParseqImport | None = None
) -> ImportedSettings:
    used = _tables_of(imported)
    if parseq is not None:
        units = {choice.unit for choice in imported.controlnet}
        parseq.note_lines(context, lambda key: _used(key, used, units))
    old_names = {old: new for new, old in context.renamed.items()}
    for key in context.file_keys:
        if key not in context.lines:
            line = _line_for(context, old_names.get(key, key), used, imported.blocker)
            context.lines[key] = replace(line, key=key)
    lines = [context.lines[key] for key in context.file_keys]
    video = imported.video.reference if imported.video else None
    hybrid = imported.hybrid.reference if imported.hybrid else None
    masks = [imported.mask.picture, imported.mask.video] if imported.mask else []
    named = (imported.init_image, imported.color_image, video, hybrid, *masks)
    references = [ref for ref in named if ref]
    if imported.output and imported.output.soundtrack:
        references.append(imported.output.soundtrack)
    if parseq is not None:  # its blocker leaves the lines above as the file reads
        imported = replace(imported, parseq=parseq.applied,
                           blocker=imported.blocker or parseq.blocker)  # fmt: skip
    return replace(
        imported,
        report=(*lines, *context.extra_lines),
        references=(*references, *context.references),
    )


def _line_for(
    context: ImportContext, key: str, used: list[type], blocker: str | None
) -> ReportLine:
    if key in IGNORED_KEYS:
        return ReportLine(key, IGNORED, IGNORED_KEYS[key])
    feature = feature_of(key)
    if feature is not None:
        if feature.used(context.written):
            return ReportLine(key, UNSUPPORTED, feature.name)
        return ReportLine(key, IGNORED, f"{feature.name} is off")
    owners = _OWNERS.get(key)
    if owners and blocker:
        return ReportLine(key, IGNORED, f"not read: {blocker}")
    if owners and not set(owners) & set(used):
        mode = context.get("animation_mode", "None")
        return ReportLine(key, IGNORED, f"not used in animation_mode {mode}")
    if owners:
        return ReportLine(key, IGNORED, "not read by the import")
    return ReportLine(key, IGNORED, "not a Deforum setting the pack knows")


def _tables_of(imported: ImportedSettings) -> list[type]:
    tables: list[type] = [AnimationSettings, PromptTexts]
    stages = (imported.motion, imported.enhance, imported.noise, imported.interpolation)
    tables += [type(stage) for stage in stages if stage]
    if imported.color_coherence is not None:
        tables.append(ColorCoherenceStage)
    if imported.hybrid is not None:
        tables.append(HybridStage)
    if imported.optical_flow is not None:
        tables.append(OpticalFlowStage)
    return tables


def _owners() -> dict[str, list[type]]:
    """Each Deforum key with the tables it sets, for the keys a mode does not use."""
    owners: dict[str, list[type]] = {}
    for table in (AnimationSettings, PromptTexts, *STAGE_TABLES):
        for declared in params_of(table):
            for key in filter(None, (declared.deforum_key, *declared.aliases)):
                owners.setdefault(key, []).append(table)
    for key in ("use_depth_warping", "depth_algorithm", "midas_weight"):
        owners[key] = [Motion3DStage]
    return owners


_OWNERS = _owners()


def _reads(key: str) -> bool:
    """Whether the pack reads a settings key: a parameter's, or a ControlNet unit's."""
    return key in _OWNERS or UNIT_KEY.match(key) is not None


def _used(key: str, tables: Iterable[str], units: set[str]) -> bool:
    """Whether the import used a key: its parameter table was made, or its unit is on."""
    unit = UNIT_KEY.match(key)
    if unit is not None:
        return unit.group(0).rstrip("_") in units
    return bool(set(_OWNERS.get(key, ())) & set(tables))
