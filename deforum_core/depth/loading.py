"""Depth model weights from a file: the published checkpoints or safetensors copies.

`.safetensors` files are read with safetensors; `.pt`/`.pth`/`.ckpt`/`.bin` files with
`torch.load(weights_only=True)`, which refuses anything but tensors and plain containers (no
code runs). The networks' parameter names are the official ones, so a published state dict
loads strictly, without renaming; the only keys dropped are MiDaS's unused ImageNet
classifier (`pretrained.model.head.*`). A file saved by `save_depth_network` also records
its model type and network shape (safetensors metadata), which is how reduced test models
load through the same path.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from dataclasses import asdict
from pathlib import Path

import torch
from torch import nn

from ..errors import DeforumError
from ..files import atomic_output
from .depth_anything import CONFIGS as DEPTH_ANYTHING_CONFIGS
from .depth_anything import DepthAnythingConfig, DepthAnythingV2
from .dpt import CONFIGS as MIDAS_CONFIGS
from .dpt import MidasConfig, MidasDPT
from .specs import DepthModelSpec, resolve_model_type

WEIGHT_EXTENSIONS = (".safetensors", ".pt", ".pth", ".ckpt", ".bin")
IGNORED_KEYS = {
    "midas_dpt": ("pretrained.model.head.weight", "pretrained.model.head.bias"),
    "depth_anything": (),
}
OPTIONAL_KEYS = {"pretrained.mask_token"}
METADATA_TYPE = "deforum_depth_model_type"
METADATA_CONFIG = "deforum_depth_config"


class DepthModelError(DeforumError):
    """A depth model could not be loaded; the message says why and what to do."""


class DepthModelFileNotFound(DepthModelError, FileNotFoundError):
    """The weights file is not there."""


class DepthModelMismatch(DepthModelError, ValueError):
    """The file holds weights of another architecture or size."""


# --- architecture -------------------------------------------------------------------------


def full_config(spec: DepthModelSpec) -> DepthAnythingConfig | MidasConfig:
    """The published network shape of a model type."""
    if spec.family == "depth_anything":
        return DEPTH_ANYTHING_CONFIGS[spec.variant]
    return MIDAS_CONFIGS[spec.variant]


def build_network(
    family: str, config: DepthAnythingConfig | MidasConfig, *, device: str | torch.device = "cpu"
) -> nn.Module:
    """A network of the family and shape, with timm's initialisation (or none on "meta")."""
    with torch.device(device):
        if family == "depth_anything":
            network = DepthAnythingV2(config)
        elif family == "midas_dpt":
            network = MidasDPT(config)
        else:
            raise DeforumError(f"unknown depth network family {family!r}")
    return network.eval()


def _config_from_json(family: str, text: str) -> DepthAnythingConfig | MidasConfig:
    fields = json.loads(text)
    fields = {
        key: tuple(value) if isinstance(value, list) else value for key, value in fields.items()
    }
    config_type = DepthAnythingConfig if family == "depth_anything" else MidasConfig
    return config_type(**fields)


# --- files --------------------------------------------------------------------------------


def missing_file_error(
    spec: DepthModelSpec, path: str | os.PathLike | None, folders: Iterable[str | os.PathLike] = ()
) -> DepthModelFileNotFound:
    """The error for a weights file that is not there, naming what to put where."""
    folders = [str(folder) for folder in folders]
    where = (
        "the depth model folder " + " or ".join(repr(folder) for folder in folders)
        if folders
        else "ComfyUI's models/depth folder"
    )
    names = " or ".join(spec.expected_files())
    if path:
        first = f"depth model file not found: {str(path)!r}. For {spec.name}, put"
    else:
        first = f"no {spec.name} weights found: put"
    download = spec.download()
    copy = "" if download is None else f", or {download[0]} from {download[1]}"
    return DepthModelFileNotFound(
        f"{first} {names} in {where}, or give the path of the file. {spec.name} is published "
        f"by {spec.publisher} (license {spec.license}); download {spec.files[0]} from there"
        f"{copy} yourself (this pack downloads nothing)."
    )


def find_model_file(spec: DepthModelSpec, folders: Iterable[str | os.PathLike]) -> Path | None:
    """The first official file name of the model type found in the folders (or below)."""
    folders = [Path(folder) for folder in folders]
    for name in spec.expected_files():
        for folder in folders:
            candidate = folder / name
            if candidate.is_file():
                return candidate
    for name in spec.expected_files():
        for folder in folders:
            if folder.is_dir():
                for candidate in sorted(folder.rglob(name)):
                    if candidate.is_file():
                        return candidate
    return None


