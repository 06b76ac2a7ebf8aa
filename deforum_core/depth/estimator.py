"""DepthEstimator: one loaded depth network, frames in, depth maps out.

Frames are ComfyUI images [B, H, W, C] in 0..1 on any device. Each is resized to the
network's input as the official code does (MiDaS: scaled as little as possible towards 384,
sides multiples of 32; Depth Anything: shorter side at least 518, sides multiples of 14;
bicubic), normalised (MiDaS: mean 0.5, std 0.5; Depth Anything: ImageNet), and the output
is resized back to the frame (MiDaS: bicubic, as Deforum; Depth Anything: bilinear, as the
official `infer_image`). The network runs in float16 on CUDA and float32 elsewhere.

- `predict(frames)`: raw relative inverse depth [B, H, W] (larger is nearer).
- `estimator(frames)`: Deforum's camera depth z [B, H, W] in 1..2, near 1, far 2 (see
  convention.py), the depth the 3D warp takes.
- `image(frames)`: a viewable map in 0..1, near bright.

`calls` counts network runs (one per frame), so a render can report depth-model calls per
written frame.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable
from functools import cached_property
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from ..errors import DeforumError
from ..fingerprint import file_fingerprint, weights_fingerprint
from .convention import deforum_depth, depth_image
from .loading import load_depth_network
from .specs import DepthModelSpec, resolve_model_type


def _constrain(value: float, multiple: int, minimum: int = 0) -> int:
    """The official rounding of a side to a multiple (round half to even, then at least min)."""
    side = round(value / multiple) * multiple
    if side < minimum:
        side = math.ceil(value / multiple) * multiple
    return max(side, multiple)


def network_input_size(
    height: int, width: int, target: int, multiple: int, method: str
) -> tuple[int, int]:
    """(height, width) of the network input for a frame, as the official transforms."""
    scale_h, scale_w = target / height, target / width
    if method == "lower_bound":
        scale = max(scale_h, scale_w)
        return (
            _constrain(scale * height, multiple, target),
            _constrain(scale * width, multiple, target),
        )
    if method == "minimal":
        scale = scale_w if abs(1 - scale_w) < abs(1 - scale_h) else scale_h
        return _constrain(scale * height, multiple), _constrain(scale * width, multiple)
    raise DeforumError(f"unknown resize method {method!r}")


class DepthEstimator:
    """A depth network loaded once, with its pre- and post-processing."""

    def __init__(
        self,
        network: nn.Module,
        model_type: str | DepthModelSpec,
        *,
        input_size: int | None = None,
        device: str | torch.device = "cpu",
        max_batch: int = 4,
        source: str = "",
    ) -> None:
        if not isinstance(model_type, DepthModelSpec):
            model_type = resolve_model_type(model_type)
        self.spec = model_type
        if network.family != self.spec.family:
            raise DeforumError(f"a {network.family} network cannot run as {self.spec.name}")
        self.network = network.eval().requires_grad_(False)
        # a network not loaded from a file is fingerprinted as given, before any move
        self._weights = None if source else weights_fingerprint(network.state_dict().items())
        self.input_size = int(input_size) if input_size else self.spec.input_size
        self.max_batch = max(1, int(max_batch))
        self.source = source
        self.calls = 0
        self.device = torch.device("cpu")
        self.to(device)

    @classmethod
    def from_file(
        cls,
        model_type: str,
        path: str | os.PathLike,
        *,
        folders: Iterable[str | os.PathLike] = (),
        input_size: int | None = None,
        device: str | torch.device = "cpu",
    ) -> DepthEstimator:
        """Load the weights in `path` (see loading.load_depth_network for the errors)."""
        network = load_depth_network(model_type, path, folders=folders)
        return cls(network, model_type, input_size=input_size, device=device, source=str(path))

    @property
    def model_type(self) -> str:
        return self.spec.name

    @property
    def dtype(self) -> torch.dtype:
        return torch.float16 if self.device.type == "cuda" else torch.float32

    def to(self, device: str | torch.device) -> DepthEstimator:
        """Move the network (float16 on CUDA, float32 elsewhere); returns self."""
        self.device = torch.device(device)
        with torch.inference_mode():
            self.network.to(device=self.device, dtype=self.dtype)
        return self

    def weight_bytes(self) -> int:
        element = torch.finfo(self.dtype).bits // 8
        return sum(parameter.numel() for parameter in self.network.parameters()) * element

    def memory_required(self, height: int, width: int, batch: int = 1) -> int:
        """A generous estimate of the device memory one call needs (weights + activations)."""
        in_h, in_w = self.input_shape(height, width)
        element = torch.finfo(self.dtype).bits // 8
        return self.weight_bytes() + min(batch, self.max_batch) * in_h * in_w * 2048 * element

    def input_shape(self, height: int, width: int) -> tuple[int, int]:
        spec = self.spec
        return network_input_size(height, width, self.input_size, spec.multiple_of, spec.resize)

    def _prepare(self, frames: torch.Tensor) -> torch.Tensor:
        if frames.ndim == 3:
            frames = frames[None]
        if frames.ndim != 4 or frames.shape[-1] not in (1, 3, 4):
            shape = tuple(frames.shape)
            raise DeforumError(f"frames must be [B, H, W, C] with C 1, 3 or 4, got {shape}")
        x = frames[..., :3] if frames.shape[-1] != 1 else frames.expand(*frames.shape[:3], 3)
        x = x.to(self.device, torch.float32).permute(0, 3, 1, 2)
        size = self.input_shape(x.shape[-2], x.shape[-1])
        if tuple(x.shape[-2:]) != size:
            x = F.interpolate(x, size=size, mode="bicubic", align_corners=False)
        mean = torch.tensor(self.spec.mean, device=self.device).view(1, 3, 1, 1)
        std = torch.tensor(self.spec.std, device=self.device).view(1, 3, 1, 1)
        return ((x - mean) / std).to(self.dtype).contiguous()

    def _restore(self, raw: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
        raw = raw.float()[:, None]
        if tuple(raw.shape[-2:]) != size:
            if self.spec.family == "depth_anything":
                raw = F.interpolate(raw, size=size, mode="bilinear", align_corners=True)
            else:
                raw = F.interpolate(raw, size=size, mode="bicubic", align_corners=False)
        return raw[:, 0]

    def predict(self, frames: torch.Tensor) -> torch.Tensor:
        """Raw relative inverse depth [B, H, W] float32 (larger is nearer), on frames' device.

        The network always runs in inference mode (ComfyUI loads models in it, and its
        inference tensors cannot be used outside it); the result is an ordinary tensor when
        the caller is outside inference mode.
        """
        squeeze = frames.ndim == 3
        size = (frames.shape[-3], frames.shape[-2])
        outputs = []
        with torch.inference_mode():
            for chunk in torch.split(frames if not squeeze else frames[None], self.max_batch):
                raw = self.network(self._prepare(chunk))
                self.calls += chunk.shape[0]
                outputs.append(self._restore(raw, size))
            depth = torch.cat(outputs).to(frames.device)
        if not torch.is_inference_mode_enabled():
            depth = depth.clone()
        return depth[0] if squeeze else depth

    def __call__(self, frames: torch.Tensor) -> torch.Tensor:
        """Deforum's camera depth z [B, H, W] in 1..2 (near 1, far 2)."""
        return deforum_depth(self.predict(frames), inverse=True, equalize=True)

    def image(self, frames: torch.Tensor, *, equalize: bool = False) -> torch.Tensor:
        """A viewable depth map [B, H, W] in 0..1, near bright."""
        return depth_image(self.predict(frames), inverse=True, equalize=equalize)

    def describe(self) -> dict[str, Any]:
        """What makes its depth what it is, for a run's record (never the device)."""
        return {
            "model_type": self.spec.name,
            "input_size": self.input_size,
            "weights_file": Path(self.source).name if self.source else None,
            "weights_fingerprint": self._fingerprint,
        }

    @cached_property
    def _fingerprint(self) -> str:
        return self._weights or file_fingerprint(self.source)

    def __repr__(self) -> str:
        return f"DepthEstimator({self.spec.name}, input {self.input_size}, {self.device})"
