"""Checks and conversions of the single frames that motion estimation compares.

The engine keeps frames as [H, W, C] (or a batch of one) float tensors in 0..1; OpenCV wants
8-bit grayscale numpy arrays. The conversion happens on the frames' device so only one
channel crosses to the CPU.
"""

from __future__ import annotations

import numpy as np
import torch

from .errors import FlowError

_LUMA = (0.299, 0.587, 0.114)  # ITU-R BT.601, the weights of OpenCV's RGB2GRAY


def as_frame(frame: torch.Tensor, name: str) -> torch.Tensor:
    """The frame as [H, W, C]: a batch of one is unwrapped, anything else is refused."""
    if frame.ndim == 4 and frame.shape[0] == 1:
        frame = frame[0]
    if frame.ndim != 3 or frame.shape[-1] not in (1, 3, 4):
        raise FlowError(
            f"expected one frame [H, W, 3], got a tensor of shape {tuple(frame.shape)}",
            parameter=name,
        )
    return frame


def frame_pair(first: torch.Tensor, second: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Both frames as [H, W, C]; flow between frames of different sizes is undefined."""
    first, second = as_frame(first, "first"), as_frame(second, "second")
    if first.shape[:2] != second.shape[:2]:
        raise FlowError(
            f"the frames differ in size: {tuple(first.shape[:2])} and {tuple(second.shape[:2])}",
            parameter="second",
            hint="resize the video frames to the animation's width and height first",
        )
    return first, second


def rgb(frame: torch.Tensor) -> torch.Tensor:
    """[H, W, 3] colour: grey is repeated, an alpha channel dropped."""
    if frame.shape[-1] == 1:
        return frame.expand(-1, -1, 3)
    return frame[..., :3]


def gray_uint8(frame: torch.Tensor) -> np.ndarray:
    """The frame as an [H, W] uint8 numpy array, the input OpenCV's flow and SIFT expect."""
    colour = rgb(frame).float()
    weights = torch.tensor(_LUMA, dtype=colour.dtype, device=colour.device)
    gray = (colour @ weights).mul_(255.0).round_().clamp_(0.0, 255.0)
    return gray.to(torch.uint8).cpu().numpy()
