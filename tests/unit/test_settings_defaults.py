"""Each dialect's own defaults (deforum_core/settings_file/defaults.py) against the settings
files Deforum itself ships or dumps: A's scripts/default_settings.txt, the notebook v0.7's
defaults as it dumps them (N), L's runSettings_Template.txt. Values compare with their JSON
types: 10 and 10.0, 1 and True, "1" and 1 all differ, as they do in a settings file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from deforum_core.settings_file.defaults import (
    A_DEFAULTS,
    DIALECT_DEFAULTS,
    L_DEFAULTS,
    N_DEFAULTS,
)

SHARED = Path(__file__).resolve().parents[3] / "shared" / "deforum_settings"


def same(a: object, b: object) -> bool:
    """Equal and of the same JSON type, all the way down."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same(a[key], b[key]) for key in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    return a == b


def differing(defaults: dict[str, object], settings: dict[str, object]) -> set[str]:
    """The keys of a settings file that the defaults hold too, with another value."""
    return {key for key in settings if key in defaults and not same(defaults[key], settings[key])}


@pytest.fixture(scope="module")
def shared() -> Path:
    if not SHARED.is_dir():
        pytest.skip(f"the settings corpus {SHARED} is absent")
    return SHARED


def read(folder: Path, name: str) -> dict[str, object]:
    return json.loads((folder / name).read_text(encoding="utf-8"))


# A's shipped default file was saved by a run (settings.py save_settings_from_animation_run), not
# from args.py untouched:
A_SHIPPED_DIFFERS = {
    "animation_mode",  # saved from the 3D mode; args.py says "2D"
    "batch_name",  # a run resolves {timestring}: "Deforum_20230812221310"
    "init_image",  # a run sets it to None when use_init is off
    "fill",  # the radio is of index type: the file holds the index 0, args.py the name "original"
    "reroll_patience",  # a gradio number box returns 10.0; args.py writes the int 10
    "parseq_manifest",  # the textbox saves ""; args.py says None
    "frame_interpolation_keep_imgs",  # saved with the (hidden) box ticked: True
    # a run folds the positive/negative boxes into every prompt (" ... --neg nsfw, nude"), and
    # the file's prompts are older texts ("tiny cute swamp bunny", "mandelbulb fractals")
    "prompts",
}
# what the shipped file has that is no default: the machine's model and the extension's commit
A_SHIPPED_ONLY = {"sd_model_name", "sd_model_hash", "deforum_git_commit_id"}
# what A_DEFAULTS has that a run's save leaves out: the UI-save names of the positive/negative
# boxes, and what settings.py never saves (get_keys_to_exclude)
A_DEFAULTS_ONLY = {
    "animation_prompts_positive",
    "animation_prompts_negative",
    "perlin_w",
    "perlin_h",
    "image_path",
}


def test_a_defaults_against_the_shipped_default_settings(shared):
    settings = read(shared, "A_v09_default_settings_3d.txt")
    assert differing(A_DEFAULTS, settings) == A_SHIPPED_DIFFERS
    assert set(settings) - set(A_DEFAULTS) == A_SHIPPED_ONLY
    assert set(A_DEFAULTS) - set(settings) == A_DEFAULTS_ONLY


# the run's and the machine's keys the notebook dumps and N_DEFAULTS leaves out (outdir is not in
# the derived file either)
N_INTERNAL = {
    "timestring", "C", "f", "init_latent", "init_sample", "init_sample_raw", "mask_sample",
    "init_c", "seed_internal", "precision", "cond_prompt", "cond_prompts", "uncond_prompt",
    "uncond_prompts",
}  # fmt: skip


def test_n_defaults_against_the_notebook_dump(shared):
    settings = read(shared, "N_v07_notebook_defaults_DERIVED.json")
    assert differing(N_DEFAULTS, settings) == set()
    assert set(settings) - set(N_DEFAULTS) == N_INTERNAL
    assert set(N_DEFAULTS) <= set(settings)


def test_l_defaults_hold_every_key_of_the_template(shared):
    settings = read(shared, "L_v07_template_3d.txt")
    assert set(settings) - set(L_DEFAULTS) == set()


# the template is an example run, L_DEFAULTS are L's code's values (see defaults.py):
L_TEMPLATE_DIFFERS = {
    # the example's own choices
    "batch_name", "prompts", "animation_prompts", "seed", "sampler", "steps", "width", "height",
    "strength", "animation_mode", "max_frames", "diffusion_cadence", "translation_x",
    "translation_y", "translation_z", "strength_schedule", "fps",
    "border",  # the template's "warp" is no border mode (the notebook knows wrap and replicate)
    # the template empties the paths the notebook fills with sample URLs and Colab paths
    "init_image", "mask_file", "colormatch_image", "init_mse_image", "video_init_path",
    "video_mask_path",
    # the same schedules written without the space: "0:(0.02)" for "0: (0.02)"
    "noise_schedule", "contrast_schedule",
}  # fmt: skip


