"""Motion estimation for hybrid video and optical-flow cadence: dense optical flow (OpenCV's
DIS and Farneback, torchvision's RAFT from a weights file), warping by flow or by a matrix,
forward-backward consistency, and whole-frame affine/perspective motion from keypoints.
Nothing here imports ComfyUI or downloads anything.
"""

from __future__ import annotations

from .consistency import flow_consistency, reliable_flow
from .errors import FlowError, RaftModelError, RaftModelFileNotFound
from .estimate import FLOW_METHODS, check_flow_method, estimate_flow
from .raft import RAFT_FILES, RaftModel, detect_raft_size
from .transform import TRANSFORM_KINDS, estimate_transform
from .warp import warp_by_flow, warp_by_matrix

__all__ = [
    "FLOW_METHODS",
    "RAFT_FILES",
    "TRANSFORM_KINDS",
    "FlowError",
    "RaftModel",
    "RaftModelError",
    "RaftModelFileNotFound",
    "check_flow_method",
    "detect_raft_size",
    "estimate_flow",
    "estimate_transform",
    "flow_consistency",
    "reliable_flow",
    "warp_by_flow",
    "warp_by_matrix",
]
