"""The diffusers backend on a tiny random SD pipeline: strength, steps, seeds, loading, errors."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
import torch

from deforum_core.diffusion import (
    DIFFUSERS_SAMPLERS,
    DiffusersBackend,
    DiffusionError,
    DiffusionRequest,
    FrameText,
    load_diffusers_backend,
)

SIZE = 32


@pytest.fixture(scope="module")
def pipeline_folder(pipeline, tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("saved") / "tiny-sd"
    pipeline.save_pretrained(folder)
    return folder


@pytest.fixture
def backend(pipeline):
    return DiffusersBackend(pipeline, "euler")


@pytest.fixture
def unet_calls(pipeline):
    """Batch sizes of every UNet evaluation during the test."""
    calls: list[int] = []
    handle = pipeline.unet.register_forward_hook(
        lambda module, args, output: calls.append(args[0].shape[0])
    )
    yield calls
    handle.remove()


def frames(seed: int = 0) -> torch.Tensor:
    return torch.rand(1, SIZE, SIZE, 3, generator=torch.Generator().manual_seed(seed))


def request(image=None, strength=0.5, steps=4, cfg=7.0, seed=1, text=None) -> DiffusionRequest:
    return DiffusionRequest(
        text or FrameText("a red cat", "blurry"), strength, steps, cfg, seed,
        width=SIZE, height=SIZE, image=image,
    )  # fmt: skip


def test_strength_one_returns_the_input_unchanged(backend, unet_calls):
    image = frames()
    result = backend.diffuse(request(image, strength=1.0, steps=10))
    assert torch.equal(result.image, image)
    assert result.steps_run == 0 and unet_calls == []


def test_strength_zero_ignores_the_input(backend):
    first = backend.diffuse(request(frames(1), strength=0.0)).image
    second = backend.diffuse(request(frames(2), strength=0.0)).image
    txt2img = backend.diffuse(request(None, strength=0.0)).image
    assert first.shape == (1, SIZE, SIZE, 3)
    assert torch.equal(first, second)
    assert torch.equal(first, txt2img)


@pytest.mark.parametrize(
    ("steps", "strength", "evaluations"),
    [(10, 0.3, 7), (10, 0.25, 7), (10, 0.35, 6), (4, 0.5, 2), (5, 0.0, 5)],
)
def test_denoising_steps_follow_the_strength_rule(
    backend, unet_calls, steps, strength, evaluations
):
    result = backend.diffuse(request(frames(), strength=strength, steps=steps))
    assert unet_calls == [2] * evaluations  # negative and positive prompt in one batch
    assert result.steps_run == evaluations


def test_cfg_one_skips_the_negative_prompt(backend, unet_calls):
    backend.diffuse(request(frames(), strength=0.5, steps=4, cfg=1.0))
    assert unet_calls == [1, 1]


def test_same_seed_same_frame_other_seed_other_frame(backend):
    image = frames()
    first = backend.diffuse(request(image, seed=7)).image
    again = backend.diffuse(request(image, seed=7)).image
    other = backend.diffuse(request(image, seed=8)).image
    assert torch.equal(first, again)
    assert (first - other).abs().max() > 1e-3
    assert first.min() >= 0.0 and first.max() <= 1.0


def test_the_input_shapes_an_img2img_frame(backend):
    first = backend.diffuse(request(frames(1), strength=0.6)).image
    second = backend.diffuse(request(frames(2), strength=0.6)).image
    assert (first - second).abs().max() > 1e-3


def test_prompt_blend_moves_between_the_two_prompts(backend):
    def diffuse(blend: float) -> torch.Tensor:
        text = FrameText("a red cat", "", "a blue dog", "", blend)
        return backend.diffuse(request(frames(), text=text)).image

    current = backend.diffuse(request(frames(), text=FrameText("a red cat"))).image
    following = backend.diffuse(request(frames(), text=FrameText("a blue dog"))).image
    assert torch.equal(diffuse(0.0), current)
    assert torch.equal(diffuse(1.0), following)
    halfway = diffuse(0.5)
    assert not torch.equal(halfway, current) and not torch.equal(halfway, following)


def test_each_prompt_is_encoded_once(pipeline):
    backend = DiffusersBackend(pipeline, "euler")
    for _ in range(3):
        backend.diffuse(request(frames(), steps=2))
    assert backend.embeddings.encoded == 2  # "a red cat" and "blurry"


def test_every_sampler_diffuses_with_its_step_count(pipeline):
    for name in DIFFUSERS_SAMPLERS:
        result = DiffusersBackend(pipeline, name).diffuse(request(frames(), strength=0.4, steps=3))
        assert result.steps_run == 2, name
        assert torch.isfinite(result.image).all(), name


def test_batch_of_frames_keeps_its_size(backend):
    image = torch.cat([frames(1), frames(2)])
    result = backend.diffuse(request(image, strength=0.5))
    assert result.image.shape == (2, SIZE, SIZE, 3)


def test_bad_requests_fail_with_the_fix(backend):
    with pytest.raises(DiffusionError, match="width: 36 is not a multiple of 8"):
        backend.diffuse(DiffusionRequest(FrameText("a"), 0.5, 4, 7.0, 1, width=36, height=SIZE))
    with pytest.raises(DiffusionError, match="image is 30x32 pixels"):
        backend.diffuse(request(torch.rand(1, 32, 30, 3)))
    with pytest.raises(DiffusionError, match="unknown sampler 'k_euler_b'"):
        DiffusersBackend(backend.pipeline, "k_euler_b")


def test_a_saved_diffusers_folder_loads_offline(pipeline_folder, pipeline):
    loaded = load_diffusers_backend(pipeline_folder, sampler="euler", device="cpu")
    original = DiffusersBackend(pipeline, "euler")
    image = frames()
    assert torch.equal(loaded.diffuse(request(image)).image, original.diffuse(request(image)).image)


def test_loading_errors_say_what_to_give(tmp_path, pipeline_folder):
    with pytest.raises(DiffusionError, match="no checkpoint file or diffusers folder"):
        load_diffusers_backend(tmp_path / "missing.safetensors")
    with pytest.raises(DiffusionError, match=r"has no model_index\.json"):
        load_diffusers_backend(tmp_path)
    notes = tmp_path / "notes.txt"
    notes.write_text("not a model", encoding="utf-8")
    with pytest.raises(DiffusionError, match=r"'notes\.txt' is not a checkpoint file"):
        load_diffusers_backend(notes)
    broken = tmp_path / "broken.safetensors"
    broken.write_bytes(b"\x00" * 64)
    with pytest.raises(DiffusionError, match="cannot be read as a checkpoint"):
        load_diffusers_backend(broken)
    with pytest.raises(DiffusionError, match="unknown sampler"):
        load_diffusers_backend(pipeline_folder, sampler="nope")


def test_a_checkpoint_diffusers_cannot_place_offline_names_the_config_fix(tmp_path):
    from safetensors.torch import save_file

    checkpoint = tmp_path / "mystery.safetensors"
    save_file({"weight": torch.zeros(2, 2)}, str(checkpoint))
    with pytest.raises(DiffusionError) as caught:
        load_diffusers_backend(checkpoint, device="cpu")
    message = str(caught.value)
    assert "could not load 'mystery.safetensors' offline" in message
    assert "fix: single-file checkpoints need their model configs offline" in message


def test_a_folder_of_another_pipeline_is_refused(tmp_path):
    (tmp_path / "model_index.json").write_text(json.dumps({"_class_name": "FluxPipeline"}))
    with pytest.raises(DiffusionError, match="holds a FluxPipeline pipeline"):
        load_diffusers_backend(tmp_path)


def test_a_cancel_stops_the_sampler_between_steps(backend, unet_calls):
    class Cancelled(Exception):
        pass

    checks = []

    def cancel_at_the_third_step():
        checks.append(1)
        if len(checks) == 3:
            raise Cancelled()

    with pytest.raises(Cancelled):
        backend.diffuse(
            dataclasses.replace(request(steps=8), check_cancel=cancel_at_the_third_step)
        )
    assert len(unet_calls) == 2  # two steps ran, the third was never started
