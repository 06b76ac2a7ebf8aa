"""RAFT optical flow from torchvision, with weights read from a file (never downloaded).

torchvision builds raft_large and raft_small without weights; `RaftModel.from_file` fills
one from a state dict, telling the two apart by their tensors. Files are read as
deforum_core.depth.loading reads depth models: safetensors, or torch.load(weights_only=True),
so no code in a file runs. RAFT works on sides that are multiples of 8 and needs feature
maps of at least 16 cells (128 px), so frames are padded by repeating their edges and the
flow is cropped back. Deforum runs 50 refinement updates; 12 (torchvision's default) is
nearly as good at a quarter of the time.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from ..depth.loading import DepthModelError, read_state_dict
from ..fingerprint import weights_fingerprint
from .errors import RaftModelError, RaftModelFileNotFound
from .frames import frame_pair, rgb

RAFT_SIZES = ("large", "small")
RAFT_FILES = {
    "large": "raft_large_C_T_SKHT_V2-ff5fadd5.pth",
    "small": "raft_small_C_T_V2-01064c6d.pth",
}
RAFT_URL = "https://download.pytorch.org/models/"
DEFAULT_FLOW_UPDATES = 12
_MULTIPLE = 8  # RAFT's features are 1/8 of the picture
_MIN_SIDE = 128  # its correlation pyramid halves the 1/8 features three times


def build_raft(size: str, device: str | torch.device = "cpu") -> nn.Module:
    """An untrained torchvision RAFT of that size (weights=None: nothing is downloaded).
    torchvision is imported here, when RAFT is first used: importing the pack stays light."""
    from torchvision.models import optical_flow

    builder = optical_flow.raft_large if size == "large" else optical_flow.raft_small
    with torch.device(device):
        return builder(weights=None, progress=False).eval()


@lru_cache(maxsize=2)
def _expected_shapes(size: str) -> dict[str, tuple[int, ...]]:
    """The tensor names and shapes of a RAFT size, from a network built on "meta" (free)."""
    return {key: tuple(value.shape) for key, value in build_raft(size, "meta").state_dict().items()}


def detect_raft_size(state: Mapping[str, torch.Tensor]) -> str | None:
    """ "large" or "small" when the state dict has exactly that network's tensors, else None."""
    shapes = {key: tuple(value.shape) for key, value in state.items()}
    for size in RAFT_SIZES:
        if shapes == _expected_shapes(size):
            return size
    return None


def _refusal(name: str, state: Mapping[str, torch.Tensor]) -> RaftModelError:
    """Why a state dict is not RAFT, in counts only (a file's contents are never echoed)."""
    looks_like_raft = "update_block.flow_head.conv2.weight" in state
    if looks_like_raft:
        size = "large" if len(state) > len(_expected_shapes("small")) else "small"
        expected = _expected_shapes(size)
        missing = len(set(expected) - set(state))
        unexpected = len(set(state) - set(expected))
        reshaped = sum(
            1 for key in set(expected) & set(state) if tuple(state[key].shape) != expected[key]
        )
        reason = (
            f"{name} looks like RAFT but matches neither torchvision's raft_large nor raft_small "
            f"({missing} tensors missing, {unexpected} unexpected, {reshaped} of other shapes "
            f"than raft_{size}'s)"
        )
    else:
        reason = (
            f"{name} does not hold RAFT weights: its {len(state)} tensors are not the layout "
            "of torchvision's raft_large or raft_small"
        )
    return RaftModelError(
        reason, parameter="raft_model",
        hint=f"use torchvision's {RAFT_FILES['large']} (or {RAFT_FILES['small']}) or a "
        ".safetensors copy of it",
    )  # fmt: skip


