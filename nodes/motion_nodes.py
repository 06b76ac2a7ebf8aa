"""Camera nodes: Deforum's 2D and 3D motion as keyframe schedules, for the Deforum loop."""

from __future__ import annotations

from typing import ClassVar

from deforum_core.stages import Motion2DStage, Motion3DStage
from deforum_core.stages.motion2d import PINHOLE

from .widgets import schedule_validator, widgets

CATEGORY = "Deforum/stages"


class DeforumMotion2D:
    """Deforum's 2D camera motion as keyframe schedules."""

    DESCRIPTION = (
        "Deforum 2D motion: rotation and zoom about the transform centre, translation in "
        "pixels, and an optional perspective flip, each a keyframe schedule."
    )
    CATEGORY = CATEGORY
    SEARCH_ALIASES: ClassVar[list[str]] = [
        "zoom",
        "pan",
        "rotate",
        "camera",
        "2d motion",
        "translation",
        "perspective flip",
    ]
    FUNCTION = "build"
    RETURN_TYPES = ("DEFORUM_MOTION",)
    RETURN_NAMES = ("motion",)
    OUTPUT_TOOLTIPS = ("The 2D motion, for the Deforum loop or the Deforum Warp 2D node.",)

    @classmethod
    def INPUT_TYPES(cls):
        return {
            "required": widgets(Motion2DStage),
            "optional": widgets(Motion2DStage, appended=True),
        }

    VALIDATE_INPUTS = schedule_validator(Motion2DStage)

    def build(self, camera=PINHOLE, **settings):
        """camera is missing only from workflows saved before it existed: they keep the
        pinhole flip they were made with (the frontend extension does the same for saved
        UI workflows)."""
        return (Motion2DStage(camera=camera, **settings),)


class DeforumMotion3D:
    """Deforum's 3D camera motion as keyframe schedules, moved through a depth map."""

    DESCRIPTION = (
        "Deforum 3D motion: camera translation (Deforum units) and rotation (degrees) per "
        "frame, applied through the depth of each frame; connect a depth model to Deforum "
        "Animate and choose animation_mode 3D."
    )
    CATEGORY = CATEGORY
    SEARCH_ALIASES: ClassVar[list[str]] = [
        "camera",
        "3d",
        "3d motion",
        "depth warp",
        "fov",
        "rotation",
        "translation z",
    ]
    FUNCTION = "build"
    RETURN_TYPES = ("DEFORUM_MOTION",)
    RETURN_NAMES = ("motion",)
    OUTPUT_TOOLTIPS = ("The 3D motion, for the Deforum loop in 3D mode.",)

    @classmethod
    def INPUT_TYPES(cls):
        return {
            "required": widgets(Motion3DStage),
            "optional": widgets(Motion3DStage, appended=True),
        }

    VALIDATE_INPUTS = schedule_validator(Motion3DStage)

    def build(self, camera=PINHOLE, **settings):
        """camera is missing only from workflows saved before it existed: they keep the
        pinhole camera they were made with (as in DeforumMotion2D.build)."""
        return (Motion3DStage(camera=camera, **settings),)
