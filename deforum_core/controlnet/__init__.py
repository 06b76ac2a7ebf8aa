"""ControlNet per frame: units that add a ControlNet's hint to each diffused key frame.

unit.py declares a unit (model, hint source, preprocessor, schedules, control mode);
bound.py gives each key's ControlHint (hint.py), which the loop puts in the key's
DiffusionRequest; the backends apply it (ComfyUI: nodes/comfy_backend.py; diffusers:
diffusers_control.py).
"""

from .bound import BoundControlUnit, frame_controls
from .hint import CONTROL_MODES, ControlHint
from .unit import HINT_SOURCES, PREPROCESSORS, ControlUnit

__all__ = [
    "CONTROL_MODES",
    "HINT_SOURCES",
    "PREPROCESSORS",
    "BoundControlUnit",
    "ControlHint",
    "ControlUnit",
    "frame_controls",
]
