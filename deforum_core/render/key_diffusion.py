"""Diffusing a render's key frames: the diffuser each key uses, and the checked call.

sampler_schedule can name another sampler from any key on: each such diffuser (the same
model with that sampler) is made once, before frame 0, so a sampler the backend lacks stops
the render before anything is written. A diffuser that returns pixels that are not numbers
(a cfg far too high, a VAE that does not suit the model) stops the render there, naming the
frame, instead of writing black frames.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any

import torch

from ..controlnet import ControlHint
from ..diffusion.backend import DiffusionBackend, DiffusionRequest
from ..errors import DeforumError, ScheduleError


def diffusers_by_key(
    diffuser: DiffusionBackend | None, samplers: Mapping[int, Any]
) -> dict[int, DiffusionBackend]:
    """The diffuser of each key: the given one, or where `samplers` names a sampler for the
    key, the same model with that sampler."""
    if diffuser is None:
        return {}
    by_sampler: dict[Any, DiffusionBackend] = {None: diffuser}
    for sampler in samplers.values():
        if sampler in by_sampler:
            continue
        with_sampler = getattr(diffuser, "with_sampler", None)
        if with_sampler is None:
            raise ScheduleError(
                f"the {diffuser.name} diffuser cannot change its sampler per frame",
                parameter="sampler_schedule",
                hint="leave sampler_schedule empty for this diffuser",
            )
        try:
            by_sampler[sampler] = with_sampler(sampler)
        except DeforumError as error:
            raise ScheduleError(
                error.reason, parameter="sampler_schedule",
                hint="schedule a sampler this backend has, or update it",
            ) from None  # fmt: skip
    return {key: by_sampler[sampler] for key, sampler in samplers.items()}


def diffuse_key(diffuser: DiffusionBackend, request: DiffusionRequest, frame: int) -> torch.Tensor:
    """The key's diffused picture [1, H, W, 3], checked to hold numbers."""
    image = diffuser.diffuse(request).image[:1, ..., :3]
    if not torch.isfinite(image).all():
        raise ScheduleError(
            f"the diffuser returned pixels that are not numbers (cfg {request.cfg:g}, "
            f"steps {request.steps})",
            parameter="cfg_schedule",
            frame=frame,
            hint="lower the cfg, or check that the model and VAE suit each other",
        )
    return image


def diffuse_from(
    diffuser: DiffusionBackend,
    request: DiffusionRequest,
    frame: int,
    controls: Callable[[torch.Tensor], tuple[ControlHint, ...]],
) -> Any:
    """A function diffusing the key's request from another picture with another seed (the
    redo passes of optical_flow_redo_generation and diffusion_redo), with controls(picture)
    as its ControlNet hints (a loopback hint is the picture the pass starts from)."""

    def diffuse(picture: torch.Tensor, seed: int) -> torch.Tensor:
        again = replace(request, image=picture, seed=seed, on_step=None,
                        control=controls(picture))  # fmt: skip
        return diffuse_key(diffuser, again, frame)

    return diffuse
