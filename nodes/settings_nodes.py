"""Deforum settings files as nodes: load one (from ComfyUI's input folder or pasted) into the
pack's stages and render settings, and export a run's settings as a file Deforum reads."""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from deforum_core.errors import DeforumError
from deforum_core.render.run_folders import check_plain_name
from deforum_core.settings_file import (
    ImportedSettings,
    format_report,
    import_settings,
    parse_settings_text,
    read_settings_file,
)
from deforum_core.settings_file.export import export_run
from deforum_core.settings_file.loaded import LoadedSettings, find_files
from deforum_core.settings_file.reading import MAX_SETTINGS_CHARS

from .comfy_bridge import input_directory, input_files, resolve_input_file
from .widgets import MAX_FRAMES_LIMIT, queue_check

CATEGORY = "Deforum/settings"
NO_FILE = "none"
SETTINGS_SUFFIXES = (".txt", ".json")
PASTED = "pasted settings"
WHERE = "ComfyUI's input folder"
FILE_TOOLTIP = (
    "A .txt or .json settings file in ComfyUI's input folder (the upload button adds one), "
    "or a Parseq manifest (.json), which imports onto sd-webui-deforum's defaults."
)
TEXT = "Pasted settings (the file's JSON); used instead of settings_file when not empty."
FRAMES_TOOLTIP = "Render only this many frames, for a quick look; 0 keeps the file's."
SAMPLER_TOOLTIP = (
    "Render with the file's sampler (mapped to ComfyUI's or diffusers' names) instead of "
    "the diffuser node's own."
)


@dataclass(frozen=True)
class DeforumSettings:
    """What flows from Deforum Load Settings to Deforum Animate: the import with its files,
    and whether the render takes the file's sampler over the diffuser node's."""

    loaded: LoadedSettings
    use_file_sampler: bool

    def diffuser(self, diffuser):
        """The diffuser with the file's sampler when asked (backends without a choice of
        sampler are used as they are)."""
        with_sampler = getattr(diffuser, "with_sampler", None)
        if diffuser is None or not self.use_file_sampler or with_sampler is None:
            return diffuser
        return with_sampler(self.loaded.imported.sampler)


def settings_files() -> list[str]:
    """The settings files in ComfyUI's input folder (and its subfolders), for the combo."""
    return input_files(SETTINGS_SUFFIXES)


def _imported(settings_file: str, settings_text: str) -> ImportedSettings:
    """The pasted text when there is some, else the chosen file."""
    if settings_text.strip():
        if len(settings_text) > MAX_SETTINGS_CHARS:
            raise DeforumError(
                f"the pasted settings are {len(settings_text):,} characters, too long",
                parameter="settings_text", hint="paste one Deforum settings file",
            )  # fmt: skip
        return import_settings(parse_settings_text(settings_text, PASTED), PASTED)
    if settings_file in ("", NO_FILE):
        raise DeforumError(
            "no settings: choose a settings_file or paste settings_text",
            parameter="settings_file",
            hint="upload a deforum_settings.txt (or .json) into ComfyUI's input folder",
        )
    return read_settings_file(resolve_input_file(settings_file, parameter="settings_file"))


