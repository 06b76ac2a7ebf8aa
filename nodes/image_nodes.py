"""IMAGE-in/IMAGE-out nodes: one stage applied to any image, through the same bind and apply
the Deforum loop uses."""

from __future__ import annotations

from typing import ClassVar

import torch

from deforum_core.color import COLOR_SPACES
from deforum_core.errors import DeforumError
from deforum_core.stages import ColorCoherenceStage, FrameContext, RenderInfo

from .widgets import FPS, FRAME, MAX_FRAMES, SEED_LIMIT

CATEGORY = "Deforum/image"
MAX_PREVIEW_FRAMES = 1000


def _bound(stage, image: torch.Tensor, frames: int, fps: float, seed: int = 0):
    """The stage bound to a render of `frames` frames at the image's size."""
    return stage.bind(RenderInfo(frames, image.shape[2], image.shape[1], seed, fps))


class DeforumWarp2D:
    """Apply a 2D motion to an image, once or as a feedback sequence."""

    DESCRIPTION = (
        "Moves an image by the 2D motion of a frame. With frames above 1 the motion is "
        "applied again to each result, previewing the camera path without diffusion."
    )
    CATEGORY = CATEGORY
    SEARCH_ALIASES: ClassVar[list[str]] = [
        "zoom",
        "pan",
        "rotate",
        "warp",
        "2d motion",
        "camera path",
    ]
    FUNCTION = "warp"
    RETURN_TYPES = ("IMAGE",)
    RETURN_NAMES = ("image",)
    OUTPUT_TOOLTIPS = ("The moved image(s).",)

    @classmethod
    def INPUT_TYPES(cls):
        return {
            "required": {
                "image": ("IMAGE", {"tooltip": "The image(s) to move."}),
                "motion": ("DEFORUM_MOTION", {"tooltip": "From a Deforum Motion 2D node."}),
                "start_frame": FRAME,
                "frames": (
                    "INT",
                    {
                        "default": 1,
                        "min": 1,
                        "max": MAX_PREVIEW_FRAMES,
                        "tooltip": "1: move every input image once by start_frame's motion. "
                        "More: move a single image frame after frame and output the sequence.",
                    },
                ),
                "max_frames": MAX_FRAMES,
                "fps": FPS,
            }
        }

    def warp(self, image, motion, start_frame, frames, max_frames, fps):
        bound = _bound(motion, image, max(max_frames, start_frame + frames), fps)
        if frames == 1:
            return (bound.apply(image, FrameContext(start_frame)),)
        if image.shape[0] != 1:
            raise DeforumError(
                f"Deforum Warp 2D: frames={frames} moves one image frame after frame, but "
                f"{image.shape[0]} images arrived; pass a single image or set frames to 1"
            )
        sequence = []
        current = image
        for frame in range(start_frame, start_frame + frames):
            current = bound.apply(current, FrameContext(frame))
            sequence.append(current)
        return (torch.cat(sequence),)


class DeforumColorMatch:
    """Match an image's colours to a reference image."""

    DESCRIPTION = "Per-channel histogram matching of an image to a reference, in RGB, HSV or LAB."
    CATEGORY = CATEGORY
    SEARCH_ALIASES: ClassVar[list[str]] = [
        "color match",
        "colour match",
        "histogram",
        "color transfer",
    ]
    FUNCTION = "match"
    RETURN_TYPES = ("IMAGE",)
    RETURN_NAMES = ("image",)
    OUTPUT_TOOLTIPS = ("The image with the reference's colour distribution.",)

    @classmethod
    def INPUT_TYPES(cls):
        return {
            "required": {
                "image": ("IMAGE", {"tooltip": "The image(s) to recolour."}),
                "reference": ("IMAGE", {"tooltip": "One image, or one per input image."}),
                "color_space": (
                    list(COLOR_SPACES),
                    {"default": "LAB", "tooltip": "Space whose channels are matched."},
                ),
                "force_grayscale": ("BOOLEAN", {"default": False, "tooltip": "Output grey."}),
            }
        }

    def match(self, image, reference, color_space, force_grayscale):
        stage = ColorCoherenceStage(color_space, force_grayscale=force_grayscale)
        return (_bound(stage, image, 1, 15.0).apply(image, FrameContext(0, reference=reference)),)


class DeforumEnhanceImage:
    """Apply contrast and anti-blur to an image."""

    DESCRIPTION = "Applies a Deforum Enhance setting's contrast and anti-blur for one frame."
    CATEGORY = CATEGORY
    SEARCH_ALIASES: ClassVar[list[str]] = ["contrast", "sharpen", "anti-blur", "unsharp mask"]
    FUNCTION = "apply"
    RETURN_TYPES = ("IMAGE",)
    RETURN_NAMES = ("image",)
    OUTPUT_TOOLTIPS = ("The adjusted image(s).",)

    @classmethod
    def INPUT_TYPES(cls):
        return {
            "required": {
                "image": ("IMAGE", {"tooltip": "The image(s) to adjust."}),
                "enhance": ("DEFORUM_ENHANCE", {"tooltip": "From a Deforum Enhance node."}),
                "frame": FRAME,
                "max_frames": MAX_FRAMES,
                "fps": FPS,
            },
            "optional": {"mask": ("MASK", {"tooltip": "Sharpen only where the mask is 1."})},
        }

    def apply(self, image, enhance, frame, max_frames, fps, mask=None):
        bound = _bound(enhance, image, max(max_frames, frame + 1), fps)
        return (bound.apply(image, FrameContext(frame, mask=mask)),)


class DeforumAddNoise:
    """Add a frame's noise to an image."""

    DESCRIPTION = "Adds a Deforum Noise setting's noise for one frame, reproducible from the seed."
    CATEGORY = CATEGORY
    SEARCH_ALIASES: ClassVar[list[str]] = ["noise", "perlin", "add noise", "grain"]
    FUNCTION = "apply"
    RETURN_TYPES = ("IMAGE",)
    RETURN_NAMES = ("image",)
    OUTPUT_TOOLTIPS = ("The noised image(s).",)

    @classmethod
    def INPUT_TYPES(cls):
        return {
            "required": {
                "image": ("IMAGE", {"tooltip": "The image(s) to noise."}),
                "noise": ("DEFORUM_NOISE", {"tooltip": "From a Deforum Noise node."}),
                "seed": (
                    "INT",
                    {
                        "default": 0,
                        "min": 0,
                        "max": SEED_LIMIT,
                        "tooltip": "The same seed gives the same noise.",
                    },
                ),
                "frame": FRAME,
                "max_frames": MAX_FRAMES,
                "fps": FPS,
            },
            "optional": {"mask": ("MASK", {"tooltip": "Add noise only where the mask is 1."})},
        }

    def apply(self, image, noise, seed, frame, max_frames, fps, mask=None):
        bound = _bound(noise, image, max(max_frames, frame + 1), fps, seed)
        return (bound.apply(image, FrameContext(frame, seed, mask=mask)),)
