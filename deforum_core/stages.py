"""The per-frame stages as configured objects: schedules parsed once, applied per frame.

A stage holds its settings and its keyframe schedules. `frame_settings(max_frames, ...)`
evaluates every schedule once per render; `apply(frames, settings[t], ...)` then does one
frame's work on the frames' device. The loop controller and the single-image nodes share
these objects, so a stage behaves the same in both.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass

import torch

from .color import COLOR_SPACES, match_histograms, to_grayscale
from .enhance import adjust_contrast, unsharp_mask
from .errors import ScheduleError
from .keyframes import Schedule, parse_schedule
from .noise import NOISE_TYPES, add_noise
from .warp2d import BORDER_MODES, SAMPLING_MODES, Motion2D, flip_matrix, motion_matrix, warp_frames
from .warp3d import PADDING_MODES, Camera3D, rigid_motion, warp_3d

COLOR_COHERENCE_MODES = ("None", *COLOR_SPACES, "Image")

MOTION_2D_SCHEDULES = {
    "angle": "0:(0)",
    "zoom": "0:(1.0025+0.002*sin(1.25*3.14*t/30))",
    "translation_x": "0:(0)",
    "translation_y": "0:(0)",
    "transform_center_x": "0:(0.5)",
    "transform_center_y": "0:(0.5)",
    "perspective_flip_theta": "0:(0)",
    "perspective_flip_phi": "0:(0)",
    "perspective_flip_gamma": "0:(0)",
    "perspective_flip_fv": "0:(53)",
}
MOTION_3D_SCHEDULES = {
    "translation_x": "0:(0)",
    "translation_y": "0:(0)",
    "translation_z": "0:(10)",
    "rotation_3d_x": "0:(0)",
    "rotation_3d_y": "0:(0)",
    "rotation_3d_z": "0:(0)",
    "fov": "0:(40)",
    "near": "0:(200)",
    "far": "0:(10000)",
    "perspective_flip_theta": "0:(0)",
    "perspective_flip_phi": "0:(0)",
    "perspective_flip_gamma": "0:(0)",
    "perspective_flip_fv": "0:(53)",
}
ENHANCE_SCHEDULES = {
    "contrast": "0:(1.0)",
    "amount": "0:(0.1)",
    "kernel": "0:(5)",
    "sigma": "0:(1.0)",
    "threshold": "0:(0)",
}
NOISE_SCHEDULES = {"noise": "0:(0.065)"}

FrameValues = dict[str, float]


def tensor_digest(tensor: torch.Tensor) -> str:
    """A short fingerprint of an image, to record which one a render used."""
    data = tensor.detach().to("cpu", torch.float32).contiguous().numpy().tobytes()
    return hashlib.sha256(data).hexdigest()[:16]


@dataclass(frozen=True)
class ScheduleSet:
    """Named keyframe schedules of one stage, parsed together."""

    schedules: Mapping[str, Schedule]

    @classmethod
    def parse(cls, texts: Mapping[str, str], interpolation: str = "linear") -> ScheduleSet:
        return cls(
            {
                name: parse_schedule(text, name=name, interpolation=interpolation)
                for name, text in texts.items()
            }
        )

    def describe(self) -> dict[str, str]:
        """The schedule texts, for the run's settings file."""
        return {name: schedule.text for name, schedule in self.schedules.items()}

    def frame_values(
        self, max_frames: int, *, seed: int = 0, fps: float = 15.0
    ) -> list[FrameValues]:
        """Every schedule's value on each frame: one dict per frame."""
        columns = {
            name: schedule.evaluate(max_frames, seed=seed, fps=fps)
            for name, schedule in self.schedules.items()
        }
        return [{name: values[t] for name, values in columns.items()} for t in range(max_frames)]


def _choice(value: str, choices: tuple[str, ...], parameter: str) -> str:
    if value not in choices:
        raise ScheduleError(
            f"unknown {parameter} {value!r}",
            parameter=parameter,
            hint=f"use one of {', '.join(choices)}",
        )
    return value


