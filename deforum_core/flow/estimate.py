"""Dense optical flow between two frames, by any of sd-webui-deforum's methods.

The convention everywhere in this package: flow[y, x] = (dx, dy) in pixels such that
first(p) ≈ second(p + flow(p)), float32 [H, W, 2] on the frames' device.
"""

from __future__ import annotations

import torch

from .errors import FlowError
from .frames import frame_pair, gray_uint8
from .opencv_flow import OPENCV_FLOWS
from .raft import RaftModel

FLOW_METHODS = ("RAFT", "DIS Medium", "DIS Fine", "Farneback")


def check_flow_method(method: str) -> str:
    """The method when it is one of FLOW_METHODS, else an error listing them."""
    if method not in FLOW_METHODS:
        raise FlowError(
            f"unknown optical flow method {method!r}", parameter="flow_method",
            hint=f"use one of {', '.join(FLOW_METHODS)}",
        )  # fmt: skip
    return method


def estimate_flow(
    first: torch.Tensor, second: torch.Tensor, method: str, raft: RaftModel | None = None
) -> torch.Tensor:
    """Forward flow from `first` to `second` ([H, W, 3] floats in 0..1) by `method`.

    OpenCV's methods see the frames as 8-bit grayscale, as in Deforum; RAFT needs a model
    loaded once per render (RaftModel.from_file), passed as `raft`.
    """
    check_flow_method(method)
    first, second = frame_pair(first, second)
    if method == "RAFT":
        if raft is None:
            raise FlowError(
                "RAFT needs its model, and none is loaded", parameter="flow_method",
                hint="load RAFT weights (torchvision's raft_large_C_T_SKHT_V2-ff5fadd5.pth) "
                "and pass the model, or choose DIS Medium, DIS Fine or Farneback",
            )  # fmt: skip
        return raft(first, second)
    flow = OPENCV_FLOWS[method](gray_uint8(first), gray_uint8(second))
    return torch.from_numpy(flow).to(first.device, torch.float32)