class DeforumLoadSettings:
    """A Deforum settings file (any dialect) as the pack's stages and render settings."""

    DESCRIPTION = (
        "Reads a Deforum settings file (sd-webui-deforum's deforum_settings.txt, the "
        "notebook's or run.py's) from ComfyUI's input folder, or pasted, into the render "
        "settings for Deforum Animate and a socket per stage, with a report of every key: "
        "taken, mapped, ignored, or not supported yet. Pictures it names are looked up in the "
        "input folder by name. A Parseq manifest, chosen itself or named by the file's "
        "parseq_manifest (a URL is matched to a .json beside the file by its document id; "
        "nothing is downloaded), sets the schedules and prompts it manages."
    )
    CATEGORY = CATEGORY
    SEARCH_ALIASES: ClassVar[list[str]] = [
        "settings file",
        "import",
        "deforum settings",
        "a1111",
        "load settings",
        "parseq",
    ]
    FUNCTION = "load"
    RETURN_TYPES = ("DEFORUM_SETTINGS", "DEFORUM_PROMPTS", "DEFORUM_MOTION", "DEFORUM_COLOR",
                    "DEFORUM_ENHANCE", "DEFORUM_NOISE", "STRING")  # fmt: skip
    RETURN_NAMES = ("settings", "prompts", "motion", "color_coherence", "enhance", "noise",
                    "report")  # fmt: skip
    OUTPUT_TOOLTIPS = (
        "For Deforum Animate's settings input: its frame count, size, seeds and schedules, "
        "the file's stages where Animate has none linked, init image and depth.",
        "The file's prompts, for Deforum Animate's prompts input.",
        "The file's 2D or 3D camera (none in animation_mode None).",
        "The file's colour coherence (none in animation_mode None).",
        "The file's contrast and anti-blur (none in animation_mode None).",
        "The file's noise (none in animation_mode None).",
        "The import report, one line per key of the file.",
    )

    @classmethod
    def INPUT_TYPES(cls):
        def size(side: str) -> tuple[str, dict]:
            tooltip = f"Another frame {side}, for a quick look; 0 keeps the file's."
            return ("INT", {"default": 0, "min": 0, "max": 8192, "step": 8, "tooltip": tooltip})

        return {
            "required": {
                "settings_file": (
                    [NO_FILE, *settings_files()],
                    {"default": NO_FILE, "tooltip": FILE_TOOLTIP},
                ),
                "settings_text": (
                    "STRING",
                    {
                        "default": "",
                        "multiline": True,
                        "dynamicPrompts": False,
                        "tooltip": TEXT,
                    },
                ),
                "max_frames": (
                    "INT",
                    {"default": 0, "min": 0, "max": MAX_FRAMES_LIMIT, "tooltip": FRAMES_TOOLTIP},
                ),
                "width": size("width"),
                "height": size("height"),
                "use_file_sampler": ("BOOLEAN", {"default": True, "tooltip": SAMPLER_TOOLTIP}),
            }
        }

    @queue_check
    def VALIDATE_INPUTS(cls, settings_text=None) -> None:
        """Pasted settings that are not Deforum settings are refused when queued."""
        if isinstance(settings_text, str) and settings_text.strip():
            _imported("", settings_text)

    @classmethod
    def IS_CHANGED(cls, settings_file=NO_FILE, settings_text="", **_inputs):
        """Loaded again when the file or a picture it names changed; every time when the
        seed is -1, which draws a new one (as Animate's own base_seed -1 does)."""
        try:
            imported = _imported(settings_file, settings_text)
            files = list(find_files(imported, [input_directory()], WHERE).values())
        except DeforumError:
            return ""  # the error is shown when the node runs
        if imported.animation is not None and imported.animation.base_seed == -1:
            return math.nan
        if imported.parseq is not None and imported.parseq.path is not None:
            files.append(imported.parseq.path)  # the manifest the file names
        if not settings_text.strip():
            files.insert(0, resolve_input_file(settings_file, parameter="settings_file"))
        digest = hashlib.sha256(settings_text.encode("utf-8"))
        for file in files:
            digest.update(file.read_bytes())
        return digest.hexdigest()

    def load(self, settings_file, settings_text, max_frames, width, height, use_file_sampler):
        imported = _imported(settings_file, settings_text)
        size = None
        if width or height:
            animation = imported.animation
            size = (width or animation.width, height or animation.height) if animation else None
        loaded = LoadedSettings.load(imported, [input_directory()], WHERE,
                                     max_frames=max_frames or None, size=size)  # fmt: skip
        report = format_report(loaded.imported.report)
        stages = loaded.stage_outputs()
        handed_on = [stages[name] for name in ("prompts", "motion", "color_coherence", "enhance",
                                               "noise")]  # fmt: skip
        result = (DeforumSettings(loaded, use_file_sampler), *handed_on, report)
        return {"ui": {"report": [report]}, "result": result}


class DeforumExportSettings:
    """A run's settings as an sd-webui-deforum settings file, saved in the run folder."""

    DESCRIPTION = (
        "Writes the settings of a Deforum run as an sd-webui-deforum deforum_settings.txt in "
        "the run folder: Deforum reads it, and Deforum Load Settings renders it again frame "
        "for frame."
    )
    CATEGORY = CATEGORY
    SEARCH_ALIASES: ClassVar[list[str]] = [
        "settings file",
        "export",
        "deforum settings",
        "save settings",
    ]
    FUNCTION = "export"
    OUTPUT_NODE = True
    RETURN_TYPES = ("STRING",)
    RETURN_NAMES = ("settings_path",)
    OUTPUT_TOOLTIPS = ("Path of the settings file.",)

    @classmethod
    def INPUT_TYPES(cls):
        def picture(what: str) -> tuple[str, dict]:
            tooltip = (
                f"The file name in ComfyUI's input folder of the run's {what}, written into "
                "the settings (a run records only a digest of it); empty for none."
            )
            return ("STRING", {"default": "", "tooltip": tooltip})

        return {
            "required": {
                "run": ("DEFORUM_RUN", {"tooltip": "From Deforum Animate."}),
                "filename": (
                    "STRING",
                    {
                        "default": "deforum_settings",
                        "tooltip": "Saved as <filename>.txt in the run folder.",
                    },
                ),
                "init_image": picture("init image"),
                "color_image": picture("colour coherence image"),
            }
        }

    def export(self, run, filename, init_image, color_image):
        check_plain_name(filename, parameter="filename", what=EXPORT_NAME_HINT)
        path = Path(run.path) / f"{filename}.txt"
        notes = export_run(run.path, path, init_image=init_image or None,
                           color_image=color_image or None)  # fmt: skip
        text = "\n".join([f"saved {path.name} in {Path(run.path).name}", *notes])
        return {"ui": {"report": [text]}, "result": (str(path),)}


EXPORT_NAME_HINT = "the settings are saved in the run folder as <filename>.txt"
