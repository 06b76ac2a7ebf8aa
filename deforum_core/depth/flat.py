"""Flat depth: Deforum's use_depth_warping off, and a motion preview without depth weights.

Deforum's 3D camera then places every pixel at z = 1 (its near depth), so the camera moves
the picture as one flat card: zoom, pan and roll without parallax. No model is loaded.
"""

from __future__ import annotations

from typing import Any

import torch


class FlatDepth:
    """A depth model for the 3D camera whose depth is 1 everywhere."""

    def __call__(self, frames: torch.Tensor) -> torch.Tensor:
        """Frames [B, H, W, C] to depth [B, H, W] of ones, on the frames' device."""
        return torch.ones(frames.shape[:3], dtype=torch.float32, device=frames.device)

    def describe(self) -> dict[str, Any]:
        return {"type": "FlatDepth"}
