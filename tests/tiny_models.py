"""Tiny Stable Diffusion models for tests: random weights, built locally, never downloaded.

``tiny_sd_pipeline`` is a diffusers StableDiffusionPipeline small enough to run dozens of
denoising steps on a CPU in a second, with a CLIP tokenizer made from a vocabulary written
here. ``write_tiny_sd15_checkpoint`` writes an SD1.5 checkpoint that ComfyUI's model detection
accepts (see DESIGN.md): the smallest UNet it maps to SD15, a complete CLIP-L and a TAESD VAE,
with every weight a strided view into one small random tensor so the file stays tiny.
"""

from __future__ import annotations

import itertools
import json
import os
import zlib
from pathlib import Path
from typing import Any

import torch

WORDS = ("a", "cat", "dog", "lake", "red", "blue", "sky", "night")
TOKENS = 16  # tokenizer and text encoder context length
TINY_CHECKPOINT = "deforum_tiny_sd15.ckpt"  # its file name in ComfyUI's checkpoints folder


def _write_tokenizer_files(folder: Path) -> tuple[Path, Path]:
    """A CLIP BPE vocabulary of single characters and whole words, with no merges."""
    vocab = {"<|startoftext|>": 0, "<|endoftext|>": 1}
    for char in sorted(set("".join(WORDS))):
        vocab.setdefault(char, len(vocab))
        vocab.setdefault(f"{char}</w>", len(vocab))
    for word in WORDS:
        vocab.setdefault(f"{word}</w>", len(vocab))
    folder.mkdir(parents=True, exist_ok=True)
    vocab_file, merges_file = folder / "vocab.json", folder / "merges.txt"
    vocab_file.write_text(json.dumps(vocab), encoding="utf-8")
    merges_file.write_text("#version: 0.2\n", encoding="utf-8")
    return vocab_file, merges_file


def tiny_sd_pipeline(scratch: Path, seed: int = 0, *, sd_scale: bool = False) -> Any:
    """A StableDiffusionPipeline with a 2-level UNet, a 2-level VAE (latents are 1/2 of the
    image size) and a 2-layer CLIP text encoder, all seeded.

    sd_scale gives the VAE SD's 1/8 latents and the UNet a third level with attention only at
    the coarsest one, so 512x512 frames cost what a small SD model's would (benchmarks).
    """
    from diffusers import (
        AutoencoderKL,
        EulerDiscreteScheduler,
        StableDiffusionPipeline,
        UNet2DConditionModel,
    )
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTokenizer

    vocab_file, merges_file = _write_tokenizer_files(scratch / "tokenizer-source")
    tokenizer = CLIPTokenizer(str(vocab_file), str(merges_file), model_max_length=TOKENS)
    torch.manual_seed(seed)
    text_encoder = CLIPTextModel(
        CLIPTextConfig(
            vocab_size=len(tokenizer), hidden_size=32, intermediate_size=37,
            num_hidden_layers=2, num_attention_heads=4, max_position_embeddings=TOKENS,
            projection_dim=32, bos_token_id=0, eos_token_id=1, pad_token_id=1,
        )
    )  # fmt: skip
    unet_levels = ("DownBlock2D",) * (2 if sd_scale else 1) + ("CrossAttnDownBlock2D",)
    unet = UNet2DConditionModel(
        block_out_channels=(32, 32, 64) if sd_scale else (32, 64), layers_per_block=1,
        sample_size=16, in_channels=4, out_channels=4, cross_attention_dim=32,
        attention_head_dim=8, down_block_types=unet_levels,
        up_block_types=("CrossAttnUpBlock2D",) + ("UpBlock2D",) * (len(unet_levels) - 1),
        norm_num_groups=8,
    )  # fmt: skip
    vae_channels = (8, 8, 16, 16) if sd_scale else (8, 16)
    vae = AutoencoderKL(
        block_out_channels=vae_channels, in_channels=3, out_channels=3, latent_channels=4,
        down_block_types=("DownEncoderBlock2D",) * len(vae_channels),
        up_block_types=("UpDecoderBlock2D",) * len(vae_channels), norm_num_groups=8,
    )  # fmt: skip
    scheduler = EulerDiscreteScheduler(
        beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear", steps_offset=1
    )
    pipeline = StableDiffusionPipeline(
        vae=vae, text_encoder=text_encoder, tokenizer=tokenizer, unet=unet,
        scheduler=scheduler, safety_checker=None, feature_extractor=None,
        requires_safety_checker=False,
    )  # fmt: skip
    pipeline.set_progress_bar_config(disable=True)
    return pipeline


