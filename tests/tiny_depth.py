"""Reduced depth networks for tests: the real architectures with few, narrow layers.

`tiny_depth_model(model_type)` builds a network of the model type's family (same module
tree and code path, so the same loader, estimator and nodes run) with seeded random weights.
`write_tiny_depth_file` saves one as safetensors, loadable with the model type it was
built for. `random_init_` fills any network (full-size ones too) with fast, deterministic,
well-scaled random weights.
"""

from __future__ import annotations

import os
from pathlib import Path

import torch
from torch import nn

from deforum_core.depth.depth_anything import DepthAnythingConfig
from deforum_core.depth.dpt import MidasConfig
from deforum_core.depth.estimator import DepthEstimator
from deforum_core.depth.loading import build_network, full_config, save_depth_network
from deforum_core.depth.specs import resolve_model_type

TINY_CONFIGS: dict[str, DepthAnythingConfig | MidasConfig] = {
    "Depth-Anything-V2-Small": DepthAnythingConfig(
        32, 4, 2, (0, 1, 2, 3), 16, (8, 16, 32, 32), img_size=70
    ),
    "Depth-Anything-V2-Base": DepthAnythingConfig(
        48, 4, 2, (0, 1, 2, 3), 16, (8, 16, 32, 48), img_size=70
    ),
    "Depth-Anything-V2-Large": DepthAnythingConfig(
        64, 4, 2, (0, 1, 2, 3), 32, (16, 32, 64, 64), img_size=70
    ),
    "Midas-3-Hybrid": MidasConfig(
        32, 2, 2, (0, 1, 0, 1), (32, 64, 32, 32), head_features=32, hybrid=True,
        resnet_layers=(1, 1, 1), resnet_channels=(32, 64, 64), stem_channels=16,
        norm_groups=4, img_size=64,
    ),
    "Midas-3-Large": MidasConfig(
        32, 4, 2, (0, 1, 2, 3), (16, 32, 32, 32), head_features=32, img_size=64
    ),
}  # fmt: skip
TINY_INPUT_SIZE = {"depth_anything": 56, "midas_dpt": 64}
_POOL = 1 << 20
_LAST_BIASES = ("depth_head.scratch.output_conv2.2.bias", "scratch.output_conv.4.bias")


@torch.no_grad()
def random_init_(network: nn.Module, seed: int = 0) -> nn.Module:
    """Deterministic random weights, scaled so activations stay O(1); fast for big networks."""
    generator = torch.Generator().manual_seed(seed)
    pool = torch.randn(_POOL, generator=generator)
    doubled = torch.cat((pool, pool))
    for index, (name, parameter) in enumerate(sorted(network.named_parameters())):
        count = parameter.numel()
        start = (index * 7919 + seed * 104729) % _POOL
        if count <= _POOL:
            values = doubled[start : start + count]
        else:
            values = pool.repeat(count // _POOL + 1)[:count]
        values = values.view(parameter.shape).to(parameter.device)
        leaf = name.rsplit(".", 1)[-1]
        if name in _LAST_BIASES:  # keep the output ReLUs mostly open
            parameter.copy_(1.0 + 0.1 * values)
        elif leaf == "gamma":  # layer scale
            parameter.copy_(0.5 + 0.05 * values)
        elif parameter.ndim == 1 and leaf == "weight":  # norms
            parameter.copy_(1.0 + 0.1 * values)
        elif leaf == "bias":
            parameter.copy_(0.02 * values)
        elif parameter.ndim >= 2 and leaf == "weight":
            fan_in = count // parameter.shape[0]
            parameter.copy_(values / max(fan_in, 1) ** 0.5)
        else:  # position embedding, class and mask tokens
            parameter.copy_(0.1 * values)
    return network


def full_depth_model(model_type: str, seed: int = 0) -> nn.Module:
    """A full-size network of the model type with `random_init_` weights (no timm init)."""
    spec = resolve_model_type(model_type)
    network = build_network(spec.family, full_config(spec), device="meta")
    network = network.to_empty(device="cpu")
    return random_init_(network, seed).eval().requires_grad_(False)


def tiny_depth_model(model_type: str, seed: int = 0) -> nn.Module:
    """A reduced network of the model type's architecture with seeded random weights."""
    spec = resolve_model_type(model_type)
    network = build_network(spec.family, TINY_CONFIGS[spec.name])
    return random_init_(network, seed).eval().requires_grad_(False)


def tiny_depth_estimator(
    model_type: str = "Depth-Anything-V2-Small", seed: int = 0, input_size: int | None = None
) -> DepthEstimator:
    """A DepthEstimator around `tiny_depth_model`, at a small network input."""
    spec = resolve_model_type(model_type)
    network = tiny_depth_model(spec.name, seed)
    return DepthEstimator(network, spec, input_size=input_size or TINY_INPUT_SIZE[spec.family])


def write_tiny_depth_file(path: str | os.PathLike, model_type: str, seed: int = 0) -> Path:
    """Save `tiny_depth_model(model_type, seed)` as a safetensors file for the loader."""
    return save_depth_network(tiny_depth_model(model_type, seed), path, model_type)
