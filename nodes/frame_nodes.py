"""Frame-stage nodes: settings nodes that build the stages for the Deforum loop, and
IMAGE-in/IMAGE-out nodes that apply a stage to any image."""

from __future__ import annotations

import torch

from ..deforum_core.color import COLOR_SPACES, match_histograms, to_grayscale
from ..deforum_core.noise import NOISE_TYPES
from ..deforum_core.stages import (
    COLOR_COHERENCE_MODES,
    ENHANCE_SCHEDULES,
    MOTION_2D_SCHEDULES,
    MOTION_3D_SCHEDULES,
    NOISE_SCHEDULES,
    ColorCoherenceStage,
    EnhanceStage,
    Motion2DStage,
    Motion3DStage,
    NoiseStage,
)
from ..deforum_core.warp2d import BORDER_MODES, SAMPLING_MODES
from ..deforum_core.warp3d import PADDING_MODES
from .widgets import FPS, FRAME, MAX_FRAMES, schedule_input, validation_result

CATEGORY = "Deforum/stages"
IMAGE_CATEGORY = "Deforum/image"
MAX_PREVIEW_FRAMES = 1000

_MOTION_TOOLTIPS = {
    "angle": "Rotation in degrees per frame; positive turns the picture counter-clockwise.",
    "zoom": "Scale per frame: above 1 zooms in, below 1 zooms out.",
    "translation_x": "Pixels per frame; positive moves the picture right.",
    "translation_y": "Pixels per frame; positive moves the picture down.",
    "transform_center_x": "Centre of rotation and zoom as a fraction of the width (0.5: middle).",
    "transform_center_y": "Centre of rotation and zoom as a fraction of the height (0.5: middle).",
    "perspective_flip_theta": "Perspective flip: degrees about the viewing axis (like angle).",
    "perspective_flip_phi": "Perspective flip: degrees about the horizontal axis (tilts).",
    "perspective_flip_gamma": "Perspective flip: degrees about the vertical axis (pans).",
    "perspective_flip_fv": "Perspective flip: field of view in degrees (smaller = flatter).",
}
_MOTION_3D_TOOLTIPS = {
    "translation_x": "Camera moves right per frame (Deforum units); the picture moves left.",
    "translation_y": "Camera moves up per frame (Deforum units); the picture moves down.",
    "translation_z": "Camera moves forward per frame (Deforum units): near things grow most.",
    "rotation_3d_x": "Camera tilt in degrees per frame; positive moves the picture down.",
    "rotation_3d_y": "Camera pan in degrees per frame; positive moves the picture left.",
    "rotation_3d_z": "Camera roll in degrees per frame; positive turns the picture "
    "counter-clockwise.",
    "fov": "Camera field of view in degrees: wider makes depth motion stronger.",
    "near": "Kept from Deforum settings; has no effect on the picture.",
    "far": "Kept from Deforum settings; has no effect on the picture.",
    **{name: _MOTION_TOOLTIPS[name] for name in MOTION_2D_SCHEDULES if "flip" in name},
}
_ENHANCE_TOOLTIPS = {
    "contrast": "Multiplies pixel values each frame (1 = unchanged); results saturate at white.",
    "amount": "Anti-blur (unsharp mask) strength; 0 turns it off.",
    "kernel": "Anti-blur kernel size in pixels; even sizes round up to the next odd one.",
    "sigma": "Anti-blur Gaussian sigma; 0 derives it from the kernel size.",
    "threshold": "Pixels whose detail is below this (0-255 scale) are not sharpened.",
}
_NOISE_TOOLTIP = "Noise amount per frame: Gaussian noise with standard deviation amount/2."


def _parse_texts(parse, **texts) -> bool | str:
    """VALIDATE_INPUTS for a settings node: parse the schedules that arrived as text."""
    constants = {name: text for name, text in texts.items() if isinstance(text, str)}
    return validation_result(lambda: parse(constants))


