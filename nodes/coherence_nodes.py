"""Coherence nodes: colour coherence, contrast and anti-blur, and noise for the Deforum loop."""

from __future__ import annotations

from typing import ClassVar

from deforum_core.stages import ColorCoherenceStage, EnhanceStage, NoiseStage

from .widgets import schedule_validator, widgets

CATEGORY = "Deforum/stages"


class DeforumColorCoherence:
    """Deforum's colour coherence settings for the loop."""

    DESCRIPTION = (
        "Holds each frame's colours to a reference by histogram matching: the first frame "
        "(RGB, HSV or LAB), or a given image (Image, matched in LAB); before diffusion, and "
        "after it too with match_after_diffusion."
    )
    CATEGORY = CATEGORY
    SEARCH_ALIASES: ClassVar[list[str]] = [
        "color coherence",
        "colour coherence",
        "color match",
        "flicker",
        "lab",
        "hsv",
    ]
    FUNCTION = "build"
    RETURN_TYPES = ("DEFORUM_COLOR",)
    RETURN_NAMES = ("color_coherence",)
    OUTPUT_TOOLTIPS = ("Colour coherence settings for the Deforum loop.",)

    @classmethod
    def INPUT_TYPES(cls):
        return {
            "required": widgets(ColorCoherenceStage),
            "optional": {
                "image": ("IMAGE", {"tooltip": "The reference for color_coherence Image."}),
                **widgets(ColorCoherenceStage, appended=True),
            },
        }

    def build(self, **settings):
        return (ColorCoherenceStage(**settings),)


class DeforumEnhance:
    """Contrast and anti-blur schedules for the loop."""

    DESCRIPTION = "Contrast and anti-blur (unsharp mask) applied to each frame before diffusion."
    CATEGORY = CATEGORY
    SEARCH_ALIASES: ClassVar[list[str]] = [
        "contrast",
        "anti-blur",
        "sharpen",
        "unsharp mask",
        "enhance",
    ]
    FUNCTION = "build"
    RETURN_TYPES = ("DEFORUM_ENHANCE",)
    RETURN_NAMES = ("enhance",)
    OUTPUT_TOOLTIPS = ("Contrast and anti-blur settings for the Deforum loop.",)

    @classmethod
    def INPUT_TYPES(cls):
        return {"required": widgets(EnhanceStage)}

    VALIDATE_INPUTS = schedule_validator(EnhanceStage)

    def build(self, **settings):
        return (EnhanceStage(**settings),)


class DeforumNoise:
    """Noise schedule and kind for the loop."""

    DESCRIPTION = (
        "Noise added to each frame before diffusion, from the frame's seed: Gaussian, or "
        "Gaussian shaped by fractal Perlin noise."
    )
    CATEGORY = CATEGORY
    SEARCH_ALIASES: ClassVar[list[str]] = ["noise", "perlin", "gaussian noise", "noise schedule"]
    FUNCTION = "build"
    RETURN_TYPES = ("DEFORUM_NOISE",)
    RETURN_NAMES = ("noise",)
    OUTPUT_TOOLTIPS = ("Noise settings for the Deforum loop.",)

    @classmethod
    def INPUT_TYPES(cls):
        return {"required": widgets(NoiseStage)}

    VALIDATE_INPUTS = schedule_validator(NoiseStage)

    def build(self, **settings):
        return (NoiseStage(**settings),)
