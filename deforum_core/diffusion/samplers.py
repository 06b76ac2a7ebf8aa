"""Deforum's sampler names mapped to diffusers schedulers.

Only data and a lookup live here, so the names can be listed (in a node's combo, in errors)
without importing diffusers. Each entry names the scheduler class and the config overrides
that make it behave like the k-diffusion sampler Deforum users know by that name.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .backend import DiffusionError


@dataclass(frozen=True)
class SchedulerSpec:
    """A diffusers scheduler class name and the config values that select the algorithm."""

    class_name: str
    overrides: dict[str, Any] = field(default_factory=dict)


_KARRAS = {"use_karras_sigmas": True}
_DPMPP_2M = {"algorithm_type": "dpmsolver++", "solver_order": 2}

DIFFUSERS_SAMPLERS: dict[str, SchedulerSpec] = {
    "euler": SchedulerSpec("EulerDiscreteScheduler"),
    "euler_a": SchedulerSpec("EulerAncestralDiscreteScheduler"),
    "lms": SchedulerSpec("LMSDiscreteScheduler"),
    "lms_karras": SchedulerSpec("LMSDiscreteScheduler", _KARRAS),
    "heun": SchedulerSpec("HeunDiscreteScheduler"),
    "dpm2": SchedulerSpec("KDPM2DiscreteScheduler"),
    "dpm2_karras": SchedulerSpec("KDPM2DiscreteScheduler", _KARRAS),
    "dpm2_a": SchedulerSpec("KDPM2AncestralDiscreteScheduler"),
    "dpm2_a_karras": SchedulerSpec("KDPM2AncestralDiscreteScheduler", _KARRAS),
    "dpmpp_2m": SchedulerSpec("DPMSolverMultistepScheduler", _DPMPP_2M),
    "dpmpp_2m_karras": SchedulerSpec("DPMSolverMultistepScheduler", {**_DPMPP_2M, **_KARRAS}),
    "dpmpp_2m_sde": SchedulerSpec(
        "DPMSolverMultistepScheduler", {"algorithm_type": "sde-dpmsolver++", "solver_order": 2}
    ),
    "dpmpp_2m_sde_karras": SchedulerSpec(
        "DPMSolverMultistepScheduler",
        {"algorithm_type": "sde-dpmsolver++", "solver_order": 2, **_KARRAS},
    ),
    "unipc": SchedulerSpec("UniPCMultistepScheduler"),
    "ddim": SchedulerSpec("DDIMScheduler"),
}

# Other spellings found in Deforum settings files (k-diffusion and webui names).
SAMPLER_ALIASES = {
    "euler_ancestral": "euler_a",
    "klms": "lms",
    "dpm2_ancestral": "dpm2_a",
    "dpmpp_2m_k": "dpmpp_2m_karras",
}


def scheduler_spec(name: str) -> SchedulerSpec:
    """The diffusers scheduler for a Deforum sampler name, or an error listing the valid ones."""
    key = name.strip().lower().replace(" ", "_").replace("+", "p")
    key = SAMPLER_ALIASES.get(key, key)
    spec = DIFFUSERS_SAMPLERS.get(key)
    if spec is None:
        valid = ", ".join([*DIFFUSERS_SAMPLERS, *SAMPLER_ALIASES])
        raise DiffusionError(
            f"sampler: unknown sampler {name!r} for the diffusers backend",
            hint=f"use one of {valid}",
        )
    return spec