# --------------------------------------------------------------------------------------------
# A tiny SD1.5 checkpoint in the original (LDM) key layout, for ComfyUI's CheckpointLoader
# --------------------------------------------------------------------------------------------

CHANNELS = 320  # SD1.5's model_channels: ComfyUI's detection requires it
CONTEXT = 768  # CLIP-L width
TIME = 4 * CHANNELS
TAESD_WIDTH = 64
OFFSETS = 4096  # distinct starting points of the weights in the shared vector


def _res_block(prefix: str, channels_in: int, channels: int) -> dict[str, tuple[int, ...]]:
    shapes = {
        f"{prefix}in_layers.0.weight": (channels_in,),
        f"{prefix}in_layers.0.bias": (channels_in,),
        f"{prefix}in_layers.2.weight": (channels, channels_in, 3, 3),
        f"{prefix}in_layers.2.bias": (channels,),
        f"{prefix}emb_layers.1.weight": (channels, TIME),
        f"{prefix}emb_layers.1.bias": (channels,),
        f"{prefix}out_layers.0.weight": (channels,),
        f"{prefix}out_layers.0.bias": (channels,),
        f"{prefix}out_layers.3.weight": (channels, channels, 3, 3),
        f"{prefix}out_layers.3.bias": (channels,),
    }
    if channels_in != channels:
        shapes[f"{prefix}skip_connection.weight"] = (channels, channels_in, 1, 1)
        shapes[f"{prefix}skip_connection.bias"] = (channels,)
    return shapes


def _spatial_transformer(prefix: str, channels: int) -> dict[str, tuple[int, ...]]:
    block = f"{prefix}transformer_blocks.0."
    shapes = {
        f"{prefix}norm.weight": (channels,),
        f"{prefix}norm.bias": (channels,),
        f"{prefix}proj_in.weight": (channels, channels, 1, 1),  # conv: SD1.x, not SD2
        f"{prefix}proj_in.bias": (channels,),
        f"{prefix}proj_out.weight": (channels, channels, 1, 1),
        f"{prefix}proj_out.bias": (channels,),
        f"{block}ff.net.0.proj.weight": (8 * channels, channels),  # GEGLU: 2 x 4·channels
        f"{block}ff.net.0.proj.bias": (8 * channels,),
        f"{block}ff.net.2.weight": (channels, 4 * channels),
        f"{block}ff.net.2.bias": (channels,),
    }
    for attention, source in (("attn1", channels), ("attn2", CONTEXT)):
        shapes[f"{block}{attention}.to_q.weight"] = (channels, channels)
        shapes[f"{block}{attention}.to_k.weight"] = (channels, source)
        shapes[f"{block}{attention}.to_v.weight"] = (channels, source)
        shapes[f"{block}{attention}.to_out.0.weight"] = (channels, channels)
        shapes[f"{block}{attention}.to_out.0.bias"] = (channels,)
    for norm in ("norm1", "norm2", "norm3"):
        shapes[f"{block}{norm}.weight"] = (channels,)
        shapes[f"{block}{norm}.bias"] = (channels,)
    return shapes


def _input_side_shapes() -> dict[str, tuple[int, ...]]:
    """The time embedding and input blocks, which the UNet and its ControlNet share."""
    return {
        "time_embed.0.weight": (TIME, CHANNELS),
        "time_embed.0.bias": (TIME,),
        "time_embed.2.weight": (TIME, TIME),
        "time_embed.2.bias": (TIME,),
        "input_blocks.0.0.weight": (CHANNELS, 4, 3, 3),
        "input_blocks.0.0.bias": (CHANNELS,),
        **_res_block("input_blocks.1.0.", CHANNELS, CHANNELS),
        **_spatial_transformer("input_blocks.1.1.", CHANNELS),
    }


