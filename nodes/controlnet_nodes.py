"""Deforum ControlNet: ControlNet units for Deforum Animate, chained one after another, and a
loader of diffusers ControlNets for the diffusers backend (in ComfyUI, ComfyUI's own Load
ControlNet Model gives the CONTROL_NET the ComfyUI backend runs)."""

from __future__ import annotations

from typing import Any, ClassVar

from deforum_core.controlnet import ControlUnit
from deforum_core.controlnet.diffusers_control import DiffusersControlNet
from deforum_core.diffusion.backend import DiffusionError
from deforum_core.settings_file.loaded import LoadedSettings
from deforum_core.settings_file.report import ReportLine

from .comfy_bridge import folder_paths_module, input_directory
from .model_folders import USE_PATH, chosen_model, model_files
from .model_paths import typed_model_path
from .settings_nodes import WHERE
from .widgets import schedule_validator, widgets

CATEGORY = "Deforum/controlnet"
CONTROLNET_FOLDER = "controlnet"  # ComfyUI's own models/controlnet
UNITS_TOOLTIP = "The ControlNet units, for Deforum Animate's controlnet input."


class DeforumControlNet:
    """One ControlNet unit after those of `previous`, applied to every diffused frame."""

    DESCRIPTION = (
        "Adds a ControlNet to every diffused frame of Deforum Animate: its hint is the "
        "frame's picture of a video or an IMAGE batch, one image, or (loopback) the frame "
        "itself as prepared for diffusion, optionally turned into edges (canny) or depth. "
        "weight, guidance_start and guidance_end are schedules; a frame at weight 0 renders "
        "exactly as without the unit. Chain units through previous."
    )
    CATEGORY = CATEGORY
    SEARCH_ALIASES: ClassVar[list[str]] = [
        "controlnet",
        "control net",
        "canny",
        "depth",
        "pose",
        "loopback",
        "hint",
    ]
    FUNCTION = "build"
    RETURN_TYPES = ("DEFORUM_CONTROLNET",)
    RETURN_NAMES = ("controlnet",)
    OUTPUT_TOOLTIPS = (UNITS_TOOLTIP,)

    @classmethod
    def INPUT_TYPES(cls):
        return {
            "required": {
                "control_net": (
                    "CONTROL_NET",
                    {
                        "tooltip": "The ControlNet: from Load ControlNet Model (ComfyUI's "
                        "diffuser), or Deforum ControlNet Loader (the diffusers backend)."
                    },
                ),
                **widgets(ControlUnit),
            },
            "optional": {
                "video": (
                    "DEFORUM_VIDEO",
                    {"tooltip": "From Deforum Video Input: the hints of hint_source video."},
                ),
                "images": (
                    "IMAGE",
                    {
                        "tooltip": "The hints of hint_source images (one per frame) or image "
                        "(the first, for every frame)."
                    },
                ),
                "depth_model": (
                    "DEFORUM_DEPTH_MODEL",
                    {"tooltip": "From Deforum Depth Model, for the depth preprocessor."},
                ),
                "previous": (
                    "DEFORUM_CONTROLNET",
                    {"tooltip": "Units applied before this one (another Deforum ControlNet)."},
                ),
            },
        }

    VALIDATE_INPUTS = schedule_validator(ControlUnit)

    def build(self, control_net, previous=None, video=None, images=None, depth_model=None,
              **settings):  # fmt: skip
        unit = ControlUnit(**settings, model=control_net, video=video, images=images,
                           depth_model=depth_model)  # fmt: skip
        return ((*(previous or ()), unit),)


