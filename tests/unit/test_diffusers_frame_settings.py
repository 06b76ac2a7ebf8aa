"""The per-frame A1111 settings in the diffusers backend, on the tiny random SD pipeline:
noise multiplier, variation seed (subseed, subseed_strength) and clip skip."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from deforum_core.diffusion import DiffusersBackend, DiffusionError, DiffusionRequest, FrameText
from deforum_core.diffusion.variation import slerp

SIZE = 32
LATENT = (1, 4, SIZE // 2, SIZE // 2)  # the tiny VAE halves the image
SEED, SUBSEED = 7, 11


@pytest.fixture
def backend(pipeline):
    return DiffusersBackend(pipeline, "euler")


def frames(seed: int = 0) -> torch.Tensor:
    return torch.rand(1, SIZE, SIZE, 3, generator=torch.Generator().manual_seed(seed))


def request(image=None, strength=0.5, steps=4, cfg=7.0, seed=SEED, **fields) -> DiffusionRequest:
    return DiffusionRequest(
        FrameText("a red cat", "blurry"), strength, steps, cfg, seed,
        width=SIZE, height=SIZE, image=image, **fields,
    )  # fmt: skip


def seed_noise(seed: int) -> torch.Tensor:
    return torch.randn(LATENT, generator=torch.Generator("cpu").manual_seed(seed))


def start_sigma(pipeline, steps: int, start: int) -> float:
    """The sigma the euler schedule of `steps` steps has at step `start`."""
    from diffusers import EulerDiscreteScheduler

    scheduler = EulerDiscreteScheduler.from_config(pipeline.scheduler.config)
    scheduler.set_timesteps(steps)
    return float(scheduler.sigmas[start])


@pytest.fixture
def unet_inputs(pipeline):
    """The latents and text embeddings of every UNet call during the test."""
    calls: list[tuple[torch.Tensor, torch.Tensor]] = []

    def record(module, args, kwargs):
        calls.append((args[0].clone(), kwargs["encoder_hidden_states"].clone()))

    handle = pipeline.unet.register_forward_pre_hook(record, with_kwargs=True)
    yield calls
    handle.remove()


def test_default_settings_give_the_frames_of_a_request_without_them(backend) -> None:
    image = frames()
    for base in (request(image), request(None, strength=0.0)):
        explicit = dataclasses.replace(
            base, noise_multiplier=1.0, subseed=SUBSEED, subseed_strength=0.0, clip_skip=1
        )
        assert torch.equal(backend.diffuse(base).image, backend.diffuse(explicit).image)
        assert torch.equal(backend.start_latents(base), backend.start_latents(explicit))


def test_the_noise_multiplier_scales_the_noise_added_to_the_input_frame(backend, pipeline) -> None:
    image = frames()
    clean = backend.start_latents(request(image, noise_multiplier=0.0))  # the encoded frame
    added = backend.start_latents(request(image)) - clean
    sigma = start_sigma(pipeline, steps=4, start=2)
    assert torch.allclose(added, sigma * seed_noise(SEED), atol=1e-5)
    for multiplier in (1.05, 2.0):
        scaled = backend.start_latents(request(image, noise_multiplier=multiplier)) - clean
        assert torch.allclose(scaled, multiplier * added, atol=1e-5)
    plain = backend.diffuse(request(image)).image
    louder = backend.diffuse(request(image, noise_multiplier=1.05)).image
    assert (plain - louder).abs().max() > 1e-4


def test_diffuse_starts_from_the_start_latents(backend, pipeline, unet_inputs) -> None:
    frame = request(frames(), cfg=1.0, noise_multiplier=1.05, subseed=SUBSEED,
                    subseed_strength=0.4)  # fmt: skip
    expected = backend.start_latents(frame)
    backend.diffuse(frame)
    sigma = start_sigma(pipeline, steps=4, start=2)
    first_input = unet_inputs[0][0]  # euler scales the latents by 1/sqrt(sigma²+1)
    assert torch.allclose(first_input * (sigma**2 + 1) ** 0.5, expected, atol=1e-5)


def test_the_noise_multiplier_leaves_txt2img_frames_alone(backend) -> None:
    plain = request(None, strength=0.0)
    louder = dataclasses.replace(plain, noise_multiplier=1.05)
    assert torch.equal(backend.start_latents(plain), backend.start_latents(louder))
    assert torch.equal(backend.diffuse(plain).image, backend.diffuse(louder).image)


def test_variation_seed_slerps_the_initial_noise(backend, pipeline) -> None:
    sigma = float(
        pipeline.scheduler.__class__.from_config(pipeline.scheduler.config).init_noise_sigma
    )

    def start(**fields) -> torch.Tensor:  # txt2img: the noise times the first sigma
        return backend.start_latents(request(None, strength=0.0, **fields))

    assert torch.equal(start(subseed=SUBSEED, subseed_strength=0.0), start())
    assert torch.equal(start(subseed=SUBSEED, subseed_strength=1.0), start(seed=SUBSEED))
    halfway = start(subseed=SUBSEED, subseed_strength=0.5)
    expected = slerp(0.5, seed_noise(SEED), seed_noise(SUBSEED)) * sigma
    assert torch.allclose(halfway, expected, atol=1e-5)
    # a slerp keeps the noise's scale where averaging two noises would shrink it by 1/sqrt(2)
    assert halfway.std() / start().std() == pytest.approx(1.0, abs=0.1)


def test_variation_seed_changes_frames_and_strength_one_is_the_subseeds_frame(backend) -> None:
    image = frames()
    plain = backend.diffuse(request(image)).image
    assert torch.equal(backend.diffuse(request(image, subseed=SUBSEED)).image, plain)
    varied = backend.diffuse(request(image, subseed=SUBSEED, subseed_strength=0.5)).image
    assert (varied - plain).abs().max() > 1e-4
    # euler draws no noise of its own after the first, so the subseed's noise is the frame
    full = backend.diffuse(request(image, subseed=SUBSEED, subseed_strength=1.0)).image
    assert torch.equal(full, backend.diffuse(request(image, seed=SUBSEED)).image)


def test_variation_seed_keeps_the_seeds_generator_for_ancestral_steps(pipeline) -> None:
    """Only the first noise varies: an ancestral sampler's later noise still comes from the
    seed's generator (as in A1111), so strength 1 is not simply seed=subseed."""
    backend = DiffusersBackend(pipeline, "euler_a")
    full = backend.diffuse(request(frames(), subseed=SUBSEED, subseed_strength=1.0)).image
    other_seed = backend.diffuse(request(frames(), seed=SUBSEED)).image
    assert not torch.equal(full, other_seed)
    assert torch.equal(
        backend.start_latents(request(frames(), subseed=SUBSEED, subseed_strength=1.0)),
        backend.start_latents(request(frames(), seed=SUBSEED)),
    )


