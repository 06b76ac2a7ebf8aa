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
_EXPONENTIAL = {"use_exponential_sigmas": True}
_DPMPP_2M_SDE = {"algorithm_type": "sde-dpmsolver++", "solver_order": 2}
_DPMPP_3M_SDE = {"algorithm_type": "sde-dpmsolver++", "solver_order": 3}

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
    # added for the webui samplers Deforum settings files name (see sampler_names.py); the
    # Brownian-tree seed is fixed so the same request gives the same frame (diffusers draws a
    # random one otherwise)
    "dpmpp_sde": SchedulerSpec("DPMSolverSDEScheduler", {"noise_sampler_seed": 0}),
    "dpmpp_sde_karras": SchedulerSpec(
        "DPMSolverSDEScheduler", {"noise_sampler_seed": 0, **_KARRAS}
    ),
    # singlestep DPM++ 2S (the 2M settings in the singlestep class): diffusers has no ancestral
    # variant of it
    "dpmpp_2s": SchedulerSpec("DPMSolverSinglestepScheduler", _DPMPP_2M),
    "dpmpp_2s_karras": SchedulerSpec("DPMSolverSinglestepScheduler", {**_DPMPP_2M, **_KARRAS}),
    "dpmpp_2m_sde_exponential": SchedulerSpec(
        "DPMSolverMultistepScheduler", {**_DPMPP_2M_SDE, **_EXPONENTIAL}
    ),
    "dpmpp_2m_sde_heun": SchedulerSpec(
        "DPMSolverMultistepScheduler", {**_DPMPP_2M_SDE, "solver_type": "heun"}
    ),
    "dpmpp_2m_sde_heun_exponential": SchedulerSpec(
        "DPMSolverMultistepScheduler", {**_DPMPP_2M_SDE, "solver_type": "heun", **_EXPONENTIAL}
    ),
    "dpmpp_3m_sde": SchedulerSpec("DPMSolverMultistepScheduler", _DPMPP_3M_SDE),
    "dpmpp_3m_sde_karras": SchedulerSpec(
        "DPMSolverMultistepScheduler", {**_DPMPP_3M_SDE, **_KARRAS}
    ),
    "dpmpp_3m_sde_exponential": SchedulerSpec(
        "DPMSolverMultistepScheduler", {**_DPMPP_3M_SDE, **_EXPONENTIAL}
    ),
    # PLMS as Stable Diffusion shipped it: PNDM's linear multistep part without the
    # Runge-Kutta warm-up
    "plms": SchedulerSpec("PNDMScheduler", {"skip_prk_steps": True}),
    "lcm": SchedulerSpec("LCMScheduler"),
}

# Other spellings found in Deforum settings files (k-diffusion and webui names).
SAMPLER_ALIASES = {
    "euler_ancestral": "euler_a",
    "klms": "lms",
    "dpm2_ancestral": "dpm2_a",
    "dpmpp_2m_k": "dpmpp_2m_karras",
    "dpmpp_2s_a": "dpmpp_2s",
    "dpmpp_2s_a_karras": "dpmpp_2s_karras",
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