class DeforumMotion2D:
    """Deforum's 2D camera motion as keyframe schedules."""

    DESCRIPTION = (
        "Deforum 2D motion: rotation and zoom about the transform centre, translation in "
        "pixels, and an optional perspective flip, each a keyframe schedule."
    )
    CATEGORY = CATEGORY
    FUNCTION = "build"
    RETURN_TYPES = ("DEFORUM_MOTION",)
    RETURN_NAMES = ("motion",)
    OUTPUT_TOOLTIPS = ("The 2D motion, for the Deforum loop or the Deforum Warp 2D node.",)

    @classmethod
    def INPUT_TYPES(cls):
        schedules = {
            name: schedule_input(MOTION_2D_SCHEDULES[name], _MOTION_TOOLTIPS[name])
            for name in list(MOTION_2D_SCHEDULES)[:6]
        }
        flips = {
            name: schedule_input(MOTION_2D_SCHEDULES[name], _MOTION_TOOLTIPS[name])
            for name in list(MOTION_2D_SCHEDULES)[6:]
        }
        return {
            "required": {
                **schedules,
                "border": (
                    list(BORDER_MODES),
                    {
                        "default": "replicate",
                        "tooltip": "What fills the area moved in from outside the frame.",
                    },
                ),
                "sampling": (
                    list(SAMPLING_MODES),
                    {"default": "bicubic", "tooltip": "Pixel interpolation of the warp."},
                ),
                "enable_perspective_flip": (
                    "BOOLEAN",
                    {"default": False, "tooltip": "Turn the picture plane in 3D as well."},
                ),
                **flips,
            }
        }

    @classmethod
    def VALIDATE_INPUTS(
        cls,
        angle=None,
        zoom=None,
        translation_x=None,
        translation_y=None,
        transform_center_x=None,
        transform_center_y=None,
        perspective_flip_theta=None,
        perspective_flip_phi=None,
        perspective_flip_gamma=None,
        perspective_flip_fv=None,
    ):
        return _parse_texts(
            Motion2DStage.parse,
            angle=angle,
            zoom=zoom,
            translation_x=translation_x,
            translation_y=translation_y,
            transform_center_x=transform_center_x,
            transform_center_y=transform_center_y,
            perspective_flip_theta=perspective_flip_theta,
            perspective_flip_phi=perspective_flip_phi,
            perspective_flip_gamma=perspective_flip_gamma,
            perspective_flip_fv=perspective_flip_fv,
        )

    def build(self, border, sampling, enable_perspective_flip, **schedules):
        stage = Motion2DStage.parse(
            schedules, perspective_flip=enable_perspective_flip, border=border, sampling=sampling
        )
        return (stage,)


class DeforumMotion3D:
    """Deforum's 3D camera motion as keyframe schedules, moved through a depth map."""

    DESCRIPTION = (
        "Deforum 3D motion: camera translation (Deforum units) and rotation (degrees) per "
        "frame, applied through the depth of each frame; connect a depth model to Deforum "
        "Animate and choose animation_mode 3D."
    )
    CATEGORY = CATEGORY
    FUNCTION = "build"
    RETURN_TYPES = ("DEFORUM_MOTION",)
    RETURN_NAMES = ("motion",)
    OUTPUT_TOOLTIPS = ("The 3D motion, for the Deforum loop in 3D mode.",)

    @classmethod
    def INPUT_TYPES(cls):
        names = list(MOTION_3D_SCHEDULES)
        camera = {
            name: schedule_input(MOTION_3D_SCHEDULES[name], _MOTION_3D_TOOLTIPS[name])
            for name in names[:9]
        }
        flips = {
            name: schedule_input(MOTION_3D_SCHEDULES[name], _MOTION_3D_TOOLTIPS[name])
            for name in names[9:]
        }
        return {
            "required": {
                **camera,
                "padding_mode": (
                    list(PADDING_MODES),
                    {"default": "border", "tooltip": "What fills areas moved in from outside."},
                ),
                "sampling_mode": (
                    list(SAMPLING_MODES),
                    {"default": "bicubic", "tooltip": "Pixel interpolation of the warp."},
                ),
                "enable_perspective_flip": (
                    "BOOLEAN",
                    {"default": False, "tooltip": "Also turn the picture plane, as in 2D."},
                ),
                **flips,
                "save_depth_maps": (
                    "BOOLEAN",
                    {
                        "default": False,
                        "tooltip": "Write each diffused frame's depth as a 16-bit PNG "
                        "(depth_NNNNN.png) into the run folder.",
                    },
                ),
                "occlusion_aware": (
                    "BOOLEAN",
                    {
                        "default": False,
                        "tooltip": "Resolve what the camera sees by depth: near things cover "
                        "far ones, and uncovered areas continue the background instead of "
                        "stretching the near edge (slower).",
                    },
                ),
            }
        }

    @classmethod
    def VALIDATE_INPUTS(
        cls,
        translation_x=None,
        translation_y=None,
        translation_z=None,
        rotation_3d_x=None,
        rotation_3d_y=None,
        rotation_3d_z=None,
        fov=None,
        near=None,
        far=None,
        perspective_flip_theta=None,
        perspective_flip_phi=None,
        perspective_flip_gamma=None,
        perspective_flip_fv=None,
    ):
        return _parse_texts(
            Motion3DStage.parse,
            translation_x=translation_x,
            translation_y=translation_y,
            translation_z=translation_z,
            rotation_3d_x=rotation_3d_x,
            rotation_3d_y=rotation_3d_y,
            rotation_3d_z=rotation_3d_z,
            fov=fov,
            near=near,
            far=far,
            perspective_flip_theta=perspective_flip_theta,
            perspective_flip_phi=perspective_flip_phi,
            perspective_flip_gamma=perspective_flip_gamma,
            perspective_flip_fv=perspective_flip_fv,
        )

    def build(
        self,
        padding_mode,
        sampling_mode,
        enable_perspective_flip,
        save_depth_maps,
        occlusion_aware=False,
        **schedules,
    ):
        stage = Motion3DStage.parse(
            schedules,
            perspective_flip=enable_perspective_flip,
            padding=padding_mode,
            sampling=sampling_mode,
            save_depth_maps=save_depth_maps,
            occlusion_aware=occlusion_aware,
        )
        return (stage,)


