"""Deforum Mask: where Deforum Animate may change a frame and where it keeps it."""

from __future__ import annotations

from typing import ClassVar

from deforum_core.mask_expression import parse_mask_expression
from deforum_core.stages.mask import MaskStage

from .widgets import queue_check, widgets

CATEGORY = "Deforum/stages"


class DeforumMask:
    """A mask picture or a mask video, with Deforum's mask settings, for the loop."""

    DESCRIPTION = (
        "White areas of the mask are kept, black areas diffused, grey partly (invert_mask "
        "swaps them). From a MASK or IMAGE (one for every frame), or a mask video from Deforum "
        "Video Input (one per frame). overlay_mask pastes the kept area back after diffusion, "
        "so it stays exact; use_noise_mask adds noise only where the frame is diffused."
    )
    CATEGORY = CATEGORY
    SEARCH_ALIASES: ClassVar[list[str]] = [
        "mask",
        "inpaint",
        "mask video",
        "overlay mask",
        "noise mask",
    ]
    FUNCTION = "build"
    RETURN_TYPES = ("DEFORUM_MASK",)
    RETURN_NAMES = ("mask",)
    OUTPUT_TOOLTIPS = ("The mask settings for Deforum Animate's mask input.",)

    @classmethod
    def INPUT_TYPES(cls):
        return {
            "required": widgets(MaskStage),
            "optional": {
                "mask": (
                    "MASK",
                    {
                        "tooltip": "A mask for every frame. Load Image's MASK is white where "
                        "the picture is transparent: turn invert_mask on to keep its opaque "
                        "part, as Deforum's use_alpha_as_mask does."
                    },
                ),
                "image": ("IMAGE", {"tooltip": "A picture used as the mask (its grey levels)."}),
                "mask_video": (
                    "DEFORUM_VIDEO",
                    {"tooltip": "A mask per frame, from a Deforum Video Input."},
                ),
            },
        }

    @queue_check
    def VALIDATE_INPUTS(cls, mask_expression=None) -> None:
        """The expression is parsed (whether its masks are connected is known when it runs)."""
        if isinstance(mask_expression, str) and mask_expression.strip():
            parse_mask_expression(mask_expression)

    def build(self, mask=None, image=None, mask_video=None, **settings):
        picture = mask if mask is not None else image
        return (MaskStage(**settings, picture=picture, video=mask_video),)
