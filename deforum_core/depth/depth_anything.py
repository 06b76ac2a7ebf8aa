"""Depth Anything V2: a DINOv2 ViT (timm modules) with a DPT decoder.

The module tree mirrors the official release (`pretrained.*` for the DINOv2 encoder,
`depth_head.*` for the decoder), so `depth_anything_v2_vit{s,b,l}.pth` loads as published.
The output is relative inverse depth (disparity): larger means nearer, zero is the farthest.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from ..errors import DeforumError
from .blocks import fuse, make_scratch, tokens_to_map

FAMILY = "depth_anything"


@dataclass(frozen=True)
class DepthAnythingConfig:
    """Shape of one Depth Anything V2 network (the released sizes are in CONFIGS)."""

    embed_dim: int
    depth: int
    num_heads: int
    hooks: tuple[int, int, int, int]
    features: int
    out_channels: tuple[int, int, int, int]
    patch_size: int = 14
    img_size: int = 518
    mlp_ratio: float = 4.0


CONFIGS = {
    "vits": DepthAnythingConfig(384, 12, 6, (2, 5, 8, 11), 64, (48, 96, 192, 384)),
    "vitb": DepthAnythingConfig(768, 12, 12, (2, 5, 8, 11), 128, (96, 192, 384, 768)),
    "vitl": DepthAnythingConfig(1024, 24, 16, (4, 11, 17, 23), 256, (256, 512, 1024, 1024)),
}


def _dinov2(config: DepthAnythingConfig) -> nn.Module:
    from timm.models.vision_transformer import VisionTransformer

    encoder = VisionTransformer(
        img_size=config.img_size,
        patch_size=config.patch_size,
        embed_dim=config.embed_dim,
        depth=config.depth,
        num_heads=config.num_heads,
        mlp_ratio=config.mlp_ratio,
        init_values=1.0,  # layer scale present (its values come from the checkpoint)
        num_classes=0,
        weight_init="skip",  # weights come from a checkpoint (tests: random_init_)
    )
    # DINOv2 checkpoints carry the masked-token embedding used in its pretraining; it is
    # kept so the published state dict loads strictly, and unused at inference.
    encoder.mask_token = nn.Parameter(torch.zeros(1, config.embed_dim))
    return encoder


class DepthAnythingHead(nn.Module):
    """DPT head: per-level 1x1 projections, resampling to strides 4/8/16/32, fusion."""

    def __init__(self, config: DepthAnythingConfig) -> None:
        super().__init__()
        channels = config.out_channels
        self.projects = nn.ModuleList(nn.Conv2d(config.embed_dim, c, 1) for c in channels)
        self.resize_layers = nn.ModuleList(
            [
                nn.ConvTranspose2d(channels[0], channels[0], 4, stride=4),
                nn.ConvTranspose2d(channels[1], channels[1], 2, stride=2),
                nn.Identity(),
                nn.Conv2d(channels[3], channels[3], 3, stride=2, padding=1),
            ]
        )
        features = config.features
        self.scratch = make_scratch(list(channels), features)
        self.scratch.output_conv1 = nn.Conv2d(features, features // 2, 3, padding=1)
        self.scratch.output_conv2 = nn.Sequential(
            nn.Conv2d(features // 2, 32, 3, padding=1),
            nn.ReLU(),
            nn.Conv2d(32, 1, 1),
            nn.ReLU(),
            nn.Identity(),
        )

    def forward(
        self, tokens: list[torch.Tensor], grid: tuple[int, int], patch: int
    ) -> torch.Tensor:
        layers = [
            resize(project(tokens_to_map(level, grid)))
            for level, project, resize in zip(
                tokens, self.projects, self.resize_layers, strict=True
            )
        ]
        path = self.scratch.output_conv1(fuse(self.scratch, layers))
        size = (grid[0] * patch, grid[1] * patch)
        path = F.interpolate(path, size=size, mode="bilinear", align_corners=True)
        return self.scratch.output_conv2(path)


class DepthAnythingV2(nn.Module):
    """[B, 3, H, W] normalised (ImageNet mean/std; H, W multiples of 14) -> [B, H, W]."""

    family = FAMILY

    def __init__(self, config: DepthAnythingConfig) -> None:
        super().__init__()
        self.config = config
        self.pretrained = _dinov2(config)
        self.depth_head = DepthAnythingHead(config)

    def _position_embedding(self, grid: tuple[int, int]) -> torch.Tensor:
        """DINOv2's bicubic resampling of the position grid (with its 0.1 offset)."""
        table = self.pretrained.pos_embed
        count = table.shape[1] - 1
        side = math.isqrt(count)
        if grid == (side, side):
            return table
        cls_pos, patch_pos = table[:, :1], table[:, 1:].float()
        patch_pos = patch_pos.reshape(1, side, side, -1).permute(0, 3, 1, 2)
        scale = ((grid[0] + 0.1) / side, (grid[1] + 0.1) / side)
        patch_pos = F.interpolate(patch_pos, scale_factor=scale, mode="bicubic", antialias=False)
        patch_pos = patch_pos[..., : grid[0], : grid[1]].permute(0, 2, 3, 1).flatten(1, 2)
        return torch.cat((cls_pos, patch_pos.to(table.dtype)), dim=1)

    def encode(self, x: torch.Tensor) -> tuple[list[torch.Tensor], tuple[int, int]]:
        """Normalised patch tokens [B, N, C] of the hooked blocks, and the patch grid."""
        encoder = self.pretrained
        patches = encoder.patch_embed.proj(x)
        grid = (patches.shape[-2], patches.shape[-1])
        tokens = patches.flatten(2).transpose(1, 2)
        cls = encoder.cls_token.expand(tokens.shape[0], -1, -1)
        tokens = torch.cat((cls, tokens), dim=1) + self._position_embedding(grid)
        hooks = self.config.hooks
        outputs = []
        for index, block in enumerate(encoder.blocks[: max(hooks) + 1]):
            tokens = block(tokens)
            if index in hooks:
                outputs.append(encoder.norm(tokens)[:, 1:])
        return outputs, grid

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        patch = self.config.patch_size
        if x.shape[-2] % patch or x.shape[-1] % patch:
            raise DeforumError(f"Depth Anything input sides must be multiples of {patch}")
        tokens, grid = self.encode(x)
        depth = self.depth_head(tokens, grid, patch)
        return F.relu(depth).squeeze(1)