def _unet_shapes() -> dict[str, tuple[int, ...]]:
    """channel_mult [1], num_res_blocks [1], transformer_depth [1], no middle block."""
    prefix = "model.diffusion_model."
    shapes = {
        **_input_side_shapes(),
        **_res_block("output_blocks.0.0.", 2 * CHANNELS, CHANNELS),
        **_spatial_transformer("output_blocks.0.1.", CHANNELS),
        **_res_block("output_blocks.1.0.", 2 * CHANNELS, CHANNELS),
        **_spatial_transformer("output_blocks.1.1.", CHANNELS),
        "out.0.weight": (CHANNELS,),
        "out.0.bias": (CHANNELS,),
        "out.2.weight": (4, CHANNELS, 3, 3),
        "out.2.bias": (4,),
    }
    return {prefix + key: shape for key, shape in shapes.items()}


def _clip_l_shapes() -> dict[str, tuple[int, ...]]:
    """Every weight of OpenAI's CLIP-L text model (12 layers, width 768), HF key names."""
    prefix = "cond_stage_model.transformer.text_model."
    shapes = {
        "embeddings.token_embedding.weight": (49408, CONTEXT),
        "embeddings.position_embedding.weight": (77, CONTEXT),
        "final_layer_norm.weight": (CONTEXT,),
        "final_layer_norm.bias": (CONTEXT,),
    }
    for layer in range(12):
        block = f"encoder.layers.{layer}."
        for projection in ("q_proj", "k_proj", "v_proj", "out_proj"):
            shapes[f"{block}self_attn.{projection}.weight"] = (CONTEXT, CONTEXT)
            shapes[f"{block}self_attn.{projection}.bias"] = (CONTEXT,)
        for norm in ("layer_norm1", "layer_norm2"):
            shapes[f"{block}{norm}.weight"] = (CONTEXT,)
            shapes[f"{block}{norm}.bias"] = (CONTEXT,)
        shapes[f"{block}mlp.fc1.weight"] = (4 * CONTEXT, CONTEXT)
        shapes[f"{block}mlp.fc1.bias"] = (4 * CONTEXT,)
        shapes[f"{block}mlp.fc2.weight"] = (CONTEXT, 4 * CONTEXT)
        shapes[f"{block}mlp.fc2.bias"] = (CONTEXT,)
    return {prefix + key: shape for key, shape in shapes.items()}


def _taesd_shapes() -> dict[str, tuple[int, ...]]:
    """TAESD's encoder and decoder: 3x3 convs and residual blocks of width 64."""
    width = TAESD_WIDTH
    shapes: dict[str, tuple[int, ...]] = {}

    def conv(key: str, channels_in: int, channels_out: int, bias: bool = True) -> None:
        shapes[f"{key}.weight"] = (channels_out, channels_in, 3, 3)
        if bias:
            shapes[f"{key}.bias"] = (channels_out,)

    def block(key: str) -> None:
        for index in (0, 2, 4):
            conv(f"{key}.conv.{index}", width, width)

    encoder = "first_stage_model.taesd_encoder"
    conv(f"{encoder}.0", 3, width)
    layout = ["block", "down", "block", "block", "block", "down", "block", "block", "block"]
    layout += ["down", "block", "block", "block"]
    for index, kind in enumerate(layout, start=1):
        if kind == "block":
            block(f"{encoder}.{index}")
        else:
            conv(f"{encoder}.{index}", width, width, bias=False)
    conv(f"{encoder}.14", width, 4)

    decoder = "first_stage_model.taesd_decoder"
    conv(f"{decoder}.1", 4, width)
    index = 3
    for _ in range(3):  # three blocks, upsample, conv without bias
        for _ in range(3):
            block(f"{decoder}.{index}")
            index += 1
        conv(f"{decoder}.{index + 1}", width, width, bias=False)
        index += 2
    block(f"{decoder}.{index}")
    conv(f"{decoder}.{index + 1}", width, 3)
    return shapes