@dataclass(frozen=True)
class Motion2DStage:
    """Deforum's 2D camera as schedules; motion(values) gives one frame's Motion2D."""

    schedules: ScheduleSet
    perspective_flip: bool = False
    border: str = "replicate"
    sampling: str = "bicubic"

    @classmethod
    def parse(
        cls,
        texts: Mapping[str, str],
        *,
        perspective_flip: bool = False,
        border: str = "replicate",
        sampling: str = "bicubic",
    ) -> Motion2DStage:
        return cls(
            ScheduleSet.parse({**MOTION_2D_SCHEDULES, **texts}),
            perspective_flip,
            _choice(border, BORDER_MODES, "border"),
            _choice(sampling, SAMPLING_MODES, "sampling"),
        )

    def motion(self, values: FrameValues) -> Motion2D:
        return Motion2D(
            angle=values["angle"],
            zoom=values["zoom"],
            translation_x=values["translation_x"],
            translation_y=values["translation_y"],
            transform_center_x=values["transform_center_x"],
            transform_center_y=values["transform_center_y"],
            perspective_flip=self.perspective_flip,
            flip_theta=values["perspective_flip_theta"],
            flip_phi=values["perspective_flip_phi"],
            flip_gamma=values["perspective_flip_gamma"],
            flip_fv=values["perspective_flip_fv"],
        )

    def matrix(self, values: FrameValues, width: int, height: int) -> torch.Tensor:
        """One frame's source-to-destination matrix, [3, 3] float64."""
        return motion_matrix(self.motion(values), width, height)

    def warp(self, frames: torch.Tensor, matrix: torch.Tensor) -> torch.Tensor:
        """Move frames [B, H, W, C] by a matrix, with this stage's border and sampling."""
        return warp_frames(frames, matrix, border=self.border, sampling=self.sampling)

    def apply(self, frames: torch.Tensor, values: FrameValues) -> torch.Tensor:
        """Move frames by one frame's motion."""
        return self.warp(frames, self.matrix(values, frames.shape[2], frames.shape[1]))

    def describe(self) -> dict:
        return {
            "schedules": self.schedules.describe(),
            "perspective_flip": self.perspective_flip,
            "border": self.border,
            "sampling": self.sampling,
        }


@dataclass(frozen=True)
class Motion3DStage:
    """Deforum's 3D camera as schedules: a rigid motion per frame, applied through depth."""

    schedules: ScheduleSet
    perspective_flip: bool = False
    padding: str = "border"
    sampling: str = "bicubic"
    save_depth_maps: bool = False
    occlusion_aware: bool = False

    @classmethod
    def parse(
        cls,
        texts: Mapping[str, str],
        *,
        perspective_flip: bool = False,
        padding: str = "border",
        sampling: str = "bicubic",
        save_depth_maps: bool = False,
        occlusion_aware: bool = False,
    ) -> Motion3DStage:
        return cls(
            ScheduleSet.parse({**MOTION_3D_SCHEDULES, **texts}),
            perspective_flip,
            _choice(padding, PADDING_MODES, "padding_mode"),
            _choice(sampling, SAMPLING_MODES, "sampling_mode"),
            save_depth_maps,
            occlusion_aware,
        )

    def camera(self, values: FrameValues) -> Camera3D:
        names = ("translation_x", "translation_y", "translation_z", "rotation_3d_x",
                 "rotation_3d_y", "rotation_3d_z", "fov", "near", "far")  # fmt: skip
        return Camera3D(**{name: values[name] for name in names})

    def motion(self, values: FrameValues) -> torch.Tensor:
        """One frame's rigid camera motion, [4, 4] float64."""
        return rigid_motion(self.camera(values))

    def flip(self, values: FrameValues, width: int, height: int) -> torch.Tensor:
        """One frame's perspective flip as a 2D matrix (the identity when it is off)."""
        if not self.perspective_flip:
            return torch.eye(3, dtype=torch.float64)
        motion = Motion2D(
            perspective_flip=True,
            flip_theta=values["perspective_flip_theta"],
            flip_phi=values["perspective_flip_phi"],
            flip_gamma=values["perspective_flip_gamma"],
            flip_fv=values["perspective_flip_fv"],
        )
        return flip_matrix(motion, width, height)

    def warp(
        self,
        frames: torch.Tensor,
        depth: torch.Tensor,
        motion: torch.Tensor,
        flip: torch.Tensor,
        fov: float,
    ) -> torch.Tensor:
        """The perspective flip (as Deforum, on the picture first), then the 3D move."""
        if not torch.equal(flip, torch.eye(3, dtype=flip.dtype)):
            frames = warp_frames(frames, flip, border="replicate", sampling=self.sampling)
        return warp_3d(
            frames, depth, motion, fov, padding=self.padding, sampling=self.sampling,
            occlusion_aware=self.occlusion_aware,
        )  # fmt: skip

    def describe(self) -> dict:
        return {
            "schedules": self.schedules.describe(),
            "perspective_flip": self.perspective_flip,
            "padding": self.padding,
            "sampling": self.sampling,
            "save_depth_maps": self.save_depth_maps,
            "occlusion_aware": self.occlusion_aware,
        }


