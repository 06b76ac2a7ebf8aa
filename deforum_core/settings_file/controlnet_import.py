"""sd-webui-deforum's ControlNet units (cn_1_* .. cn_5_*) in an imported settings file.

Each enabled unit becomes a ControlNetChoice: the ControlUnit's settings, the model as the
file names it ("control_v11f1p_sd15_depth [cbe4e6ee]") and the hint's file. When the render
starts (ControlNetChoice.build, called by the node that has ComfyUI's model folders) the
model is looked up in models/controlnet by its name without the hash, and a unit whose model
is not there is left out with a report line. What Deforum does is kept:
- cn_N_loopback_mode: the hint is the frame as prepared for diffusion (Deforum's
  init_sample); without it, cn_N_vid_path is the hint, frame k for frame k (a picture file:
  the same picture for every frame), read as the Video Input video is in that mode and from
  frame 0 otherwise; with neither, the webui's ControlNet reads the img2img input, which is
  again the prepared frame, so such a unit is a loopback unit;
- cn_N_module none, canny (cn_N_threshold_a and _b are its thresholds) and the depth
  preprocessors (with the render's depth model) are read; tile_resample passes the picture
  through; a preprocessor that needs weights of its own (openpose, lineart, ...) leaves its
  unit out, reported, since a raw frame is not what such a ControlNet was trained on;
- weight and guidance schedules, and the control mode.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from ..controlnet.hint import BALANCED, CONTROLNET, PROMPT
from ..controlnet.unit import IMAGE, LOOPBACK, VIDEO, ControlUnit
from ..errors import DeforumError
from ..params import param_of
from ..render.rundir import read_image
from ..video_source import FrameSelection, VideoFile
from .context import ImportContext
from .reading import SettingsFileError
from .references import FileReference, resolve_reference
from .report import IGNORED, MAPPED, TAKEN, UNSUPPORTED, ReportLine
from .values import to_bool, to_int, to_schedule, to_text
from .video_import import VideoChoice

UNIT_KEY = re.compile(r"^cn_(\d+)_")
FOLDER = "models/controlnet"
CONTROL_MODES = {"Balanced": BALANCED, "My prompt is more important": PROMPT,
                 "ControlNet is more important": CONTROLNET, 0: BALANCED, 1: PROMPT,
                 2: CONTROLNET}  # fmt: skip
PICTURE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp")  # Deforum copies these as one frame
_FRAME_SIZE = "the preprocessor works on the frame at the frame size"
IGNORED_PARTS = {
    "low_vram": "ComfyUI and diffusers manage the memory",
    "pixel_perfect": _FRAME_SIZE,
    "processor_res": _FRAME_SIZE,
    "overwrite_frames": "the pack decodes the hint video as it renders; nothing is extracted",
    "mask_vid_path": "Deforum's ControlNet masks are hidden in its UI: they do not work",
}
ALL_FRAMES = FrameSelection()  # a hint video outside Video Input mode: from its frame 0
HASH = re.compile(r"\s*\[[0-9a-fA-F]+\]\s*$")


@dataclass(frozen=True)
class ControlNetChoice:
    """One enabled unit as the file sets it (see the module docstring)."""

    unit: str  # "cn_2"
    model: str  # as the file names it, hash and all
    fields: dict[str, Any]  # ControlUnit's settings
    hint: FileReference | None = None  # cn_N_vid_path: a video, or a picture
    selection: FrameSelection = ALL_FRAMES

    @property
    def model_name(self) -> str:
        """The model's name without A1111's hash: the stem of its file."""
        return HASH.sub("", self.model).strip()

    def model_file(self, files: Sequence[str]) -> str | None:
        """The file of models/controlnet (as ComfyUI lists them) named like the model, any
        extension and subfolder, case aside; None when there is none."""
        wanted = self.model_name.lower()
        named = sorted(
            f for f in files if PurePosixPath(f.replace("\\", "/")).stem.lower() == wanted
        )
        return named[0] if named and wanted not in ("", "none") else None

    def build(
        self,
        files: Sequence[str],
        load_model: Callable[[str], Any],
        *,
        depth_model: Any,
        folders: Sequence[Path],
        where: str,
        notes: list[ReportLine],
    ) -> ControlUnit | None:
        """The unit, with its model loaded by load_model(file) and its hint read from
        folders; None, with a line in notes, when its model (or depth) is missing."""
        file = self.model_file(files)
        if file is None:
            notes.append(ReportLine(self.unit, IGNORED, f"no file in {FOLDER} matches "
                                    f"{self.model}: the unit is left out"))  # fmt: skip
            return None
        depth = None
        if self.fields["preprocessor"] == "depth":
            if not callable(getattr(depth_model, "image", None)):
                notes.append(ReportLine(self.unit, IGNORED, "its depth preprocessor needs a "
                                        "depth model: the unit is left out"))  # fmt: skip
                return None
            depth = depth_model
        video = images = None
        if self.hint is not None:
            path = resolve_reference(self.hint, folders, where)
            if self.fields["hint_source"] == IMAGE:
                images = read_image(path)
            else:
                video = VideoFile(path, self.selection)
        return ControlUnit(**self.fields, model=load_model(file), video=video, images=images,
                           depth_model=depth)  # fmt: skip


def import_controlnet(
    context: ImportContext, video: VideoChoice | None = None
) -> tuple[ControlNetChoice, ...]:
    """The file's enabled units; their hint videos are read as Video Input's `video` is
    (its extract_* selection), or from frame 0 without one. With no unit on, the keys are
    left to features.py."""
    selection = ALL_FRAMES if video is None else video.selection
    numbers = sorted({int(m.group(1)) for key in context.written if (m := UNIT_KEY.match(key))})
    enabled = [n for n in numbers if _enabled(context, n)]
    if not enabled:
        return ()
    for key in context.file_keys:
        found = UNIT_KEY.match(key)
        if found and int(found.group(1)) not in enabled:
            context.note(key, IGNORED, f"cn_{found.group(1)} is off")
    choices = [_unit(context, f"cn_{n}", selection) for n in enabled]
    return tuple(choice for choice in choices if choice is not None)


def _enabled(context: ImportContext, number: int) -> bool:
    key = f"cn_{number}_enabled"
    return context.has(key) and to_bool(context.get(key), key)[0]


def _unit(context: ImportContext, unit: str, selection: FrameSelection) -> ControlNetChoice | None:
    context.note(f"{unit}_enabled", TAKEN)
    model, _ = to_text(context.get(f"{unit}_model", "None"), f"{unit}_model")
    _note(context, f"{unit}_model", TAKEN, f"looked up in {FOLDER} by name when rendering")
    preprocessor = _preprocessor(context, unit)
    if preprocessor is None:
        for key in _keys(context, unit):
            if key != f"{unit}_module":
                context.note(key, IGNORED, f"{unit} is left out: see {unit}_module")
        return None
    fields: dict[str, Any] = {"preprocessor": preprocessor}
    for name in ("weight", "guidance_start", "guidance_end"):
        fields[name] = _schedule(context, unit, name)
    fields["control_mode"] = _control_mode(context, unit)
    fields.update(_thresholds(context, unit, preprocessor))
    hint = _hint(context, unit)
    fields["hint_source"] = _hint_source(hint)
    resize = f"{unit}_resize_mode"
    if str(context.get(resize, "Just Resize")) == "Just Resize":
        _note(context, resize, TAKEN)
    else:
        _note(context, resize, MAPPED, "the hint is stretched to the frame size (Just Resize)")
    for name, why in IGNORED_PARTS.items():
        _note(context, f"{unit}_{name}", IGNORED, why)
    for key in _keys(context, unit):
        if key not in context.lines:
            context.note(key, IGNORED, "not a ControlNet setting the pack knows")
    return ControlNetChoice(unit, model, fields, hint, selection)


def _keys(context: ImportContext, unit: str) -> list[str]:
    return [key for key in context.file_keys if key.startswith(f"{unit}_")]


def _note(context: ImportContext, key: str, status: str, detail: str = "") -> None:
    if context.has(key):
        context.note(key, status, detail)


def _preprocessor(context: ImportContext, unit: str) -> str | None:
    key = f"{unit}_module"
    module, _ = to_text(context.get(key, "none"), key)
    if module in ("none", "canny"):
        _note(context, key, TAKEN)
        return module
    if module.startswith("depth"):
        _note(context, key, MAPPED, f"{module}: depth from the render's depth model")
        return "depth"
    if module == "tile_resample":
        _note(context, key, MAPPED, "none: tile_resample passes the picture through")
        return "none"
    _note(context, key, UNSUPPORTED, f"the {module} preprocessor needs weights of its own, "
          f"so {unit} is left out (give its hints as images to a Deforum ControlNet)")  # fmt: skip
    return None


def _schedule(context: ImportContext, unit: str, name: str) -> str:
    key = f"{unit}_{name}"
    declared = param_of(ControlUnit, name)
    text, conversion = to_schedule(context.get(key, declared.default), key)
    try:
        declared.check(text)
    except DeforumError as error:
        raise SettingsFileError(error.reason, parameter=key, hint=error.hint) from None
    _note(context, key, MAPPED if conversion else TAKEN, conversion)
    return text


def _control_mode(context: ImportContext, unit: str) -> str:
    key = f"{unit}_control_mode"
    written = context.get(key, "Balanced")
    mode = CONTROL_MODES.get(written) if isinstance(written, str | int) else None
    if mode is None:
        raise SettingsFileError(
            f"unknown control mode {written!r}",
            parameter=key,
            hint=f"use one of {', '.join(list(CONTROL_MODES)[:3])}",
        )
    _note(context, key, MAPPED, f"{written!r} read as {mode}")
    return mode


def _thresholds(context: ImportContext, unit: str, preprocessor: str) -> dict[str, int]:
    keys = {"canny_low": f"{unit}_threshold_a", "canny_high": f"{unit}_threshold_b"}
    if preprocessor != "canny":
        for key in keys.values():
            _note(context, key, IGNORED, "a threshold of the canny preprocessor only")
        return {}
    fields = {}
    for name, key in keys.items():
        declared = param_of(ControlUnit, name)
        value, _ = to_int(context.get(key, declared.default), key)
        if not declared.admits(value):
            raise SettingsFileError(
                f"{value} is outside {declared.bounds_text()}",
                parameter=key,
                hint="Canny's thresholds lie in 0..255",
            )
        _note(context, key, MAPPED, f"{name} {value}")
        fields[name] = value
    return fields


def _hint(context: ImportContext, unit: str) -> FileReference | None:
    """cn_N_vid_path, unless loopback mode makes the frame itself the hint."""
    loop_key, path_key = f"{unit}_loopback_mode", f"{unit}_vid_path"
    loopback, conversion = to_bool(context.get(loop_key, False), loop_key)
    path, _ = to_text(context.get(path_key, ""), path_key)
    path = path.strip().strip("'\"")  # as Deforum cleans the path the webui's box gave
    if loopback:
        _note(context, loop_key, MAPPED if conversion else TAKEN, "the hint is the prepared frame")
        _note(context, path_key, IGNORED, "loopback mode is on")
        return None
    if not path:
        _note(context, loop_key, MAPPED, "on: without a video the webui's ControlNet reads the "
              "img2img input, the prepared frame")  # fmt: skip
        _note(context, path_key, TAKEN, "empty")
        return None
    _note(context, loop_key, TAKEN)
    _note(context, path_key, TAKEN, "the hint video (or picture)")
    return FileReference(path_key, path, "ControlNet hint")


def _hint_source(hint: FileReference | None) -> str:
    if hint is None:
        return LOOPBACK
    return IMAGE if hint.file_name.lower().endswith(PICTURE_SUFFIXES) else VIDEO