class DeforumWarp2D:
    """Apply a 2D motion to an image, once or as a feedback sequence."""

    DESCRIPTION = (
        "Moves an image by the 2D motion of a frame. With frames above 1 the motion is "
        "applied again to each result, previewing the camera path without diffusion."
    )
    CATEGORY = IMAGE_CATEGORY
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
        values = motion.schedules.frame_values(max(max_frames, start_frame + frames), fps=fps)
        if frames == 1:
            return (motion.apply(image, values[start_frame]),)
        if image.shape[0] != 1:
            raise ValueError(
                f"Deforum Warp 2D: frames={frames} moves one image frame after frame, but "
                f"{image.shape[0]} images arrived; pass a single image or set frames to 1"
            )
        sequence = []
        current = image
        for frame in range(start_frame, start_frame + frames):
            current = motion.apply(current, values[frame])
            sequence.append(current)
        return (torch.cat(sequence),)


class DeforumColorCoherence:
    """Deforum's colour coherence settings for the loop."""

    DESCRIPTION = (
        "Holds each frame's colours to a reference by histogram matching: the first frame "
        "(RGB, HSV or LAB), or a given image (Image, matched in LAB)."
    )
    CATEGORY = CATEGORY
    FUNCTION = "build"
    RETURN_TYPES = ("DEFORUM_COLOR",)
    RETURN_NAMES = ("color_coherence",)
    OUTPUT_TOOLTIPS = ("Colour coherence settings for the Deforum loop.",)

    @classmethod
    def INPUT_TYPES(cls):
        return {
            "required": {
                "color_coherence": (
                    list(COLOR_COHERENCE_MODES),
                    {"default": "LAB", "tooltip": "Colour space to match in, or None / Image."},
                ),
                "refresh_every": (
                    "INT",
                    {
                        "default": 0,
                        "min": 0,
                        "max": 100_000,
                        "tooltip": "Take a new reference every N frames; 0 keeps the first.",
                    },
                ),
                "force_grayscale": (
                    "BOOLEAN",
                    {"default": False, "tooltip": "Turn every frame grey."},
                ),
            },
            "optional": {
                "image": ("IMAGE", {"tooltip": "The reference for color_coherence Image."}),
            },
        }

    def build(self, color_coherence, refresh_every, force_grayscale, image=None):
        return (ColorCoherenceStage(color_coherence, refresh_every, force_grayscale, image),)


class DeforumColorMatch:
    """Match an image's colours to a reference image."""

    DESCRIPTION = "Per-channel histogram matching of an image to a reference, in RGB, HSV or LAB."
    CATEGORY = IMAGE_CATEGORY
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
        matched = match_histograms(image, reference, color_space)
        return (to_grayscale(matched) if force_grayscale else matched,)