@dataclass(frozen=True)
class EnhanceStage:
    """Contrast and anti-blur (unsharp mask) schedules."""

    schedules: ScheduleSet

    @classmethod
    def parse(cls, texts: Mapping[str, str]) -> EnhanceStage:
        return cls(ScheduleSet.parse({**ENHANCE_SCHEDULES, **texts}))

    def describe(self) -> dict:
        return {"schedules": self.schedules.describe()}

    def apply(
        self, frames: torch.Tensor, values: FrameValues, mask: torch.Tensor | None = None
    ) -> torch.Tensor:
        frames = adjust_contrast(frames, values["contrast"])
        return unsharp_mask(
            frames, values["amount"], values["kernel"], values["sigma"], values["threshold"], mask
        )


@dataclass(frozen=True)
class NoiseStage:
    """Additive noise with an amount schedule, drawn from each frame's seed."""

    schedules: ScheduleSet
    noise_type: str = "gaussian"
    perlin_scale: tuple[int, int] = (8, 8)
    octaves: int = 4
    persistence: float = 0.5

    @classmethod
    def parse(
        cls,
        texts: Mapping[str, str],
        *,
        noise_type: str = "gaussian",
        perlin_scale: tuple[int, int] = (8, 8),
        octaves: int = 4,
        persistence: float = 0.5,
    ) -> NoiseStage:
        return cls(
            ScheduleSet.parse({**NOISE_SCHEDULES, **texts}),
            _choice(noise_type, NOISE_TYPES, "noise_type"),
            perlin_scale,
            octaves,
            persistence,
        )

    def describe(self) -> dict:
        return {
            "schedules": self.schedules.describe(),
            "noise_type": self.noise_type,
            "perlin_scale": list(self.perlin_scale),
            "octaves": self.octaves,
            "persistence": self.persistence,
        }

    def apply(
        self,
        frames: torch.Tensor,
        values: FrameValues,
        seed: int,
        mask: torch.Tensor | None = None,
    ) -> torch.Tensor:
        return add_noise(
            frames,
            values["noise"],
            seed,
            noise_type=self.noise_type,
            perlin_scale=self.perlin_scale,
            octaves=self.octaves,
            persistence=self.persistence,
            mask=mask,
        )


@dataclass(frozen=True)
class ColorCoherenceStage:
    """Deforum's colour coherence: match each frame to a reference frame or image.

    The reference is the first diffused frame (refreshed every `refresh_every` frames when
    that is above 0), or the given image for mode Image, which matches in LAB.
    """

    mode: str = "LAB"
    refresh_every: int = 0
    force_grayscale: bool = False
    image: torch.Tensor | None = None

    def __post_init__(self) -> None:
        _choice(self.mode, COLOR_COHERENCE_MODES, "color_coherence")
        if self.mode == "Image" and self.image is None:
            raise ScheduleError(
                "color coherence Image needs an image",
                parameter="color_coherence",
                hint="connect an image to match, or pick RGB, HSV or LAB",
            )
        if self.refresh_every < 0:
            raise ScheduleError(
                f"refresh_every must be 0 (never) or more, got {self.refresh_every}",
                parameter="refresh_every",
            )

    def describe(self) -> dict:
        image = None if self.image is None else tensor_digest(self.image)
        return {
            "mode": self.mode,
            "refresh_every": self.refresh_every,
            "force_grayscale": self.force_grayscale,
            "image": image,
        }

    def refreshes_reference(self, frame: int) -> bool:
        """Whether the reference is taken from this frame's output."""
        if self.mode == "Image":
            return False
        return frame == 0 or (self.refresh_every > 0 and frame % self.refresh_every == 0)

    def apply(self, frames: torch.Tensor, reference: torch.Tensor | None) -> torch.Tensor:
        if self.mode != "None":
            target = self.image if self.mode == "Image" else reference
            if target is not None:
                space = "LAB" if self.mode == "Image" else self.mode
                frames = match_histograms(frames, target, space)
        return to_grayscale(frames) if self.force_grayscale else frames
