"""Single-file (original LDM layout) checkpoints through the diffusers backend, offline."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
import torch
from ldm_checkpoint import write_ldm_checkpoint

from deforum_core.diffusion import (
    DiffusersBackend,
    DiffusionError,
    DiffusionRequest,
    FrameText,
    load_diffusers_backend,
)

SIZE = 32


@pytest.fixture(scope="module")
def saved(pipeline, tmp_path_factory) -> tuple[Path, Path]:
    """The tiny pipeline as a diffusers folder and as an LDM single-file checkpoint."""
    root = tmp_path_factory.mktemp("saved")
    pipeline.save_pretrained(root / "tiny-sd")
    return root / "tiny-sd", write_ldm_checkpoint(pipeline, root / "tiny-sd.safetensors")


@pytest.fixture
def hub_requests(monkeypatch) -> list[str]:
    """Host names anything tried to resolve; the lookup fails, so nothing leaves the machine."""
    hosts: list[str] = []

    def refuse(host, *args, **kwargs):
        hosts.append(str(host))
        raise OSError(f"test: no network ({host})")

    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    return hosts


def request(image=None, strength=0.5, steps=4, seed=1) -> DiffusionRequest:
    text = FrameText("a red cat", "blurry")
    return DiffusionRequest(text, strength, steps, 7.0, seed, width=SIZE, height=SIZE, image=image)


def frames(seed: int = 0) -> torch.Tensor:
    return torch.rand(1, SIZE, SIZE, 3, generator=torch.Generator().manual_seed(seed))


def test_the_checkpoint_holds_the_ldm_layout(saved):
    from safetensors import safe_open

    with safe_open(str(saved[1]), framework="pt") as handle:
        keys = set(handle.keys())
    assert "model.diffusion_model.input_blocks.0.0.weight" in keys
    assert "model.diffusion_model.middle_block.1.transformer_blocks.0.attn2.to_k.weight" in keys
    assert "first_stage_model.decoder.up.1.upsample.conv.weight" in keys
    assert "cond_stage_model.transformer.text_model.embeddings.position_embedding.weight" in keys
    assert not any(key.startswith(("unet.", "vae.", "text_encoder.")) for key in keys)


def test_a_single_file_checkpoint_loads_offline_with_a_config_folder(saved, hub_requests):
    folder, checkpoint = saved
    from_file = load_diffusers_backend(checkpoint, sampler="euler", config=folder, device="cpu")
    from_folder = load_diffusers_backend(folder, sampler="euler", device="cpu")
    assert hub_requests == []
    assert type(from_file.pipeline).__name__ == "StableDiffusionPipeline"
    for name in ("unet", "vae", "text_encoder"):
        loaded = getattr(from_file.pipeline, name).state_dict()
        expected = getattr(from_folder.pipeline, name).state_dict()
        assert loaded.keys() == expected.keys(), name
        assert all(torch.equal(loaded[key], expected[key]) for key in expected), name
    for image in (frames(), None):
        first = from_file.diffuse(request(image))
        second = from_folder.diffuse(request(image))
        assert first.steps_run == second.steps_run
        torch.testing.assert_close(first.image, second.image, rtol=0, atol=1e-6)


def test_the_single_file_backend_matches_the_original_pipeline(saved, pipeline):
    folder, checkpoint = saved
    loaded = load_diffusers_backend(checkpoint, sampler="euler", config=folder, device="cpu")
    original = DiffusersBackend(pipeline, "euler")
    image = frames(3)
    assert torch.equal(loaded.diffuse(request(image)).image, original.diffuse(request(image)).image)


def test_without_a_config_folder_the_error_names_the_fix(saved):
    with pytest.raises(DiffusionError) as caught:
        load_diffusers_backend(saved[1], sampler="euler", device="cpu")
    message = str(caught.value)
    assert "could not load 'tiny-sd.safetensors' offline" in message
    assert "fix: single-file checkpoints need their model configs offline: pass `config`" in message


@pytest.mark.parametrize("config", [None, "not-a-folder"])
def test_without_a_config_folder_nothing_asks_the_hub(saved, hub_requests, config):
    # diffusers' from_single_file turns local_files_only off when it finds no local config
    with pytest.raises(DiffusionError, match=r"could not load 'tiny-sd\.safetensors' offline"):
        load_diffusers_backend(saved[1], sampler="euler", device="cpu", config=config)
    assert hub_requests == []