def penultimate_layer(pipeline, text: str) -> torch.Tensor:
    """A1111's clip skip 2 computed directly: the text encoder's hidden state before the last
    layer, through the final layer norm (transformers 5.6 moved it from text_model onto the
    CLIPTextModel itself)."""
    ids = pipeline.tokenizer(
        text, padding="max_length", max_length=pipeline.tokenizer.model_max_length,
        truncation=True, return_tensors="pt",
    ).input_ids  # fmt: skip
    encoder = pipeline.text_encoder
    with torch.inference_mode():
        hidden = encoder(ids, output_hidden_states=True).hidden_states[-2]
        return getattr(encoder, "text_model", encoder).final_layer_norm(hidden)


def test_clip_skip_two_reads_the_penultimate_layer_through_the_final_norm(
    backend, pipeline, unet_inputs
) -> None:
    skipped = backend.embeddings("a red cat", 2).tokens
    assert torch.allclose(skipped, penultimate_layer(pipeline, "a red cat"), atol=1e-6)
    assert not torch.allclose(skipped, backend.embeddings("a red cat").tokens, atol=1e-3)

    image = frames()
    plain = backend.diffuse(request(image, cfg=1.0)).image
    skipping = backend.diffuse(request(image, cfg=1.0, clip_skip=2)).image
    assert (plain - skipping).abs().max() > 1e-4
    assert torch.equal(unet_inputs[-1][1], skipped)  # what the UNet was conditioned on


def test_the_clip_skip_path_reads_the_last_layer_as_encode_prompt_does(backend) -> None:
    """At depth 1 the backend's own clip skip encoding (tokenizer, mask, final norm) gives
    what diffusers' encode_prompt gives for no clip skip."""
    with torch.inference_mode():
        own = backend._encode_skipping("a red cat", 1)
    assert torch.allclose(own, backend.embeddings("a red cat").tokens, atol=1e-6)


def test_each_prompt_is_encoded_once_per_clip_skip(pipeline) -> None:
    backend = DiffusersBackend(pipeline, "euler")
    for _ in range(2):
        for clip_skip in (1, 2):
            backend.diffuse(request(frames(), steps=2, clip_skip=clip_skip))
    assert backend.embeddings.encoded == 4  # "a red cat" and "blurry", at two layers


def test_bad_settings_fail_with_the_fix(backend) -> None:
    with pytest.raises(DiffusionError, match="clip_skip 3 is deeper than the model's text "
                       "encoder, which has 2 layers") as caught:  # fmt: skip
        backend.diffuse(request(frames(), clip_skip=3))
    assert "fix: use a clip skip from 1 to 2" in str(caught.value)
    with pytest.raises(DiffusionError, match=r"subseed_strength must lie in 0\.\.1"):
        backend.diffuse(request(frames(), subseed_strength=1.5))
    with pytest.raises(DiffusionError, match="subseed must be a whole number"):
        backend.start_latents(request(frames(), subseed=-1, subseed_strength=0.5))
    with pytest.raises(DiffusionError, match="noise_multiplier must be a number from 0"):
        backend.diffuse(request(frames(), noise_multiplier=-1.0))


def test_a_frame_that_runs_no_step_starts_and_ends_as_its_input(backend) -> None:
    image = frames()
    kept = request(image, strength=1.0, noise_multiplier=1.5, subseed=SUBSEED,
                   subseed_strength=0.5, clip_skip=2)  # fmt: skip
    assert torch.equal(backend.diffuse(kept).image, image)
    assert backend.start_latents(kept).shape == LATENT


def test_a_settings_file_sampler_swaps_the_scheduler_and_keeps_the_model(backend) -> None:
    from deforum_core.diffusion.sampler_names import SamplerChoice

    chosen = backend.with_sampler(SamplerChoice("dpmpp_2m", "karras", "dpmpp_2m_karras"))
    assert chosen.describe()["sampler"] == "dpmpp_2m_karras"
    assert chosen.pipeline is backend.pipeline and chosen.embeddings is backend.embeddings
    assert type(chosen._scheduler_class()).__name__ == "DPMSolverMultistepScheduler"
    assert backend.with_sampler(SamplerChoice("euler", "normal", "euler")) is backend
