"""Reading a Stable Diffusion pipeline offline from a diffusers folder or a checkpoint file.

The files are untrusted (a workflow names them): every failure is a DiffusionError in the
pack's own words that names the file and what to give instead, never a library's or a
decoder's text, which can quote the file's bytes (torch's "Unsupported operand 83" is a
file's first byte). diffusers is imported inside the readers: importing the pack stays light.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from .backend import DiffusionError


class ModelFileError(DiffusionError):
    """A model file or folder that cannot be read as a Stable Diffusion model."""

    default_parameter = "model"


CHECKPOINT_SUFFIXES = (".safetensors", ".ckpt", ".pt", ".pth", ".bin")
_SDXL_KEY = "conditioner.embedders.1."  # the second text encoder only SDXL checkpoints have
_CONFIG_HINT = (
    "single-file checkpoints need their model configs offline: pass `config`, a diffusers "
    "folder of the same model type (model_index.json with the unet/vae/text_encoder/"
    "tokenizer configs; weights are not needed), or load a diffusers folder instead"
)
_FOLDER_HINT = (
    "give a folder saved by save_pretrained: model_index.json and the unet, vae, text_encoder, "
    "tokenizer and scheduler folders, each with its config (and weights), all of one SD 1.x, "
    "2.x or SDXL model; or give a single .safetensors checkpoint with `config`"
)


def read_pipeline(path: Path, dtype: torch.dtype, config: str | Path | None) -> Any:
    """The StableDiffusion(XL)Pipeline in a diffusers folder, or in a single checkpoint file
    with the configs of the diffusers folder `config`, on the CPU in `dtype`."""
    if path.is_dir():
        return _load_folder(path, dtype)
    if path.is_file():
        return _load_file(path, dtype, config)
    raise ModelFileError(
        f"no checkpoint file or diffusers folder at {str(path)!r}",
        hint="give the path of a .safetensors/.ckpt file or of a folder with model_index.json",
    )


def _pipeline_class(is_xl: bool) -> Any:
    import diffusers

    return diffusers.StableDiffusionXLPipeline if is_xl else diffusers.StableDiffusionPipeline


def _options(dtype: torch.dtype) -> dict[str, Any]:
    """Loader options: offline always; a dtype only when not float32, the default (newer
    diffusers renamed torch_dtype to dtype, older ones know only torch_dtype)."""
    options: dict[str, Any] = {"local_files_only": True}
    if dtype != torch.float32:
        options["torch_dtype"] = dtype
    return options


def _load_folder(path: Path, dtype: torch.dtype) -> Any:
    index = path / "model_index.json"
    if not index.is_file():
        raise ModelFileError(
            f"{str(path)!r} is not a diffusers folder (it has no model_index.json)",
            hint="give the folder saved by save_pretrained, or a single checkpoint file",
        )
    class_name = _pipeline_class_name(index)
    if not class_name.startswith("StableDiffusion"):
        raise ModelFileError(
            f"{str(path)!r} holds a {class_name or 'unknown'} pipeline",
            hint="the diffusion stage runs Stable Diffusion 1.x, 2.x and SDXL models",
        )
    pipeline_class = _pipeline_class("XL" in class_name)
    options = _options(dtype)
    if "XL" not in class_name:
        options.update(safety_checker=None, requires_safety_checker=False)
    return _loading(
        lambda: pipeline_class.from_pretrained(path, **options),
        f"{path.name!r} is not a complete diffusers folder of a Stable Diffusion model",
        hint=_FOLDER_HINT,
    )


def _pipeline_class_name(index: Path) -> str:
    """The pipeline class a model_index.json names ("" when none). Only an identifier is
    taken: the file is untrusted, and neither its text nor a decoder's message about its
    bytes may reach an error message."""
    try:
        content = json.loads(index.read_text(encoding="utf-8"))
    except (ValueError, RecursionError):  # the decoders' messages quote the file's bytes
        raise ModelFileError(
            f"the model_index.json in {index.parent.name!r} is not a diffusers model "
            "index (JSON text)",
            hint=_FOLDER_HINT,
        ) from None
    name = content.get("_class_name") if isinstance(content, dict) else None
    return name if isinstance(name, str) and name.isidentifier() else ""


def _load_file(path: Path, dtype: torch.dtype, config: str | Path | None) -> Any:
    if path.suffix.lower() not in CHECKPOINT_SUFFIXES:
        raise ModelFileError(
            f"{path.name!r} is not a checkpoint file",
            hint=f"use a {' or '.join(CHECKPOINT_SUFFIXES)} file or a diffusers folder",
        )
    pipeline_class = _pipeline_class(_is_sdxl_file(path))
    if not config or not Path(config).expanduser().is_dir():
        # without a local config folder diffusers turns local_files_only off and asks the hub
        given = f"{str(config)!r} is not a folder" if config else "no config folder was given"
        raise ModelFileError(f"could not load {path.name!r} offline: {given}", hint=_CONFIG_HINT)
    options = _options(dtype)
    options["config"] = str(Path(config).expanduser())
    return _loading(
        lambda: pipeline_class.from_single_file(str(path), **options),
        f"could not load {path.name!r} offline with the config folder "
        f"{Path(config).name!r}: the two do not make one Stable Diffusion model",
        hint="give `config` a diffusers folder of the checkpoint's model type (SD 1.x, 2.x "
        "or SDXL) with model_index.json and the unet/vae/text_encoder/tokenizer/scheduler "
        "configs (weights are not needed), and check that the checkpoint file is complete",
    )


def _is_sdxl_file(path: Path) -> bool:
    """Whether a checkpoint holds SDXL's second text encoder (read lazily, weights only)."""
    try:
        if path.suffix.lower() == ".safetensors":
            from safetensors import safe_open

            with safe_open(str(path), framework="pt") as handle:
                keys = list(handle.keys())
        else:
            loaded = torch.load(path, map_location="cpu", weights_only=True, mmap=True)
            keys = list(loaded.get("state_dict", loaded)) if isinstance(loaded, dict) else []
    except Exception:  # every reader fails differently; their texts can quote the file
        raise ModelFileError(
            f"{path.name!r} cannot be read as a checkpoint",
            hint="give a complete Stable Diffusion checkpoint file (.safetensors or .ckpt), "
            "or a diffusers folder",
        ) from None
    return any(key.startswith(_SDXL_KEY) for key in keys)


def _loading(load: Callable[[], Any], reason: str, hint: str) -> Any:
    """Run a diffusers loader; any failure becomes a DiffusionError in the pack's own words.
    The library's text is left out of the message because it can quote the files it read
    (a torch unpickler's "Unsupported operand 83" is a file's first byte); it stays in the
    chained cause, which ComfyUI writes only to the server's log."""
    try:
        return load()
    except DiffusionError:
        raise
    except Exception as error:  # diffusers raises OSError, ValueError, KeyError, ...
        raise ModelFileError(reason, hint=hint) from error
