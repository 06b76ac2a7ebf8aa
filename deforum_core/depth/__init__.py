"""Monocular depth for Deforum's 3D mode: MiDaS v3 DPT and Depth Anything V2 networks on
timm modules, loading of the published weights, Deforum's depth conventions, and 16-bit
depth map files. Nothing here imports ComfyUI or downloads anything.
"""

from __future__ import annotations

from .convention import (
    DEPTH_CONVENTIONS,
    blend_depth,
    deforum_depth,
    depth_image,
    equalize_depth,
    legacy_midas_depth,
    normalize_depth,
)
from .depth_maps import DepthRange, read_depth_map, save_depth_map
from .estimator import DepthEstimator, network_input_size
from .flat import FlatDepth
from .loading import (
    WEIGHT_EXTENSIONS,
    DepthModelError,
    DepthModelFileNotFound,
    DepthModelMismatch,
    build_network,
    detect_model_type,
    find_model_file,
    load_depth_network,
    missing_file_error,
    read_state_dict,
    save_depth_network,
)
from .specs import DEFAULT_MODEL_TYPE, MODEL_SPECS, MODEL_TYPES, DepthModelSpec, resolve_model_type

__all__ = [
    "DEFAULT_MODEL_TYPE",
    "DEPTH_CONVENTIONS",
    "MODEL_SPECS",
    "MODEL_TYPES",
    "WEIGHT_EXTENSIONS",
    "DepthEstimator",
    "DepthModelError",
    "DepthModelFileNotFound",
    "DepthModelMismatch",
    "DepthModelSpec",
    "DepthRange",
    "FlatDepth",
    "blend_depth",
    "build_network",
    "deforum_depth",
    "depth_image",
    "detect_model_type",
    "equalize_depth",
    "find_model_file",
    "legacy_midas_depth",
    "load_depth_network",
    "missing_file_error",
    "network_input_size",
    "normalize_depth",
    "read_depth_map",
    "read_state_dict",
    "resolve_model_type",
    "save_depth_map",
    "save_depth_network",
]
