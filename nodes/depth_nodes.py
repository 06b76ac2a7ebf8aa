"""Depth nodes: load a depth model (MiDaS v3 DPT or Depth Anything V2) once, and turn any
IMAGE into a depth IMAGE.

Importing this module registers a `depth` model folder with ComfyUI (models/depth, for
.safetensors, .pt and .pth files) when ComfyUI's folder_paths is there; extra locations can
be added in extra_model_paths.yaml under `depth`.

The depth model follows ComfyUI's memory management: before each use ComfyUI is asked to
free room for it on the compute device (unloading other models if it must), the model moves
there (float16 on CUDA), and afterwards it goes back to the offload device so the memory is
free for the checkpoint again. Without ComfyUI it simply stays where it is.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import ClassVar

import torch

from deforum_core.depth import (
    DEFAULT_MODEL_TYPE,
    MODEL_TYPES,
    WEIGHT_EXTENSIONS,
    DepthEstimator,
    DepthModelError,
    find_model_file,
    missing_file_error,
    resolve_model_type,
)
from deforum_core.errors import DeforumError

from .comfy_bridge import folder_paths_module
from .model_folders import model_files, model_folders, register_model_folder
from .model_paths import typed_model_path

CATEGORY = "Deforum/depth"
DEPTH_FOLDER = "depth"
OFFICIAL_FILE = "(official file name)"
NORMALIZATIONS = ("min-max", "equalized (Deforum 3D)")
DEPTH_MODEL_TOOLTIP = (
    "The loaded depth model, for the Deforum loop (3D mode) or the Deforum Estimate Depth node."
)


def register_depth_folder() -> None:
    """Add ComfyUI's models/depth folder (and the weight extensions) to its model paths."""
    register_model_folder(DEPTH_FOLDER, WEIGHT_EXTENSIONS)


register_depth_folder()


def depth_folders() -> list[str]:
    return model_folders(DEPTH_FOLDER)


def _model_management():
    try:
        import comfy.model_management as model_management
    except ImportError:
        return None
    return model_management


def _offload_device() -> torch.device:
    management = _model_management()
    if management is None:
        return torch.device("cpu")
    try:
        return management.unet_offload_device()
    except Exception:
        return torch.device("cpu")


@contextmanager
def on_compute_device(
    estimator: DepthEstimator, height: int = 512, width: int = 512, batch: int = 1
) -> Iterator[DepthEstimator]:
    """Run the estimator on ComfyUI's compute device, making room for it first, and move it
    back to the offload device afterwards. Without ComfyUI, it stays where it is.

    The Deforum loop can hold this open for a whole render (the model then stays loaded
    between frames) or enter it per depth estimate.
    """
    management = _model_management()
    if management is None:
        yield estimator
        return
    device = management.get_torch_device()
    management.free_memory(estimator.memory_required(height, width, batch), device)
    estimator.to(device)
    try:
        yield estimator
    finally:
        estimator.to(_offload_device())
        with suppress(Exception):
            management.soft_empty_cache()


def resolve_weights(model_type: str, model_file: str, path: str) -> Path:
    """The weights file a loader node's widgets name; a missing one raises the error that
    names the expected file, the depth folder and the publisher."""
    spec = resolve_model_type(model_type)
    folders = depth_folders()
    if model_file != OFFICIAL_FILE:
        management = folder_paths_module()
        full = management.get_full_path(DEPTH_FOLDER, model_file) if management else None
        if not full:
            raise missing_file_error(spec, model_file, folders)
        return Path(full)
    if path.strip():
        candidate = typed_model_path(path, parameter="path")
        if candidate.is_dir():
            raise DeforumError(
                f"{path.strip()!r} is a folder, not a weights file", parameter="path",
                hint=f"give the file itself, such as {spec.files[0]}",
            )  # fmt: skip
        if not candidate.is_file():
            raise missing_file_error(spec, candidate, folders)
        return candidate
    found = find_model_file(spec, folders)
    if found is None:
        raise missing_file_error(spec, None, folders)
    return found