def read_state_dict(path: str | os.PathLike) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    """The tensors of a weights file (and its safetensors metadata), on the CPU."""
    path = Path(path)
    if path.suffix.lower() == ".safetensors":
        return _read_safetensors(path)
    try:
        content = torch.load(str(path), map_location="cpu", weights_only=True)
    except Exception:  # an unrestricted pickle, or not a checkpoint at all
        raise DepthModelError(  # never torch's text: it quotes the file and advises unsafe loads
            f"{path.name} is not a plain weights file that can be read safely: it holds Python "
            "objects, or is not a PyTorch checkpoint. Use the official checkpoint or a "
            ".safetensors file."
        ) from None
    for wrapper in ("model", "state_dict", "module"):
        if isinstance(content, Mapping) and isinstance(content.get(wrapper), Mapping):
            content = content[wrapper]
    if not isinstance(content, Mapping):
        raise DepthModelError(f"{path.name} does not hold a state dict")
    tensors = {
        (key[len("module.") :] if key.startswith("module.") else key): value
        for key, value in content.items()
        if isinstance(value, torch.Tensor)
    }
    return tensors, {}


def _read_safetensors(path: Path) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    from safetensors import safe_open

    tensors = {}
    try:
        with safe_open(str(path), framework="pt", device="cpu") as handle:
            metadata = dict(handle.metadata() or {})
            for key in handle.keys():  # noqa: SIM118 - safe_open is not a mapping
                tensors[key] = handle.get_tensor(key)
    except Exception:  # safetensors' own error type: truncated, or not safetensors at all
        raise DepthModelError(
            f"{path.name} is not a readable .safetensors file; it may be truncated by an "
            "interrupted download. Download it again, or use the official checkpoint."
        ) from None
    return tensors, metadata


def save_depth_network(network: nn.Module, path: str | os.PathLike, model_type: str) -> Path:
    """Write a network's weights as safetensors, recording its model type and shape."""
    from safetensors.torch import save_file

    spec = resolve_model_type(model_type)
    if network.family != spec.family:
        raise DeforumError(f"a {network.family} network cannot be saved as {spec.name}")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tensors = {
        key: value.detach().contiguous().cpu() for key, value in network.state_dict().items()
    }
    metadata = {METADATA_TYPE: spec.name, METADATA_CONFIG: json.dumps(asdict(network.config))}
    with atomic_output(path) as temporary:
        save_file(tensors, str(temporary), metadata=metadata)
    return path


# --- recognising a state dict -------------------------------------------------------------


def detect_model_type(state: Mapping[str, torch.Tensor]) -> str | None:
    """The published model type whose layout and width the state dict has, if any."""

    def width(key: str) -> int | None:
        value = state.get(key)
        return int(value.shape[-1]) if value is not None and value.ndim == 2 else None

    def blocks(prefix: str) -> int:
        numbers = {key[len(prefix) :].split(".", 1)[0] for key in state if key.startswith(prefix)}
        return len([number for number in numbers if number.isdigit()])

    if "depth_head.projects.0.weight" in state:
        dim, depth = width("pretrained.blocks.0.attn.qkv.weight"), blocks("pretrained.blocks.")
        return {
            (384, 12): "Depth-Anything-V2-Small",
            (768, 12): "Depth-Anything-V2-Base",
            (1024, 24): "Depth-Anything-V2-Large",
        }.get((dim, depth))
    if "scratch.output_conv.0.weight" in state and not any("relative_position" in k for k in state):
        dim = width("pretrained.model.blocks.0.attn.qkv.weight")
        depth = blocks("pretrained.model.blocks.")
        hybrid = "pretrained.model.patch_embed.backbone.stem.conv.weight" in state
        if hybrid and (dim, depth) == (768, 12):
            return "Midas-3-Hybrid"
        if not hybrid and (dim, depth) == (1024, 24):
            return "Midas-3-Large"
    return None


