"""Deforum Interpolation: the settings of animation_mode Interpolation, for Deforum Animate."""

from __future__ import annotations

from typing import ClassVar

from deforum_core.modes import InterpolationStage

from .widgets import widgets

CATEGORY = "Deforum/stages"


class DeforumInterpolation:
    """How Interpolation mode places the prompts on the frames and morphs between them."""

    DESCRIPTION = (
        "Settings of Deforum Animate's animation_mode Interpolation: a morph between the "
        "prompts, every frame diffused with the two nearest prompts' encodings interpolated "
        "(spherically or linearly) and, optionally, their seeds' noise. With "
        "interpolate_key_frames the prompts sit at their own frames; otherwise "
        "interpolate_x_frames frames are made between consecutive prompts. An init image on "
        "Animate is the picture every frame starts from, moved by a Motion 2D if connected."
    )
    CATEGORY = CATEGORY
    SEARCH_ALIASES: ClassVar[list[str]] = [
        "interpolation",
        "interpolate",
        "morph",
        "prompt interpolation",
        "prompt morph",
        "slerp",
        "transition",
    ]
    FUNCTION = "build"
    RETURN_TYPES = ("DEFORUM_INTERPOLATION",)
    RETURN_NAMES = ("interpolation",)
    OUTPUT_TOOLTIPS = ("Interpolation settings for Deforum Animate's interpolation input.",)

    @classmethod
    def INPUT_TYPES(cls):
        return {"required": widgets(InterpolationStage)}

    def build(self, **settings):
        return (InterpolationStage(**settings),)
