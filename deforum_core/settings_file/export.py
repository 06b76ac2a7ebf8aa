"""A run's settings as an sd-webui-deforum settings file that imports back to the same render.

The run's record (settings.json: the animation's parameters, every stage's, the diffuser's
and the depth model's) is written over sd-webui-deforum's own defaults under Deforum's keys,
so the file is a complete A-dialect file. What Deforum has no key for (the pack's camera
choice, 2D sampling, occlusion, the colour reference refresh) goes into one extra key,
`deforum_comfy`, which Deforum ignores and the import reads back.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..diffusion.sampler_names import webui_label, webui_label_of_comfy
from ..diffusion.sampler_schedule import beside_scheduler_key, parse_sampler_schedule
from ..files import atomic_write
from ..hybrid.stage import HybridStage
from ..keyframes import parse_schedule
from ..modes import InterpolationStage
from ..params import params_of
from ..prompts import PromptTexts
from ..render.rundir import SETTINGS_FILE, RunDirectory, RunDirectoryError
from ..render.settings import AnimationSettings
from ..stages import ColorCoherenceStage, EnhanceStage, Motion2DStage, Motion3DStage, NoiseStage
from ..stages.optical_flow import OpticalFlowStage
from .context import PACK_KEY, TABLE_NAMES
from .defaults import A_DEFAULTS
from .reading import SettingsFileError

STAGE_TABLES = {
    "motion": (Motion2DStage, Motion3DStage),
    "color_coherence": (ColorCoherenceStage,),
    "enhance": (EnhanceStage,),
    "noise": (NoiseStage,),
    "interpolation": (InterpolationStage,),
    "hybrid": (HybridStage,),
    "optical_flow": (OpticalFlowStage,),
}
# Deforum keys whose pack value Deforum spells otherwise.
DEFORUM_SPELLING = {("noise_type", "gaussian"): "uniform"}


SCHEDULED_IN_THE_PACK = (
    "enable_steps_scheduling",
    "enable_noise_multiplier_scheduling",
    "enable_subseed_scheduling",
    "enable_clipskip_scheduling",
)


def export_settings(
    record: Mapping[str, Any],
    *,
    init_image: str = "",
    color_image: str = "",
    batch_name: str = "deforum",
) -> tuple[dict, list[str]]:
    """The A-dialect settings of a run's record, and notes on what the file cannot carry.

    A record holds digests of the init picture and the colour image, not their files:
    init_image and color_image name those files (in the input folder) when the run had them;
    batch_name is the run's name, which an imported run's folder is named after.
    """
    if "animation_mode" not in record or "stages" not in record:
        raise SettingsFileError(
            "this is not a run's settings.json (it lacks animation_mode or stages)",
            hint="export the settings.json of a Deforum run folder",
        )
    settings = {**A_DEFAULTS, "batch_name": batch_name}
    pack: dict[str, dict[str, Any]] = {}
    notes: list[str] = []
    _write_table(settings, pack, AnimationSettings, record)
    for switch in SCHEDULED_IN_THE_PACK:  # these are schedules in the pack, always in force
        settings[switch] = True
    settings["enable_sampler_scheduling"] = bool(settings["sampler_schedule"])
    if not settings["sampler_schedule"]:  # empty in the pack: the diffuser's own sampler
        settings["sampler_schedule"] = A_DEFAULTS["sampler_schedule"]
    stages = record["stages"]
    _write_prompts(settings, stages["prompts"])
    for name, tables in STAGE_TABLES.items():
        stage = stages.get(name)
        if stage is None:
            continue
        (table,) = [t for t in tables if stage.get("type", TABLE_NAMES[t]) == TABLE_NAMES[t]]
        _write_table(settings, pack, table, stage)
    if stages.get("color_coherence") is None:
        settings["color_coherence"] = "None"
    elif stages["color_coherence"].get("color_coherence") == "Image":
        settings["color_coherence_image_path"] = color_image
        if not color_image:
            notes.append("color_coherence Image: set color_coherence_image_path to the colour "
                         "image's file name")  # fmt: skip
    coherence = stages.get("color_coherence") or {}
    settings["legacy_colormatch"] = not coherence.get("match_after_diffusion", False)
    _write_hybrid_video(settings, stages.get("hybrid"), notes)
    _write_depth(settings, stages.get("depth_model"))
    _write_diffuser(settings, record.get("diffuser"), notes)
    _write_init(settings, record.get("init_image"), init_image, notes)
    if stages.get("interpolation") is not None and settings["use_init"]:
        _write_interpolation_strength(settings, record, notes)
    settings[PACK_KEY] = pack
    return settings, notes


def export_run(
    run_dir: Path, path: Path, *, init_image: str | None = None, color_image: str | None = None
) -> list[str]:
    """Write the settings of the run in run_dir to path (see export_settings, whose notes
    are returned); batch_name is the run's name, its folder's less the number."""
    record = RunDirectory(run_dir).read_json(SETTINGS_FILE)
    if record is None:
        raise RunDirectoryError(
            f"{run_dir} has no {SETTINGS_FILE}",
            hint="give the folder of a Deforum run (output/deforum/<run_name>_NNNN)",
        )
    run_name = re.sub(r"_\d{4,}$", "", Path(run_dir).resolve().name)
    settings, notes = export_settings(record, init_image=init_image, color_image=color_image,
                                      batch_name=run_name)  # fmt: skip
    atomic_write(path, settings_text(settings).encode("utf-8"))
    return notes


def settings_text(settings: Mapping[str, Any]) -> str:
    """The file's text, as sd-webui-deforum writes it (JSON, indent 4, UTF-8 as is)."""
    return json.dumps(settings, ensure_ascii=False, indent=4)


