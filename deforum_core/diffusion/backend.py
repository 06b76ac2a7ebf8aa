"""The one interface every diffusion backend implements, and the request it is given.

A backend (ComfyUI's own sampler, or diffusers) turns a prepared frame into a diffused frame.
The caller has already evaluated the schedules, so a request carries plain numbers for one
frame: strength, steps, cfg, seed, and the frame's prompts with their blend weight.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import torch

from ..errors import DeforumError
from ..prompts import FramePrompt
from .steps import start_step

LATENT_SCALE = 8  # SD latents are 1/8 of the image size


class DiffusionError(DeforumError):
    """A diffusion request that cannot run as given; the message says how to fix it."""


@dataclass(frozen=True)
class FrameText:
    """The prompts of one frame: the current ones, the next keyframed ones and the weight of
    the next (Deforum's prompt interpolation); blend 0 uses the current prompts only."""

    positive: str
    negative: str = ""
    next_positive: str | None = None
    next_negative: str | None = None
    blend: float = 0.0

    @classmethod
    def from_prompt(cls, prompt: FramePrompt) -> FrameText:
        """A prompt schedule's frame as the text a backend encodes."""
        return cls(
            prompt.positive, prompt.negative, prompt.next_positive, prompt.next_negative,
            prompt.blend,
        )  # fmt: skip


@dataclass(frozen=True)
class DiffusionRequest:
    """One frame to diffuse. image is [B,H,W,C] in 0..1, or None for txt2img."""

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
                f"{name} must be a whole number of at least {LATENT_SCALE}, got {value!r}",
                hint=f"use a multiple of {LATENT_SCALE}, such as 512",
            )
        if value % LATENT_SCALE:
            lower = value - value % LATENT_SCALE
            raise DiffusionError(
                f"{name} {value} is not a multiple of {LATENT_SCALE}",
                hint=f"use {lower} or {lower + LATENT_SCALE}",
            )


def check_request(request: DiffusionRequest) -> None:
    """Checks shared by every backend: image layout, size, steps and strength."""
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


def _nearest(side: int) -> int:
    return max(LATENT_SCALE, round(side / LATENT_SCALE) * LATENT_SCALE)


def unchanged(request: DiffusionRequest) -> DiffusionResult | None:
    """The result of a frame that runs no step (strength 1): its input, untouched."""
    if request.image is not None and request.start >= request.steps:
        return DiffusionResult(request.image, 0)
    return None