def test_l_defaults_against_the_template(shared):
    settings = read(shared, "L_v07_template_3d.txt")
    assert differing(L_DEFAULTS, settings) == L_TEMPLATE_DIFFERS


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("animation_mode", "2D"),
        ("max_frames", 120),
        ("W", 512),
        ("sampler", "Euler a"),
        ("steps", 25),
        ("seed", -1),
        ("strength", 0.8),
        ("strength_schedule", "0: (0.65)"),
        ("noise_schedule", "0: (0.065)"),
        ("diffusion_cadence", 2),
        ("color_coherence", "LAB"),
        ("legacy_colormatch", False),
        ("noise_type", "perlin"),
        ("enable_noise_multiplier_scheduling", True),
        ("noise_multiplier_schedule", "0: (1.05)"),
        ("depth_algorithm", "Midas-3-Hybrid"),
        ("midas_weight", 0.2),
        ("fov_schedule", "0: (70)"),
        ("near_schedule", "0: (200)"),
        ("translation_z", "0: (1.75)"),
        ("zoom", "0: (1.0025+0.002*sin(1.25*3.14*t/30))"),
        ("hybrid_composite", "None"),
        ("diffusion_redo", "0"),
        ("fill", "original"),
        ("parseq_manifest", None),
        ("fps", 15),
        ("animation_prompts_negative", "nsfw, nude"),
        ("cn_3_weight", "0:(1)"),
        ("cn_5_resize_mode", "Inner Fit (Scale to Fit)"),
    ],
)
def test_a_values_that_matter(key, value):
    assert same(A_DEFAULTS[key], value), (key, A_DEFAULTS[key])


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("animation_mode", "None"),
        ("max_frames", 1000),
        ("W", 512),
        ("sampler", "euler_ancestral"),
        ("steps", 50),
        ("scale", 7),
        ("strength", 0.65),
        ("diffusion_cadence", "1"),
        ("color_coherence", "Match Frame 0 LAB"),
        ("fov", 40),
        ("near_plane", 200),
        ("far_plane", 10000),
        ("midas_weight", 0.3),
        ("zoom", "0:(1.04)"),
        ("noise_schedule", "0: (0.02)"),
        ("hybrid_composite", False),
        ("enable_schedule_samplers", False),
        ("grad_inject_timing", [1, 2, 3, 4, 5, 6, 7, 8, 9]),
    ],
)
def test_n_values_that_matter(key, value):
    assert same(N_DEFAULTS[key], value), (key, N_DEFAULTS[key])


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("width", 768),
        ("sampler", "dpmpp_2s_a"),
        ("steps", 80),
        ("strength", 0.1),
        ("seed_behavior", "iter"),
        ("animation_mode", "None"),
        ("max_frames", 100),
        ("diffusion_cadence", "3"),
        ("color_coherence", "Match Frame 0 LAB"),
        ("interpolate_x_frames", 4),
        ("hybrid_video_flow_method", "Farneback"),
        ("fps", 12),
    ],
)
def test_l_values_that_matter(key, value):
    assert same(L_DEFAULTS[key], value), (key, L_DEFAULTS[key])


def test_l_names_the_size_and_prompts_its_own_way():
    assert "W" not in L_DEFAULTS and "H" not in L_DEFAULTS
    assert isinstance(L_DEFAULTS["prompts"], list)
    assert isinstance(L_DEFAULTS["animation_prompts"], dict)


def test_a_has_five_identical_controlnet_units():
    units = [
        {key.split("_", 2)[2]: value for key, value in A_DEFAULTS.items()
         if key.startswith(f"cn_{unit}_")}
        for unit in range(1, 6)
    ]  # fmt: skip
    assert len(units[0]) == 17
    assert all(same(unit, units[0]) for unit in units)


@pytest.mark.parametrize("dialect", ["A", "N", "L"])
def test_the_defaults_are_json_as_they_stand(dialect):
    defaults = DIALECT_DEFAULTS[dialect]
    assert same(json.loads(json.dumps(defaults)), defaults)


def test_the_dialects_are_the_three_dicts():
    assert DIALECT_DEFAULTS == {"A": A_DEFAULTS, "N": N_DEFAULTS, "L": L_DEFAULTS}
    assert [len(DIALECT_DEFAULTS[d]) for d in "ANL"] == [255, 125, 124]