class DeforumDepthModel:
    """Loads a depth model once, for the Deforum loop or the Estimate Depth node."""

    DESCRIPTION = (
        "Loads a monocular depth model for Deforum's 3D mode: MiDaS v3 (DPT-Hybrid, "
        "DPT-Large) or Depth Anything V2 (Small, Base, Large), from ComfyUI's models/depth "
        "folder or a path. The official checkpoint files (.pt/.pth, read without running "
        "code) and .safetensors copies load as published; nothing is downloaded."
    )
    CATEGORY = CATEGORY
    SEARCH_ALIASES: ClassVar[list[str]] = [
        "depth",
        "midas",
        "depth anything",
        "3d",
        "depth model loader",
    ]
    FUNCTION = "load"
    RETURN_TYPES = ("DEFORUM_DEPTH_MODEL",)
    RETURN_NAMES = ("depth_model",)
    OUTPUT_TOOLTIPS = (DEPTH_MODEL_TOOLTIP,)

    @classmethod
    def INPUT_TYPES(cls):
        return {
            "required": {
                "model_type": (
                    list(MODEL_TYPES),
                    {
                        "default": DEFAULT_MODEL_TYPE,
                        "tooltip": "The network the file holds. Midas-3-Hybrid is Deforum's "
                        "default; Depth-Anything-V2-Small is Apache-2.0, Base and Large are "
                        "non-commercial.",
                    },
                ),
                "model_file": (
                    [OFFICIAL_FILE, *model_files(DEPTH_FOLDER)],
                    {
                        "default": OFFICIAL_FILE,
                        "tooltip": f"A file in ComfyUI's models/depth folder. {OFFICIAL_FILE}: "
                        "use `path` if it is filled in, else look for the model type's "
                        "official file name (e.g. depth_anything_v2_vits.pth, "
                        "dpt_hybrid_384.pt) in the depth folder.",
                    },
                ),
                "path": (
                    "STRING",
                    {
                        "default": "",
                        "tooltip": f"A weights file anywhere, used when model_file is "
                        f"{OFFICIAL_FILE}.",
                    },
                ),
                "input_size": (
                    "INT",
                    {
                        "default": 0,
                        "min": 0,
                        "max": 2048,
                        "tooltip": "Network input size in pixels; 0 uses the model's own "
                        "(518 for Depth Anything, 384 for MiDaS). Larger sees finer detail "
                        "and costs more time and memory.",
                    },
                ),
            }
        }

    def load(self, model_type, model_file, path, input_size):
        named_by = naming_input(model_file, path)
        try:
            weights = resolve_weights(model_type, model_file, path)
            estimator = DepthEstimator.from_file(
                model_type,
                weights,
                folders=depth_folders(),
                input_size=input_size or None,
                device=_offload_device(),
            )
        except DepthModelError as error:
            if error.parameter is not None:
                raise
            raise type(error)(error.reason, hint=error.hint, parameter=named_by) from None
        return (estimator,)


def naming_input(model_file: str, path: str) -> str:
    """The input that chose the weights file, which an error about the file is filed under."""
    if model_file != OFFICIAL_FILE:
        return "model_file"
    return "path" if path.strip() else "model_type"


class DeforumEstimateDepth:
    """Depth of any IMAGE as a grey IMAGE, near bright."""

    DESCRIPTION = (
        "Estimates the depth of each image with a Deforum depth model. The result is a grey "
        "image in 0..1 where near is bright and far is dark: min-max scales each map by its "
        "own range; equalized is the histogram-equalised map Deforum's 3D warp moves by "
        "(its camera depth is 2 minus this value)."
    )
    CATEGORY = CATEGORY
    SEARCH_ALIASES: ClassVar[list[str]] = ["depth", "depth map", "midas", "depth anything"]
    FUNCTION = "estimate"
    RETURN_TYPES = ("IMAGE",)
    RETURN_NAMES = ("depth",)
    OUTPUT_TOOLTIPS = ("Depth maps, the size of the input, grey, near bright.",)

    @classmethod
    def INPUT_TYPES(cls):
        return {
            "required": {
                "image": ("IMAGE", {"tooltip": "The image(s) to estimate the depth of."}),
                "depth_model": ("DEFORUM_DEPTH_MODEL", {"tooltip": "From Deforum Depth Model."}),
                "normalization": (
                    list(NORMALIZATIONS),
                    {
                        "default": NORMALIZATIONS[0],
                        "tooltip": "min-max: each map scaled to 0..1 by its own range. "
                        "equalized (Deforum 3D): histogram-equalised as Deforum does before "
                        "its 3D warp.",
                    },
                ),
            }
        }

    def estimate(self, image, depth_model, normalization):
        height, width = image.shape[1], image.shape[2]
        with on_compute_device(depth_model, height, width, image.shape[0]) as estimator:
            maps = estimator.image(image, equalize=normalization == NORMALIZATIONS[1])
        maps = maps.to(image.device, torch.float32).clamp(0.0, 1.0)
        return (maps[..., None].expand(*maps.shape, 3).contiguous(),)
