"""MiDaS v3 DPT models: DPT-Hybrid (ViT-B/16 on a ResNet-50 stem) and DPT-Large (ViT-L/16),
built from timm modules with a DPT decoder.

The module tree mirrors MiDaS's (`pretrained.model.*` is the timm ViT,
`pretrained.act_postprocess{1..4}` reassemble its tokens, `scratch.*` is the decoder), so
the released `dpt_hybrid_384.pt` and `dpt_large_384.pt` load as published. The output is
relative inverse depth: larger means nearer.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

import torch
import torch.nn.functional as F
from torch import nn

from ..errors import DeforumError
from .blocks import Upsample2x, fuse, make_scratch, tokens_to_map

FAMILY = "midas_dpt"


@dataclass(frozen=True)
class MidasConfig:
    """Shape of one MiDaS DPT network (the released sizes are in CONFIGS).

    hooks: the transformer blocks whose tokens feed the decoder; with `hybrid`, the first
    two levels come from ResNet stages 0 and 1 instead and only hooks[2:] are used.
    """

    embed_dim: int
    depth: int
    num_heads: int
    hooks: tuple[int, int, int, int]
    features: tuple[int, int, int, int]
    head_features: int = 256
    hybrid: bool = False
    resnet_layers: tuple[int, ...] = (3, 4, 9)
    resnet_channels: tuple[int, ...] = (256, 512, 1024)
    stem_channels: int = 64
    norm_groups: int = 32
    patch_size: int = 16
    img_size: int = 384
    mlp_ratio: float = 4.0


CONFIGS = {
    "vitb_rn50_384": MidasConfig(768, 12, 12, (0, 1, 8, 11), (256, 512, 768, 768), hybrid=True),
    "vitl16_384": MidasConfig(1024, 24, 16, (5, 11, 17, 23), (256, 512, 1024, 1024)),
}


def _resnet_stem(config: MidasConfig) -> nn.Module:
    from timm.layers import GroupNormAct, StdConv2dSame
    from timm.models.resnetv2 import ResNetV2

    return ResNetV2(
        layers=list(config.resnet_layers),
        channels=tuple(config.resnet_channels),
        stem_chs=config.stem_channels,
        num_classes=0,
        global_pool="",
        preact=False,
        stem_type="same",
        conv_layer=partial(StdConv2dSame, eps=1e-8),
        norm_layer=partial(GroupNormAct, num_groups=config.norm_groups),
    )


def _vit(config: MidasConfig) -> nn.Module:
    from timm.models.vision_transformer import VisionTransformer

    options = dict(
        img_size=config.img_size,
        embed_dim=config.embed_dim,
        depth=config.depth,
        num_heads=config.num_heads,
        mlp_ratio=config.mlp_ratio,
        num_classes=0,
        weight_init="skip",  # weights come from a checkpoint (tests: random_init_)
    )
    if not config.hybrid:
        return VisionTransformer(patch_size=config.patch_size, **options)
    try:
        from timm.layers import HybridEmbed
    except ImportError:  # timm < 1.0
        from timm.models.vision_transformer_hybrid import HybridEmbed
    embed = partial(HybridEmbed, backbone=_resnet_stem(config))
    return VisionTransformer(patch_size=1, embed_layer=embed, **options)


class ReadoutProject(nn.Module):
    """MiDaS's "project" readout: each patch token concatenated with the class token."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.project = nn.Sequential(nn.Linear(2 * dim, dim), nn.GELU())

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        patches = tokens[:, 1:]
        readout = tokens[:, :1].expand_as(patches)
        return self.project(torch.cat((patches, readout), dim=-1))


def _postprocess(config: MidasConfig, level: int) -> nn.Sequential:
    """Reassembly of one level; indices 1 and 2 stand where MiDaS transposes and unflattens."""
    features = config.features[level]
    layers: list[nn.Module] = [
        ReadoutProject(config.embed_dim),
        nn.Identity(),
        nn.Identity(),
        nn.Conv2d(config.embed_dim, features, 1),
    ]
    if level == 0:
        layers.append(nn.ConvTranspose2d(features, features, 4, stride=4))
    elif level == 1:
        layers.append(nn.ConvTranspose2d(features, features, 2, stride=2))
    elif level == 3:
        layers.append(nn.Conv2d(features, features, 3, stride=2, padding=1))
    return nn.Sequential(*layers)


class MidasDPT(nn.Module):
    """[B, 3, H, W] normalised (mean 0.5, std 0.5; H, W multiples of 32) -> [B, H, W]."""

    family = FAMILY

    def __init__(self, config: MidasConfig) -> None:
        super().__init__()
        self.config = config
        self.pretrained = nn.Module()
        self.pretrained.model = _vit(config)
        for level in range(4):
            if config.hybrid and level < 2:
                module = nn.Sequential(nn.Identity(), nn.Identity(), nn.Identity())
            else:
                module = _postprocess(config, level)
            setattr(self.pretrained, f"act_postprocess{level + 1}", module)
        self.scratch = make_scratch(list(config.features), config.head_features)
        width = config.head_features
        self.scratch.output_conv = nn.Sequential(
            nn.Conv2d(width, width // 2, 3, padding=1),
            Upsample2x(),
            nn.Conv2d(width // 2, 32, 3, padding=1),
            nn.ReLU(),
            nn.Conv2d(32, 1, 1),
            nn.ReLU(),
            nn.Identity(),
        )

    def _position_embedding(self, grid: tuple[int, int]) -> torch.Tensor:
        """MiDaS's bilinear resampling of the position grid to the input's patch grid."""
        table = self.pretrained.model.pos_embed
        side = int((table.shape[1] - 1) ** 0.5)
        if grid == (side, side):
            return table
        patch_pos = table[:, 1:].reshape(1, side, side, -1).permute(0, 3, 1, 2)
        patch_pos = F.interpolate(patch_pos, size=grid, mode="bilinear", align_corners=False)
        return torch.cat((table[:, :1], patch_pos.permute(0, 2, 3, 1).flatten(1, 2)), dim=1)

    def _features(self, x: torch.Tensor) -> list[torch.Tensor]:
        vit = self.pretrained.model
        config = self.config
        stages: list[torch.Tensor] = []
        if config.hybrid:
            backbone = vit.patch_embed.backbone
            x = backbone.stem(x)
            for stage in backbone.stages:
                x = stage(x)
                stages.append(x)
            x = backbone.norm(x)
        patches = vit.patch_embed.proj(x)
        grid = (patches.shape[-2], patches.shape[-1])
        tokens = patches.flatten(2).transpose(1, 2)
        cls = vit.cls_token.expand(tokens.shape[0], -1, -1)
        tokens = torch.cat((cls, tokens), dim=1) + self._position_embedding(grid)
        first_token_level = 2 if config.hybrid else 0
        hooks = config.hooks[first_token_level:]
        hooked = []
        for index, block in enumerate(vit.blocks[: max(hooks) + 1]):
            tokens = block(tokens)
            if index in hooks:
                hooked.append(tokens)
        layers = stages[:2] if config.hybrid else []
        for level, level_tokens in enumerate(hooked, start=first_token_level):
            post = getattr(self.pretrained, f"act_postprocess{level + 1}")
            feature = tokens_to_map(post[0](level_tokens), grid)
            for module in list(post)[3:]:
                feature = module(feature)
            layers.append(feature)
        return layers

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[-2] % 32 or x.shape[-1] % 32:
            raise DeforumError("MiDaS DPT input sides must be multiples of 32")
        path = fuse(self.scratch, self._features(x))
        return self.scratch.output_conv(path).squeeze(1)