def _write_table(settings: dict, pack: dict, table: type, values: Mapping[str, Any]) -> None:
    """A table's values under their Deforum keys (the pack's own in its block); a parameter
    appended after the record was written rendered with its default, which is written."""
    for declared in params_of(table):
        if declared.name in values:
            value = values[declared.name]
        elif declared.appended and declared.deforum_key:
            value = declared.default
        else:
            continue
        if declared.deforum_key is None:
            pack.setdefault(TABLE_NAMES[table], {})[declared.name] = value
        else:
            settings[declared.deforum_key] = DEFORUM_SPELLING.get((declared.deforum_key, value),
                                                                  value)  # fmt: skip


def _write_hybrid_video(settings: dict, hybrid: Mapping[str, Any] | None, notes: list[str]) -> None:
    """The hybrid video's file and selection (Deforum's video_init_path and extract_*)."""
    if hybrid is None:
        return
    video = hybrid["video"]
    for key in ("extract_nth_frame", "extract_from_frame", "extract_to_frame"):
        settings[key] = video[key]
    if video.get("type") == "VideoFile":
        settings["video_init_path"] = video["file"]
    else:
        notes.append("hybrid video: set video_init_path to the video's file name (the run "
                     "took its frames from an IMAGE batch)")  # fmt: skip


def _write_prompts(settings: dict, prompts: Mapping[str, Any]) -> None:
    settings["prompts"] = dict(prompts["keys"])
    names = {declared.name: declared for declared in params_of(PromptTexts)}
    for name in ("positive", "negative"):
        declared = names[name]
        settings[declared.deforum_key] = prompts[name]
        for alias in declared.aliases:  # the newer name sd-webui-deforum saves as well
            settings[alias] = prompts[name]


def _write_depth(settings: dict, depth: Mapping[str, Any] | None) -> None:
    if depth is None:
        return
    flat = depth.get("type") == "FlatDepth"
    settings["use_depth_warping"] = not flat
    if not flat:
        settings["depth_algorithm"] = depth["model_type"]


def _write_diffuser(settings: dict, diffuser: Mapping[str, Any] | None, notes: list) -> None:
    if diffuser is None:
        settings["motion_preview_mode"] = True
        notes.append("the run was a motion preview: motion_preview_mode is on")
        return
    settings["motion_preview_mode"] = False
    if diffuser.get("backend") == "diffusers":
        settings["sampler"] = webui_label(diffuser["sampler"]) or diffuser["sampler"]
    else:  # the pack reads these first; webui reads the label
        settings["sampler_name"] = diffuser["sampler"]
        settings["scheduler"] = diffuser["scheduler"]
        label = webui_label_of_comfy(diffuser["sampler"], diffuser["scheduler"])
        if label is None:
            kept = settings["sampler"]
            notes.append(f"webui has no sampler like ComfyUI's {diffuser['sampler']}: "
                         f"sampler is left at {kept!r} for Deforum itself")  # fmt: skip
        else:
            settings["sampler"] = label
        if settings["enable_sampler_scheduling"]:
            schedule = parse_sampler_schedule(settings["sampler_schedule"])
            settings["sampler_schedule"] = beside_scheduler_key(schedule, diffuser["scheduler"],
                                                                keep=True)  # fmt: skip
    if diffuser.get("model_file"):
        settings["sd_model_name"] = diffuser["model_file"]


def _write_init(settings: dict, digest: str | None, name: str, notes: list) -> None:
    settings["use_init"] = bool(name)
    settings["init_image"] = name or None
    if digest is not None and not name:
        notes.append("the run's init image has no file name here: use_init is off; set "
                     "init_image and use_init in the file to start from it")  # fmt: skip


def _write_interpolation_strength(settings: dict, record: Mapping[str, Any], notes: list) -> None:
    """Deforum's Interpolation starts every frame from the init image at `strength`, the
    pack's at the strength schedule's value: a constant schedule is written as strength."""
    schedule = parse_schedule(record["strength_schedule"], name="strength_schedule")
    values = set(
        schedule.evaluate(
            record["max_frames"], seed=record.get("base_seed", 0), fps=record.get("fps", 15.0)
        )
    )
    if len(values) == 1:
        settings["strength"] = values.pop()
    else:
        notes.append(
            "Interpolation with an init image: Deforum starts every frame at one strength; "
            "this run's strength_schedule varies, which it cannot follow"
        )