def _pad_to_raft(images: torch.Tensor) -> torch.Tensor:
    """images [B, C, H, W] padded at the bottom and right, edges repeated, to a size RAFT takes."""
    height, width = images.shape[-2:]

    def target(side: int) -> int:
        return max(_MIN_SIDE, math.ceil(side / _MULTIPLE) * _MULTIPLE)

    pad_h, pad_w = target(height) - height, target(width) - width
    if pad_h == 0 and pad_w == 0:
        return images
    return F.pad(images, [0, pad_w, 0, pad_h], mode="replicate")


class RaftModel:
    """A loaded RAFT network; calling it gives estimate_flow's flow between two frames."""

    def __init__(
        self,
        network: nn.Module,
        *,
        num_flow_updates: int = DEFAULT_FLOW_UPDATES,
        source: str | os.PathLike | None = None,
    ):
        self.network = network.eval().requires_grad_(False)
        self.num_flow_updates = num_flow_updates
        self.size = detect_raft_size(network.state_dict())
        self.source = source  # the weights file, when it came from one

    def describe(self) -> dict[str, Any]:
        """What makes its flow what it is, for a run's record (never the device)."""
        fingerprint = weights_fingerprint(self.network.state_dict().items())
        return {
            "model": f"RAFT {self.size}",
            "num_flow_updates": self.num_flow_updates,
            "weights_file": Path(self.source).name if self.source else None,
            "weights_fingerprint": fingerprint,
        }

    @classmethod
    def from_state_dict(
        cls,
        state: Mapping[str, torch.Tensor],
        *,
        name: str = "the state dict",
        num_flow_updates: int = DEFAULT_FLOW_UPDATES,
    ) -> RaftModel:
        """RAFT large or small, whichever the tensors are, on the CPU in float32."""
        size = detect_raft_size(state)
        if size is None:
            raise _refusal(name, state)
        network = build_raft(size, "meta")
        tensors = {
            key: value.float() if value.is_floating_point() else value
            for key, value in state.items()
        }
        network.load_state_dict(tensors, strict=True, assign=True)
        return cls(network, num_flow_updates=num_flow_updates)

    @classmethod
    def from_file(
        cls, path: str | os.PathLike, *, num_flow_updates: int = DEFAULT_FLOW_UPDATES
    ) -> RaftModel:
        """RAFT from a .safetensors or .pt/.pth file, read without running any code in it."""
        path = Path(path)
        if not path.is_file():
            raise RaftModelFileNotFound(
                f"RAFT weights file not found: {str(path)!r}", parameter="raft_model",
                hint=f"download {RAFT_FILES['large']} from {RAFT_URL} yourself (this pack "
                "downloads nothing) and give its path, or put it in ComfyUI's models folder",
            )  # fmt: skip
        try:
            state, _ = read_state_dict(path)
        except DepthModelError as error:  # the shared reader's wording, as a flow error
            raise RaftModelError(error.reason, parameter="raft_model") from None
        model = cls.from_state_dict(state, name=path.name, num_flow_updates=num_flow_updates)
        model.source = path
        return model

    def _network_on(self, device: torch.device) -> nn.Module:
        """The network on the frames' device, moved there once and kept there."""
        parameter = next(self.network.parameters())
        if parameter.device != device:
            self.network = self.network.to(device)
        return self.network

    def __call__(self, first: torch.Tensor, second: torch.Tensor) -> torch.Tensor:
        """Flow [H, W, 2] float32 in pixels on the frames' device: first(p) ≈ second(p + flow)."""
        first, second = frame_pair(first, second)
        height, width = first.shape[:2]
        network = self._network_on(first.device)
        dtype = next(network.parameters()).dtype
        pair = torch.stack([rgb(first), rgb(second).to(first.device)]).permute(0, 3, 1, 2)
        pair = _pad_to_raft(pair.to(dtype) * 2.0 - 1.0)  # torchvision's transforms: 0..1 -> -1..1
        with torch.no_grad():
            flows = network(pair[:1], pair[1:], num_flow_updates=self.num_flow_updates)
        flow = flows[-1][0, :, :height, :width]
        return flow.permute(1, 2, 0).float().contiguous()