class DeforumEnhance:
    """Contrast and anti-blur schedules for the loop."""

    DESCRIPTION = "Contrast and anti-blur (unsharp mask) applied to each frame before diffusion."
    CATEGORY = CATEGORY
    FUNCTION = "build"
    RETURN_TYPES = ("DEFORUM_ENHANCE",)
    RETURN_NAMES = ("enhance",)
    OUTPUT_TOOLTIPS = ("Contrast and anti-blur settings for the Deforum loop.",)

    @classmethod
    def INPUT_TYPES(cls):
        return {
            "required": {
                name: schedule_input(default, _ENHANCE_TOOLTIPS[name])
                for name, default in ENHANCE_SCHEDULES.items()
            }
        }

    @classmethod
    def VALIDATE_INPUTS(cls, contrast=None, amount=None, kernel=None, sigma=None, threshold=None):
        return _parse_texts(
            EnhanceStage.parse,
            contrast=contrast,
            amount=amount,
            kernel=kernel,
            sigma=sigma,
            threshold=threshold,
        )

    def build(self, **schedules):
        return (EnhanceStage.parse(schedules),)


class DeforumNoise:
    """Noise schedule and kind for the loop."""

    DESCRIPTION = (
        "Noise added to each frame before diffusion, from the frame's seed: Gaussian, or "
        "Gaussian shaped by fractal Perlin noise."
    )
    CATEGORY = CATEGORY
    FUNCTION = "build"
    RETURN_TYPES = ("DEFORUM_NOISE",)
    RETURN_NAMES = ("noise",)
    OUTPUT_TOOLTIPS = ("Noise settings for the Deforum loop.",)

    @classmethod
    def INPUT_TYPES(cls):
        def count(default: int, tooltip: str) -> tuple[str, dict]:
            return ("INT", {"default": default, "min": 1, "max": 256, "tooltip": tooltip})

        return {
            "required": {
                "noise": schedule_input(NOISE_SCHEDULES["noise"], _NOISE_TOOLTIP),
                "noise_type": (
                    list(NOISE_TYPES),
                    {"default": "gaussian", "tooltip": "Plain Gaussian, or Perlin-shaped."},
                ),
                "perlin_scale_x": count(8, "Perlin cells across the width (first octave)."),
                "perlin_scale_y": count(8, "Perlin cells down the height (first octave)."),
                "perlin_octaves": count(4, "Perlin octaves, each twice as fine."),
                "perlin_persistence": (
                    "FLOAT",
                    {
                        "default": 0.5,
                        "min": 0.0,
                        "max": 1.0,
                        "step": 0.01,
                        "tooltip": "Weight of each finer Perlin octave relative to the last.",
                    },
                ),
            }
        }

    @classmethod
    def VALIDATE_INPUTS(cls, noise=None):
        return _parse_texts(NoiseStage.parse, noise=noise)

    def build(
        self, noise, noise_type, perlin_scale_x, perlin_scale_y, perlin_octaves, perlin_persistence
    ):
        stage = NoiseStage.parse(
            {"noise": noise},
            noise_type=noise_type,
            perlin_scale=(perlin_scale_x, perlin_scale_y),
            octaves=perlin_octaves,
            persistence=perlin_persistence,
        )
        return (stage,)


def _frame_values(stage, frame: int, max_frames: int, fps: float, seed: int = 0):
    return stage.schedules.frame_values(max(max_frames, frame + 1), seed=seed, fps=fps)[frame]


class DeforumEnhanceImage:
    """Apply contrast and anti-blur to an image."""

    DESCRIPTION = "Applies a Deforum Enhance setting's contrast and anti-blur for one frame."
    CATEGORY = IMAGE_CATEGORY
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
        return (enhance.apply(image, _frame_values(enhance, frame, max_frames, fps), mask),)


class DeforumAddNoise:
    """Add a frame's noise to an image."""

    DESCRIPTION = "Adds a Deforum Noise setting's noise for one frame, reproducible from the seed."
    CATEGORY = IMAGE_CATEGORY
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
                        "max": 2**32 - 1,
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
        values = _frame_values(noise, frame, max_frames, fps, seed)
        return (noise.apply(image, values, seed, mask),)