def describe_layout(state: Mapping[str, torch.Tensor]) -> str:
    """A short guess at what a state dict holds, for error messages."""
    keys = list(state)
    if any("relative_position" in key for key in keys):
        return "a MiDaS 3.1 BEiT model (not supported yet)"
    if any(key.startswith(("backbone.embeddings", "neck.", "head.head")) for key in keys):
        return (
            "a Hugging Face transformers conversion (the *-hf repositories); use the original "
            "checkpoint instead"
        )
    qkv = state.get("pretrained.blocks.0.attn.qkv.weight")
    if qkv is not None and qkv.shape[-1] == 1536:
        return "Depth Anything V2 Giant (not supported)"
    if any(key.startswith("pretrained.layer1.") for key in keys):
        return "a MiDaS v2.1 model (not supported; use MiDaS v3 DPT)"
    if any(key.startswith(("core.", "conditional_log_binomial")) for key in keys):
        return "a ZoeDepth model (not supported)"
    return "an unknown network"


def _examples(keys: Iterable[str], limit: int = 4) -> str:
    keys = sorted(keys)
    shown = ", ".join(keys[:limit])
    return shown + (f", ... ({len(keys) - limit} more)" if len(keys) > limit else "")


def _mismatch_error(
    spec: DepthModelSpec,
    path: Path,
    missing: set[str],
    unexpected: set[str],
    reshaped: list[str],
    state: Mapping[str, torch.Tensor],
) -> DepthModelMismatch:
    parts = [f"{path.name} does not hold {spec.name} weights:"]
    if missing:
        parts.append(f"{len(missing)} expected keys are missing ({_examples(missing)});")
    if unexpected:
        parts.append(f"{len(unexpected)} keys are unexpected ({_examples(unexpected)});")
    if reshaped:
        parts.append(f"{len(reshaped)} tensors have other shapes ({_examples(reshaped)});")
    detected = detect_model_type(state)
    if detected and detected != spec.name:
        parts.append(f"the file holds {detected} weights: set model_type to {detected}.")
    else:
        parts.append(
            f"the file looks like {describe_layout(state)}. Choose the model_type that matches "
            f"the file, or use {' or '.join(spec.files)} for {spec.name}."
        )
    return DepthModelMismatch(" ".join(parts))


# --- loading --------------------------------------------------------------------------------


def _aligned(value: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """The tensor in `dtype`, in its own 64-byte aligned memory (files give packed views;
    misaligned weights run slower and round differently from freshly allocated ones)."""
    if value.is_floating_point():
        value = value.to(dtype)
    if value.data_ptr() % 64 or not value.is_contiguous():
        value = value.clone(memory_format=torch.contiguous_format)
    return value


def load_depth_network(
    model_type: str,
    path: str | os.PathLike,
    *,
    folders: Iterable[str | os.PathLike] = (),
    dtype: torch.dtype = torch.float32,
) -> nn.Module:
    """The network of `model_type` with the weights in `path`, in eval mode on the CPU.

    Raises DepthModelFileNotFound (naming the expected file, the folders and the publisher)
    when the file is not there, and DepthModelMismatch (counting missing and unexpected keys
    and naming the model type the file does hold) when it is another network.
    """
    spec = resolve_model_type(model_type)
    path = Path(path)
    if not path.is_file():
        raise missing_file_error(spec, path, folders)
    state, metadata = read_state_dict(path)
    if METADATA_CONFIG in metadata:
        saved_type = metadata.get(METADATA_TYPE, "")
        if saved_type != spec.name:
            raise DepthModelMismatch(
                f"{path.name} holds {saved_type or 'another'} weights, not {spec.name}: set "
                f"model_type to {saved_type}."
            )
        config = _config_from_json(spec.family, metadata[METADATA_CONFIG])
    else:
        config = full_config(spec)
    network = build_network(spec.family, config, device="meta")
    for key in IGNORED_KEYS[spec.family]:
        state.pop(key, None)
    expected = network.state_dict()
    for key in OPTIONAL_KEYS:
        if key in expected and key not in state:
            state[key] = torch.zeros(expected[key].shape)
    missing = set(expected) - set(state)
    unexpected = set(state) - set(expected)
    reshaped = [
        key
        for key in set(expected) & set(state)
        if tuple(expected[key].shape) != tuple(state[key].shape)
    ]
    if missing or unexpected or reshaped:
        raise _mismatch_error(spec, path, missing, unexpected, reshaped, state)
    state = {key: _aligned(value, dtype) for key, value in state.items()}
    network.load_state_dict(state, strict=True, assign=True)
    tensors = [*network.named_parameters(), *network.named_buffers()]
    leftover = [name for name, value in tensors if value.is_meta]
    if leftover:
        raise DepthModelError(f"{path.name}: tensors left unset by the file: {_examples(leftover)}")
    return network.eval().requires_grad_(False)
