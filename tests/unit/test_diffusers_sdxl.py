"""The diffusers backend's SDXL path: two text encoders, pooled embeddings and size ids."""

import pytest
import torch
from tiny_models import TOKENS, _write_tokenizer_files

from deforum_core.diffusion import DiffusionRequest, FrameText, load_diffusers_backend

SIZE = 64


@pytest.fixture(scope="module")
def sdxl_folder(tmp_path_factory):
    """A tiny StableDiffusionXLPipeline from random configs, saved as a diffusers folder."""
    from diffusers import (
        AutoencoderKL,
        EulerDiscreteScheduler,
        StableDiffusionXLPipeline,
        UNet2DConditionModel,
    )
    from transformers import (
        CLIPTextConfig,
        CLIPTextModel,
        CLIPTextModelWithProjection,
        CLIPTokenizer,
    )

    vocab, merges = _write_tokenizer_files(tmp_path_factory.mktemp("tokenizer"))
    tokenizer = CLIPTokenizer(str(vocab), str(merges), model_max_length=TOKENS)
    torch.manual_seed(0)

    def text_config(hidden: int) -> CLIPTextConfig:
        return CLIPTextConfig(
            vocab_size=len(tokenizer), hidden_size=hidden, intermediate_size=37,
            num_hidden_layers=2, num_attention_heads=4, max_position_embeddings=TOKENS,
            projection_dim=16, bos_token_id=0, eos_token_id=1, pad_token_id=1,
        )  # fmt: skip

    text_encoder = CLIPTextModel(text_config(32))
    text_encoder_2 = CLIPTextModelWithProjection(text_config(32))
    unet = UNet2DConditionModel(
        block_out_channels=(32, 64), layers_per_block=1, sample_size=16, in_channels=4,
        out_channels=4, cross_attention_dim=64, attention_head_dim=8, norm_num_groups=8,
        down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
        up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"),
        addition_embed_type="text_time", addition_time_embed_dim=8,
        projection_class_embeddings_input_dim=6 * 8 + 16,
    )  # fmt: skip
    vae = AutoencoderKL(
        block_out_channels=(8, 16), in_channels=3, out_channels=3, latent_channels=4,
        down_block_types=("DownEncoderBlock2D",) * 2, up_block_types=("UpDecoderBlock2D",) * 2,
        norm_num_groups=8,
    )  # fmt: skip
    scheduler = EulerDiscreteScheduler(
        beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear", steps_offset=1
    )
    pipeline = StableDiffusionXLPipeline(
        vae=vae, text_encoder=text_encoder, text_encoder_2=text_encoder_2, tokenizer=tokenizer,
        tokenizer_2=tokenizer, unet=unet, scheduler=scheduler,
    )  # fmt: skip
    folder = tmp_path_factory.mktemp("sdxl") / "tiny-sdxl"
    pipeline.save_pretrained(folder)
    return folder


@pytest.fixture(scope="module")
def backend(sdxl_folder):
    return load_diffusers_backend(sdxl_folder, sampler="euler", device="cpu")


def request(image, strength: float, seed: int = 1) -> DiffusionRequest:
    return DiffusionRequest(FrameText("a red cat", "blurry"), strength, 4, 7.0, seed,
                            width=SIZE, height=SIZE, image=image)  # fmt: skip


def test_sdxl_folder_loads_as_sdxl(backend):
    assert backend.is_xl
    assert type(backend.pipeline).__name__ == "StableDiffusionXLPipeline"


def test_sdxl_strength_rule_and_determinism(backend):
    image = torch.rand(1, SIZE, SIZE, 3, generator=torch.Generator().manual_seed(2))
    kept = backend.diffuse(request(image, 1.0))
    assert kept.steps_run == 0 and torch.equal(kept.image, image)
    calls: list[int] = []
    handle = backend.pipeline.unet.register_forward_hook(
        lambda module, args, output: calls.append(args[0].shape[0])
    )
    try:
        half = backend.diffuse(request(image, 0.5))
    finally:
        handle.remove()
    assert half.steps_run == 2 and len(calls) == 2  # 4 steps, start at round(0.5*4)
    assert half.image.shape == (1, SIZE, SIZE, 3) and torch.isfinite(half.image).all()
    assert torch.equal(backend.diffuse(request(image, 0.5)).image, half.image)
    assert not torch.equal(backend.diffuse(request(image, 0.5, seed=2)).image, half.image)
    txt2img = backend.diffuse(request(None, 0.5))
    assert txt2img.steps_run == 4 and txt2img.image.shape == (1, SIZE, SIZE, 3)


def test_sdxl_refuses_clip_skip_and_takes_the_noise_settings(backend):
    import dataclasses

    from deforum_core.diffusion import DiffusionError

    image = torch.rand(1, SIZE, SIZE, 3, generator=torch.Generator().manual_seed(2))
    with pytest.raises(DiffusionError, match="clip_skip 2 is not supported for SDXL") as caught:
        backend.diffuse(dataclasses.replace(request(image, 0.5), clip_skip=2))
    assert "fix: use clip skip 1" in str(caught.value)
    plain = backend.diffuse(request(image, 0.5)).image
    varied = dataclasses.replace(
        request(image, 0.5), noise_multiplier=1.05, subseed=9, subseed_strength=0.5
    )
    assert not torch.equal(backend.diffuse(varied).image, plain)
