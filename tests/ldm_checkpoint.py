"""Write a diffusers Stable Diffusion pipeline as an original (LDM / CompVis) checkpoint.

The key layout is the one diffusers' single-file loader reads back: the UNet under
``model.diffusion_model.``, the VAE under ``first_stage_model.`` and the CLIP text model under
``cond_stage_model.transformer.``. Each model's mapping is a table of (diffusers prefix,
LDM prefix, renames) rows built from its config; every weight must match exactly one row, so
an architecture the tables do not cover fails loudly instead of writing a partial file.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

Rows = list[tuple[str, str, dict[str, str]]]

UNET, VAE, CLIP = "model.diffusion_model.", "first_stage_model.", "cond_stage_model.transformer."

# LDM's ResBlock names for diffusers' ResnetBlock2D parts
UNET_RESNET = {
    "norm1": "in_layers.0",
    "conv1": "in_layers.2",
    "norm2": "out_layers.0",
    "conv2": "out_layers.3",
    "time_emb_proj": "emb_layers.1",
    "conv_shortcut": "skip_connection",
}
VAE_RESNET = {"conv_shortcut": "nin_shortcut"}
VAE_ATTENTION = {
    "group_norm": "norm",
    "to_q": "q",
    "to_k": "k",
    "to_v": "v",
    "to_out.0": "proj_out",
}
VAE_CONV_1X1 = ("q.weight", "k.weight", "v.weight", "proj_out.weight")  # linear in diffusers


def unet_rows(config: Any) -> Rows:
    """UNet2DConditionModel → LDM UNetModel: input_blocks count resnet(+attention) layers and
    downsamplers in order, output_blocks the up blocks' layers (one more per block), with the
    upsampler beside the last layer of each up block but the final one."""
    layers = config.layers_per_block
    assert isinstance(layers, int), "per-block layer counts are not covered"
    rows: Rows = [
        ("conv_in.", "input_blocks.0.0.", {}),
        ("time_embedding.linear_1.", "time_embed.0.", {}),
        ("time_embedding.linear_2.", "time_embed.2.", {}),
        ("add_embedding.linear_1.", "label_emb.0.0.", {}),  # SDXL's text_time embedding
        ("add_embedding.linear_2.", "label_emb.0.2.", {}),
        ("conv_norm_out.", "out.0.", {}),
        ("conv_out.", "out.2.", {}),
        ("mid_block.resnets.0.", "middle_block.0.", UNET_RESNET),
        ("mid_block.attentions.0.", "middle_block.1.", {}),
        ("mid_block.resnets.1.", "middle_block.2.", UNET_RESNET),
    ]
    last = len(config.down_block_types) - 1
    index = 1
    for block, kind in enumerate(config.down_block_types):
        down = f"down_blocks.{block}."
        for layer in range(layers):
            rows.append((f"{down}resnets.{layer}.", f"input_blocks.{index}.0.", UNET_RESNET))
            if "CrossAttn" in kind:
                rows.append((f"{down}attentions.{layer}.", f"input_blocks.{index}.1.", {}))
            index += 1
        if block < last:
            rows.append((f"{down}downsamplers.0.conv.", f"input_blocks.{index}.0.op.", {}))
            index += 1
    index = 0
    for block, kind in enumerate(config.up_block_types):
        up, attention = f"up_blocks.{block}.", "CrossAttn" in kind
        for layer in range(layers + 1):
            output = f"output_blocks.{index}."
            rows.append((f"{up}resnets.{layer}.", f"{output}0.", UNET_RESNET))
            if attention:
                rows.append((f"{up}attentions.{layer}.", f"{output}1.", {}))
            if block < last and layer == layers:  # after the attention, if there is one
                upsampler = f"{output}{2 if attention else 1}.conv."
                rows.append((f"{up}upsamplers.0.conv.", upsampler, {}))
            index += 1
    return rows


def vae_rows(config: Any) -> Rows:
    """AutoencoderKL → LDM AutoencoderKL: encoder.down.i / decoder.up.(n-1-i), mid.block_1/2."""
    rows: Rows = [
        ("quant_conv.", "quant_conv.", {}),
        ("post_quant_conv.", "post_quant_conv.", {}),
    ]
    for part in ("encoder", "decoder"):
        rows += [
            (f"{part}.conv_in.", f"{part}.conv_in.", {}),
            (f"{part}.conv_out.", f"{part}.conv_out.", {}),
            (f"{part}.conv_norm_out.", f"{part}.norm_out.", {}),
            (f"{part}.mid_block.resnets.0.", f"{part}.mid.block_1.", VAE_RESNET),
            (f"{part}.mid_block.resnets.1.", f"{part}.mid.block_2.", VAE_RESNET),
            (f"{part}.mid_block.attentions.0.", f"{part}.mid.attn_1.", VAE_ATTENTION),
        ]
    count = len(config.block_out_channels)
    for block in range(count):
        down, ldm_down = f"encoder.down_blocks.{block}.", f"encoder.down.{block}."
        for layer in range(config.layers_per_block):
            rows.append((f"{down}resnets.{layer}.", f"{ldm_down}block.{layer}.", VAE_RESNET))
        rows.append((f"{down}downsamplers.0.conv.", f"{ldm_down}downsample.conv.", {}))
        # LDM numbers the decoder's levels from the finest, diffusers from the coarsest
        up, ldm_up = f"decoder.up_blocks.{block}.", f"decoder.up.{count - 1 - block}."
        for layer in range(config.layers_per_block + 1):
            rows.append((f"{up}resnets.{layer}.", f"{ldm_up}block.{layer}.", VAE_RESNET))
        rows.append((f"{up}upsamplers.0.conv.", f"{ldm_up}upsample.conv.", {}))
    return rows


def rename(key: str, rows: Rows) -> str:
    """The LDM name of one diffusers weight (the longest matching prefix wins)."""
    matches = [row for row in rows if key.startswith(row[0])]
    if not matches:
        raise KeyError(f"no LDM name for {key!r}")
    prefix, target, renames = max(matches, key=lambda row: len(row[0]))
    rest = key[len(prefix) :]
    for old, new in renames.items():
        if rest.startswith(old + "."):
            rest = new + rest[len(old) :]
            break
    return target + rest


def ldm_state_dict(pipeline: Any) -> dict[str, torch.Tensor]:
    """The pipeline's UNet, VAE and CLIP text model under their LDM checkpoint names."""
    state: dict[str, torch.Tensor] = {}
    unet = unet_rows(pipeline.unet.config)
    for key, tensor in pipeline.unet.state_dict().items():
        state[UNET + rename(key, unet)] = tensor
    vae = vae_rows(pipeline.vae.config)
    for key, tensor in pipeline.vae.state_dict().items():
        name = rename(key, vae)
        if name.endswith(VAE_CONV_1X1) and ".mid.attn_1." in name:
            tensor = tensor[:, :, None, None]  # LDM's attention projections are 1x1 convs
        state[VAE + name] = tensor
    for key, tensor in pipeline.text_encoder.state_dict().items():
        # newer transformers flatten CLIPTextModel; the checkpoint keeps the text_model level
        name = key if key.startswith("text_model.") else "text_model." + key
        state[CLIP + name] = tensor
    return state


def write_ldm_checkpoint(pipeline: Any, path: Path) -> Path:
    from safetensors.torch import save_file

    state = ldm_state_dict(pipeline)
    save_file({key: tensor.detach().contiguous() for key, tensor in state.items()}, str(path))
    return path
