"""The per-frame A1111 settings (noise multiplier, variation seed, clip skip) in the ComfyUI
backend, run inside both real ComfyUIs (March 2024 and late 2025) without a server.

tests/comfy_backend_probe.py records what comfy's sampler is given through ComfyUI's model
wrapper hook; the checks here compare it with prepare_noise and CLIP Set Last Layer.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import comfyui_harness as harness
import pytest
import torch

from deforum_core.diffusion.variation import slerp

pytestmark = pytest.mark.comfyui

PROBE = Path(__file__).resolve().parent.parent / "comfy_backend_probe.py"


@pytest.fixture(scope="module", params=sorted(harness.GENERATIONS))
def probed(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> dict:
    from tiny_models import write_tiny_sd15_checkpoint

    tree = harness.ensure_comfyui(harness.GENERATIONS[request.param])
    scratch = tmp_path_factory.mktemp(request.param)
    checkpoint = write_tiny_sd15_checkpoint(scratch / "tiny.ckpt")
    out = scratch / "probed.pt"
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1", "HF_HUB_OFFLINE": "1"}
    completed = subprocess.run(
        [sys.executable, str(PROBE), str(tree), str(checkpoint), str(out)],
        capture_output=True, text=True, env=env, timeout=600, check=False,
    )  # fmt: skip
    assert completed.returncode == 0, completed.stdout[-4000:] + completed.stderr[-4000:]
    return torch.load(out, weights_only=False)


def sigma_of(step: torch.Tensor, noise: torch.Tensor) -> float:
    """The one factor that turns `noise` into `step` (least squares)."""
    return float((step * noise).sum() / (noise * noise).sum())


def assert_close(actual: torch.Tensor, expected: torch.Tensor) -> None:
    assert torch.allclose(actual, expected, rtol=1e-4, atol=1e-4), (actual - expected).abs().max()


def test_default_settings_leave_the_frame_as_it_was(probed: dict[str, Any]) -> None:
    plain, explicit = probed["plain"], probed["explicit_defaults"]
    assert torch.equal(plain["frame"], explicit["frame"])
    assert torch.equal(plain["start"], explicit["start"])


def test_the_noise_multiplier_scales_the_noise_the_sampler_adds(probed: dict[str, Any]) -> None:
    noise = probed["references"]["seed_noise"]
    clean = probed["multiplier_0"]["start"]  # no noise: the encoded input latent
    added = probed["plain"]["start"] - clean
    sigma = sigma_of(added, noise)
    assert sigma > 0.5  # steps 4, strength 0.5: the sampler starts half way down the schedule
    assert_close(added, sigma * noise)  # the seed's own prepare_noise reached the sampler
    for name, multiplier in (("multiplier_1_05", 1.05), ("multiplier_2", 2.0)):
        assert_close(probed[name]["start"] - clean, multiplier * sigma * noise)
    assert not torch.equal(probed["multiplier_1_05"]["frame"], probed["plain"]["frame"])


def test_the_noise_multiplier_leaves_txt2img_alone(probed: dict[str, Any]) -> None:
    assert torch.equal(probed["txt2img_1_05"]["frame"], probed["txt2img"]["frame"])
    assert torch.equal(probed["txt2img_1_05"]["start"], probed["txt2img"]["start"])


def test_variation_noise_reaches_the_sampler(probed: dict[str, Any]) -> None:
    references = probed["references"]
    seed_noise, subseed_noise = references["seed_noise"], references["subseed_noise"]
    clean = probed["multiplier_0"]["start"]
    sigma = sigma_of(probed["plain"]["start"] - clean, seed_noise)
    halfway = probed["variation_0_5"]["start"] - clean
    assert_close(halfway, sigma * slerp(0.5, seed_noise, subseed_noise))
    assert_close(probed["variation_1"]["start"] - clean, sigma * subseed_noise)
    # strength 1 is the subseed's noise exactly; euler draws no noise of its own after it
    assert torch.equal(probed["variation_1"]["frame"], probed["seed_is_subseed"]["frame"])
    assert not torch.equal(probed["variation_0_5"]["frame"], probed["plain"]["frame"])


def test_clip_skip_encodes_with_a_clip_set_last_layer_clone(probed: dict[str, Any]) -> None:
    references = probed["references"]
    skipped = probed["clip_skip_2"]["cond"]
    assert torch.equal(skipped, references["clip_skip_2_cond"].to(skipped))
    assert not torch.equal(skipped, probed["plain"]["cond"])
    # the user's CLIP was never set: clip skip 1 still reads the last layer afterwards
    assert references["user_clip_layer"] is None
    assert torch.equal(probed["after_clip_skip"]["cond"], probed["plain"]["cond"])
    assert torch.equal(probed["after_clip_skip"]["frame"], probed["plain"]["frame"])


def test_a_keep_mask_keeps_the_input_latent_through_comfys_noise_mask(
    probed: dict[str, Any],
) -> None:
    """The left half of a 64 px frame kept: latent columns 0-3 end as the encoded input,
    whatever the seed; the diffused half does not."""
    latent = probed["references"]["latent"]
    masked, other = probed["masked"]["samples"], probed["masked_other_seed"]["samples"]
    assert_close(masked[..., :4], latent[..., :4])
    assert_close(other[..., :4], latent[..., :4])
    assert (masked[..., 5:] - other[..., 5:]).abs().mean() > 0.05
