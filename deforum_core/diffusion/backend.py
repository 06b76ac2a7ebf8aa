"""The one interface every diffusion backend implements, and the request it is given.

A backend (ComfyUI's own sampler, or diffusers) turns a prepared frame into a diffused frame.
The caller has already evaluated the schedules, so a request carries plain numbers for one
frame: strength, steps, cfg, seed, the frame's prompts with their blend weight, and the
A1111 settings Deforum schedules per frame (noise multiplier, variation seed, clip skip).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

import torch

from ..errors import DeforumError
from ..prompts import FramePrompt
from ..seeds import SEED_MODULUS
from .steps import start_step

if TYPE_CHECKING:
    from ..controlnet.hint import ControlHint

LATENT_SCALE = 8  # SD latents are 1/8 of the image size
MAX_CLIP_SKIP = 24  # the deepest layer ComfyUI's CLIP Set Last Layer node offers (-24)


class DiffusionError(DeforumError):
    """A diffusion request that cannot run as given; the message says how to fix it."""


LINEAR, SPHERICAL = "linear", "spherical"
PROMPT_INTERPOLATIONS = (LINEAR, SPHERICAL)  # how FrameText's encoded prompts are blended


@dataclass(frozen=True)
class FrameText:
    """The prompts of one frame: the current ones, the next keyframed ones and the weight of
    the next (Deforum's prompt interpolation); blend 0 uses the current prompts only.
    `interpolation` says how the two encoded prompts are blended: linearly (Deforum's prompt
    blend) or spherically (Interpolation mode; see conditioning.slerp_vectors)."""

    positive: str
    negative: str = ""
    next_positive: str | None = None
    next_negative: str | None = None
    blend: float = 0.0
    interpolation: str = LINEAR

    @classmethod
    def from_prompt(cls, prompt: FramePrompt, interpolation: str = LINEAR) -> FrameText:
        """A prompt schedule's frame as the text a backend encodes."""
        return cls(
            prompt.positive, prompt.negative, prompt.next_positive, prompt.next_negative,
            prompt.blend, interpolation,
        )  # fmt: skip


@dataclass(frozen=True)
class DiffusionRequest:
    """One frame to diffuse. image is [B,H,W,C] in 0..1, or None for txt2img.

    The fields after check_cancel are A1111 settings that Deforum schedules per frame; their
    defaults leave the frame exactly as it is without them:

    noise_multiplier: Deforum's noise_multiplier_schedule, A1111's "Noise multiplier for
        img2img" (opts.initial_noise_multiplier). A1111 applies it in
        StableDiffusionProcessingImg2Img.sample (modules/processing.py) as `x *= multiplier` on
        the seeded (and variation-slerped) noise before sample_img2img, which then starts
        from init_latent + noise * sigma_start (sd_samplers_kdiffusion.py); only the noise
        added to the encoded input frame is scaled. Txt2img never reads it, so here it
        applies to img2img frames only (is_img2img; see noise_scale).
    subseed, subseed_strength: A1111 variation seeds; the initial noise is slerped from the
        noise of `seed` towards the noise of `subseed` (variation.py).
    clip_skip: A1111 "Clip skip" (CLIP_stop_at_last_layers), Deforum's clipskip_schedule:
        1 reads the text encoder's last layer, 2 the penultimate one, and so on.
    keep_mask: Deforum's mask (stages/mask.py): the diffuser leaves the kept area of an
        img2img frame as the input frame (grey: partly); None diffuses all of it.
    control: the frame's ControlNet hints (deforum_core/controlnet), applied in order; a
        unit at weight 0 is left out, so () renders exactly as without ControlNet.
    """

    text: FrameText
    strength: float
    steps: int
    cfg: float
    seed: int
    width: int = 512
    height: int = 512
    image: torch.Tensor | None = None
    # called before every sampler step, raising to stop (backends whose host does not check)
    check_cancel: Callable[[], None] | None = field(default=None, compare=False)
    noise_multiplier: float = 1.0
    subseed: int = 0
    subseed_strength: float = 0.0
    clip_skip: int = 1
    keep_mask: torch.Tensor | None = None  # [H, W], 1 where an img2img frame is kept as it is
    # called after every sampler step with (steps done, steps run, a preview picture or None)
    on_step: Callable[[int, int, Any], None] | None = field(default=None, compare=False)
    control: tuple[ControlHint, ...] = field(default=(), compare=False)

    def report_step(self, done: int, total: int, preview: Any = None) -> None:
        """Tell whoever asked how far the sampler is (the loop's progress bar)."""
        if self.on_step is not None:
            self.on_step(done, total, preview)

    @property
    def size(self) -> tuple[int, int]:
        """(width, height) of the output: the image's own size when there is one."""
        if self.image is None:
            return self.width, self.height
        return int(self.image.shape[2]), int(self.image.shape[1])

    @property
    def start(self) -> int:
        """First step to run; a strength-0 frame starts from pure noise like txt2img."""
        return start_step(self.steps, self.strength, has_image=self.image is not None)

    @property
    def is_img2img(self) -> bool:
        """True when the input image shapes the result (strength above 0 with an image)."""
        return self.image is not None and self.start > 0

    @property
    def noise_scale(self) -> float:
        """The factor on the initial noise: noise_multiplier for img2img frames, 1 for frames
        that start from pure noise (A1111 applies its multiplier in img2img only)."""
        return self.noise_multiplier if self.is_img2img else 1.0


@dataclass(frozen=True)
class DiffusionResult:
    """The diffused frames ([B,H,W,C] in 0..1) and how many sampler steps ran."""

    image: torch.Tensor
    steps_run: int


class DiffusionBackend(Protocol):
    """What the Deforum loop and the Img2Img node need from a diffusion backend."""

    name: str

    def diffuse(self, request: DiffusionRequest) -> DiffusionResult:
        """Diffuse one frame; strength 1 returns request.image unchanged."""
        ...

    def describe(self) -> dict[str, Any]:
        """What makes its frames what they are, for the run's record: the backend, sampler,
        scheduler, model file and a fingerprint of the weights (never the device)."""
        ...


def check_size(width: int, height: int) -> None:
    """Refuse image sides the latent space cannot represent."""
    for name, value in (("width", width), ("height", height)):
        if not isinstance(value, int) or value < LATENT_SCALE:
            raise DiffusionError(
                f"must be a whole number of at least {LATENT_SCALE}, got {value!r}",
                parameter=name,
                hint=f"use a multiple of {LATENT_SCALE}, such as 512",
            )
        if value % LATENT_SCALE:
            lower = value - value % LATENT_SCALE
            raise DiffusionError(
                f"{value} is not a multiple of {LATENT_SCALE}",
                parameter=name,
                hint=f"use {lower} or {lower + LATENT_SCALE}",
            )


def check_request(request: DiffusionRequest) -> None:
    """Checks shared by every backend: image layout, size, steps, strength and the
    per-frame A1111 settings."""
    if request.image is not None:
        image = request.image
        if image.ndim != 4 or image.shape[-1] not in (3, 4) or image.shape[0] < 1:
            raise DiffusionError(
                f"image must be an IMAGE batch [B,H,W,3], got shape {tuple(image.shape)}",
                hint="connect an IMAGE output such as Load Image",
            )
        width, height = request.size
        if width % LATENT_SCALE or height % LATENT_SCALE:
            raise DiffusionError(
                f"image is {width}x{height} pixels; both sides must be multiples of {LATENT_SCALE}",
                hint=f"resize or crop it to {_nearest(width)}x{_nearest(height)} first, "
                "for example with an Upscale Image node",
            )
    else:
        check_size(request.width, request.height)
    if not isinstance(request.steps, int) or request.steps < 1:
        raise DiffusionError(
            f"steps must be at least 1, got {request.steps!r}", hint="use 1 or more steps"
        )
    if not 0.0 <= request.strength <= 1.0:
        raise DiffusionError(
            f"strength must lie in 0..1, got {request.strength!r}",
            hint="1 keeps the input frame, 0 ignores it",
        )
    check_frame_settings(request)


def check_frame_settings(request: DiffusionRequest) -> None:
    """Checks of the A1111 per-frame settings: noise multiplier, variation seed, clip skip."""
    multiplier = request.noise_multiplier
    if not _is_number(multiplier) or not math.isfinite(multiplier) or multiplier < 0:
        raise DiffusionError(
            f"noise_multiplier must be a number from 0, got {multiplier!r}",
            hint="1 adds the usual noise to an img2img frame; Deforum's default is 1.05",
        )
    strength = request.subseed_strength
    if not _is_number(strength) or not 0.0 <= strength <= 1.0:
        raise DiffusionError(
            f"subseed_strength must lie in 0..1, got {strength!r}",
            hint="0 uses the seed's noise only, 1 the subseed's noise only",
        )
    subseed = request.subseed
    if not _is_whole(subseed) or not 0 <= subseed < SEED_MODULUS:
        raise DiffusionError(
            f"subseed must be a whole number in 0..{SEED_MODULUS - 1} like seed, got {subseed!r}",
            hint="resolve a random subseed (-1) to a number first, or set subseed_strength "
            "to 0 to turn variation off",
        )
    clip_skip = request.clip_skip
    if not _is_whole(clip_skip) or not 1 <= clip_skip <= MAX_CLIP_SKIP:
        raise DiffusionError(
            f"clip_skip must be a whole number in 1..{MAX_CLIP_SKIP}, got {clip_skip!r}",
            hint="1 uses the text encoder's last layer, 2 the penultimate one (A1111's Clip skip)",
        )


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _is_whole(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _nearest(side: int) -> int:
    return max(LATENT_SCALE, round(side / LATENT_SCALE) * LATENT_SCALE)


def unchanged(request: DiffusionRequest) -> DiffusionResult | None:
    """The result of a frame that runs no step (strength 1): its input, untouched."""
    if request.image is not None and request.start >= request.steps:
        return DiffusionResult(request.image, 0)
    return None
