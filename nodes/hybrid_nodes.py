"""Deforum Hybrid Video: a video composited into each frame and moving it (sd-webui-deforum's
hybrid video), for the Deforum loop."""

from __future__ import annotations

from typing import ClassVar

from deforum_core.hybrid.stage import HybridStage

from .widgets import schedule_validator, widgets

CATEGORY = "Deforum/stages"


class DeforumHybridVideo:
    """Hybrid video settings, with the video they read and the models they may need."""

    DESCRIPTION = (
        "Deforum's hybrid video: each key frame is blended with the video's frame at its "
        "index (composite, through a depth, blend or difference mask) and moved as the video "
        "moves (motion: optical flow, or a perspective or affine transform fitted to the "
        "video). The animation starts from the video's first frame and is as long as the "
        "video, as in Deforum. Works in 2D and 3D modes; connect to Animate's hybrid input."
    )
    CATEGORY = CATEGORY
    SEARCH_ALIASES: ClassVar[list[str]] = [
        "hybrid",
        "hybrid video",
        "composite",
        "optical flow",
        "video motion",
        "rotoscope",
    ]
    FUNCTION = "build"
    RETURN_TYPES = ("DEFORUM_HYBRID",)
    RETURN_NAMES = ("hybrid",)
    OUTPUT_TOOLTIPS = ("Hybrid video settings for Deforum Animate's hybrid input.",)

    @classmethod
    def INPUT_TYPES(cls):
        return {
            "required": {
                "video": ("DEFORUM_VIDEO", {"tooltip": "From Deforum Video Input."}),
                **widgets(HybridStage),
            },
            "optional": {
                "depth_model": (
                    "DEFORUM_DEPTH_MODEL",
                    {"tooltip": "For the Depth and Video Depth mask types."},
                ),
                "raft_model": ("DEFORUM_RAFT", {"tooltip": "For flow_method RAFT."}),
            },
        }

    VALIDATE_INPUTS = schedule_validator(HybridStage)

    def build(self, video, depth_model=None, raft_model=None, **settings):
        return (HybridStage(**settings, video=video, depth_model=depth_model, raft=raft_model),)
