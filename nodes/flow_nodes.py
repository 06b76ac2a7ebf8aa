"""Optical flow nodes: the RAFT model, and optical-flow cadence and redo for the Deforum loop.

Importing this module registers ComfyUI's models/optical_flow folder (for RAFT weights:
.pth, .pt, .safetensors).
"""

from __future__ import annotations

from typing import ClassVar

from deforum_core.errors import DeforumError
from deforum_core.flow import RAFT_FILES, RaftModel
from deforum_core.stages.optical_flow import OpticalFlowStage

from .model_folders import USE_PATH, chosen_model, model_files, register_model_folder
from .widgets import schedule_validator, widgets

CATEGORY = "Deforum/stages"
FLOW_FOLDER = "optical_flow"
RAFT_EXTENSIONS = (".pth", ".pt", ".safetensors")

register_model_folder(FLOW_FOLDER, RAFT_EXTENSIONS)


class DeforumRaftModel:
    """Loads torchvision's RAFT optical flow network once, for hybrid video and cadence."""

    DESCRIPTION = (
        "Loads RAFT (torchvision's raft_large or raft_small, told apart by the file) for the "
        f"RAFT optical flow method, from ComfyUI's models/{FLOW_FOLDER} folder or a path; "
        f"torchvision publishes {RAFT_FILES['large']}. Read without running code; nothing "
        "is downloaded."
    )
    CATEGORY = CATEGORY
    SEARCH_ALIASES: ClassVar[list[str]] = ["raft", "optical flow", "flow model"]
    FUNCTION = "load"
    RETURN_TYPES = ("DEFORUM_RAFT",)
    RETURN_NAMES = ("raft_model",)
    OUTPUT_TOOLTIPS = ("The RAFT model, for Deforum Hybrid Video or Deforum Optical Flow.",)

    @classmethod
    def INPUT_TYPES(cls):
        return {
            "required": {
                "model_file": (
                    [USE_PATH, *model_files(FLOW_FOLDER)],
                    {"tooltip": f"A RAFT weights file in ComfyUI's models/{FLOW_FOLDER}."},
                ),
                "path": (
                    "STRING",
                    {
                        "default": "",
                        "tooltip": f"A weights file, used when model_file is {USE_PATH}.",
                    },
                ),
            }
        }

    def load(self, model_file, path):
        chosen_by, weights = chosen_model(
            model_file, path, FLOW_FOLDER, name_input="model_file",
            nothing="no RAFT weights chosen",
            nothing_hint=f"put {RAFT_FILES['large']} into models/{FLOW_FOLDER} and pick it",
        )  # fmt: skip
        try:
            return (RaftModel.from_file(weights),)
        except DeforumError as error:
            raise type(error)(error.reason, parameter=chosen_by, hint=error.hint) from None


class DeforumOpticalFlow:
    """Optical-flow cadence and redo settings for the loop."""

    DESCRIPTION = (
        "Deforum's optical flow options: the frames between diffused frames move along the "
        "optical flow between those frames (optical_flow_cadence, with Animate's "
        "diffusion_cadence above 1), and each key can be diffused again from where a first "
        "diffusion moved it (optical_flow_redo_generation) or several times (diffusion_redo)."
    )
    CATEGORY = CATEGORY
    SEARCH_ALIASES: ClassVar[list[str]] = [
        "optical flow",
        "flow cadence",
        "cadence",
        "redo",
        "tween",
    ]
    FUNCTION = "build"
    RETURN_TYPES = ("DEFORUM_OPTICAL_FLOW",)
    RETURN_NAMES = ("optical_flow",)
    OUTPUT_TOOLTIPS = ("Optical flow settings for Deforum Animate's optical_flow input.",)

    @classmethod
    def INPUT_TYPES(cls):
        return {
            "required": widgets(OpticalFlowStage),
            "optional": {
                "raft_model": ("DEFORUM_RAFT", {"tooltip": "For the RAFT method."}),
            },
        }

    VALIDATE_INPUTS = schedule_validator(OpticalFlowStage)

    def build(self, raft_model=None, **settings):
        return (OpticalFlowStage(**settings, raft=raft_model),)