def tiny_sd15_state_dict(seed: int = 0) -> dict[str, torch.Tensor]:
    """The checkpoint's tensors: strided views into one small random vector (std 0.02).

    Element [i, j, ...] of a weight is base[offset + i + j + ...], so no tensor needs memory
    of its own and torch.save writes the shared vector once. Each weight starts at its own
    offset: layers sharing the very same values would amplify a signal the same way in every
    layer, and TAESD's dozen residual blocks would then blow up.
    """
    shapes = {**_unet_shapes(), **_clip_l_shapes(), **_taesd_shapes()}
    longest = max(sum(side - 1 for side in shape) + 1 for shape in shapes.values())
    generator = torch.Generator().manual_seed(seed)
    base = torch.randn(longest + OFFSETS, generator=generator) * 0.02
    state = {
        key: base.as_strided(shape, (1,) * len(shape), zlib.crc32(key.encode()) % OFFSETS)
        for key, shape in shapes.items()
    }
    # TAESD's last conv: mid-grey plus visible detail, so pictures differ in 8-bit files
    last = "first_stage_model.taesd_decoder.19"
    state[f"{last}.weight"] = state[f"{last}.weight"] * 20
    state[f"{last}.bias"] = torch.full((3,), 0.5)
    return state


def write_tiny_sd15_checkpoint(path: Path, seed: int = 0) -> Path:
    """Write the checkpoint atomically (a listing never shows a half-written file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    torch.save({"state_dict": tiny_sd15_state_dict(seed)}, partial)
    os.replace(partial, path)
    return path


TINY_CONTROLNET = "deforum_tiny_controlnet_sd15.safetensors"  # in ComfyUI's controlnet folder


def _controlnet_shapes() -> dict[str, tuple[int, ...]]:
    """An LDM ControlNet for the tiny UNet (as ComfyUI's cldm.ControlNet builds it from the
    checkpoint's config): its input blocks, one middle ResBlock, a zero conv per input block
    and the hint encoder, 3 channels up to 320 in eight 3x3 convolutions."""
    shapes = {
        **_input_side_shapes(),
        **_res_block("middle_block.0.", CHANNELS, CHANNELS),
        "middle_block_out.0.weight": (CHANNELS, CHANNELS, 1, 1),
        "middle_block_out.0.bias": (CHANNELS,),
    }
    for index in (0, 1):
        shapes[f"zero_convs.{index}.0.weight"] = (CHANNELS, CHANNELS, 1, 1)
        shapes[f"zero_convs.{index}.0.bias"] = (CHANNELS,)
    hint = (3, 16, 16, 32, 32, 96, 96, 256, CHANNELS)
    for step, (channels_in, channels_out) in enumerate(itertools.pairwise(hint)):
        shapes[f"input_hint_block.{2 * step}.weight"] = (channels_out, channels_in, 3, 3)
        shapes[f"input_hint_block.{2 * step}.bias"] = (channels_out,)
    return shapes


def write_tiny_controlnet(path: Path, seed: int = 0) -> Path:
    """A random ControlNet for the tiny checkpoint, as safetensors for ComfyUI's ControlNet
    loader. Its zero convolutions get weights of their own (std 0.5; a trained ControlNet's
    are not zero either), so a hint visibly moves the sampled latents."""
    from safetensors.torch import save_file

    generator = torch.Generator().manual_seed(seed)
    state = {key: torch.randn(shape, generator=generator) * 0.02
             for key, shape in _controlnet_shapes().items()}  # fmt: skip
    for key in state:
        if key.startswith(("zero_convs.", "middle_block_out.")) and key.endswith("weight"):
            state[key] = torch.randn(state[key].shape, generator=generator) * 0.5
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    save_file(state, str(partial))
    os.replace(partial, path)
    return path


def tiny_diffusers_controlnet(unet: Any, seed: int = 7) -> Any:
    """A diffusers ControlNet for the tiny UNet, its output convolutions given seeded random
    weights (a trained ControlNet's are not zero; fresh ones would add nothing)."""
    from diffusers import ControlNetModel

    model = ControlNetModel.from_unet(unet, conditioning_embedding_out_channels=(8, 16))
    generator = torch.Generator().manual_seed(seed)
    outputs = [*model.controlnet_down_blocks, model.controlnet_mid_block,
               model.controlnet_cond_embedding.conv_out]  # fmt: skip
    with torch.no_grad():
        for conv in outputs:
            conv.weight.copy_(torch.randn(conv.weight.shape, generator=generator) * 0.3)
            conv.bias.copy_(torch.randn(conv.bias.shape, generator=generator) * 0.1)
    return model