class DeforumControlNetLoader:
    """A diffusers ControlNet from models/controlnet or a path, for the diffusers backend."""

    DESCRIPTION = (
        "Loads a ControlNet with diffusers, offline, for Deforum ControlNet on the diffusers "
        "backend (Deforum Diffusers Loader, the command line): a diffusers folder, or a "
        "single file from ComfyUI's models/controlnet with `config`. With ComfyUI's own "
        "diffuser use ComfyUI's Load ControlNet Model instead."
    )
    CATEGORY = CATEGORY
    SEARCH_ALIASES: ClassVar[list[str]] = [
        "controlnet",
        "control net",
        "controlnet loader",
        "diffusers",
    ]
    FUNCTION = "load"
    RETURN_TYPES = ("CONTROL_NET",)
    RETURN_NAMES = ("control_net",)
    OUTPUT_TOOLTIPS = (
        "The ControlNet, for Deforum ControlNet with the diffusers backend (ComfyUI's own "
        "Apply ControlNet cannot run it: use Load ControlNet Model there).",
    )

    @classmethod
    def INPUT_TYPES(cls):
        return {
            "required": {
                "control_net_name": (
                    [USE_PATH, *model_files(CONTROLNET_FOLDER)],
                    {
                        "tooltip": f"A file in ComfyUI's models/{CONTROLNET_FOLDER}; "
                        f"{USE_PATH} loads `path` instead."
                    },
                ),
                "path": (
                    "STRING",
                    {
                        "default": "",
                        "tooltip": "A diffusers ControlNet folder or a single file, used when "
                        f"control_net_name is {USE_PATH}.",
                    },
                ),
                "config": (
                    "STRING",
                    {
                        "default": "",
                        "tooltip": "For single files: a diffusers ControlNet folder of the same "
                        "kind whose config.json is used (nothing is downloaded).",
                    },
                ),
            }
        }

    def load(self, control_net_name, path, config):
        from deforum_core.controlnet.diffusers_control import load_controlnet

        chosen_by, source = chosen_model(
            control_net_name, path, CONTROLNET_FOLDER, name_input="control_net_name",
            nothing="no ControlNet chosen", error=DiffusionError,
            nothing_hint=f"pick a file, or set control_net_name to {USE_PATH} and fill in path",
        )  # fmt: skip
        folder = typed_model_path(config, parameter="config") if config.strip() else None
        try:
            loaded = load_controlnet(source, config=folder)
        except DiffusionError as error:
            if error.parameter != "model":
                raise
            raise DiffusionError(error.reason, parameter=chosen_by, hint=error.hint) from None
        return (LoadedControlNet(loaded.model, loaded.source),)


class LoadedControlNet(DiffusersControlNet):
    """Deforum ControlNet Loader's CONTROL_NET. ComfyUI lets it be linked into its own
    ControlNet nodes (Apply ControlNet and others), which begin by copying the CONTROL_NET
    and would fail on a diffusers model with an AttributeError; that copy is refused here
    with words that say which loader those nodes need."""

    def copy(self) -> None:
        raise DiffusionError(
            "this ControlNet comes from Deforum ControlNet Loader (a diffusers model), which "
            "only Deforum ControlNet runs, with the diffusers backend",
            parameter="control_net",
            hint="for ComfyUI's Apply ControlNet (and Deforum Diffuser) load the ControlNet "
            "with ComfyUI's Load ControlNet Model",
        )


def file_units(
    loaded: LoadedSettings, *, preview: bool, notes: list[ReportLine], depth_model: Any = None
) -> tuple[ControlUnit, ...]:
    """A settings file's ControlNet units (cn_1..cn_5) with the models of ComfyUI's
    models/controlnet named like the file's (a unit whose model is not there is left out,
    noted); none for a motion preview, which diffuses nothing."""
    choices = loaded.imported.controlnet
    if preview or not choices:
        return ()
    files = model_files(CONTROLNET_FOLDER)
    built = (
        choice.build(files, _comfy_controlnet, depth_model=depth_model,
                     folders=[input_directory()], where=WHERE, notes=notes)
        for choice in choices
    )  # fmt: skip
    return tuple(unit for unit in built if unit is not None)


def _comfy_controlnet(name: str) -> Any:
    """ComfyUI's CONTROL_NET of a file in models/controlnet, as Load ControlNet Model loads it."""
    import comfy.controlnet

    return comfy.controlnet.load_controlnet(
        folder_paths_module().get_full_path(CONTROLNET_FOLDER, name)
    )
