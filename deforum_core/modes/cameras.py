"""The cameras of the animation modes: moving a frame from one frame index to another.

Moves between any two frames are made in one resampling: the per-frame motions in between
are combined first (2D matrices, or 3D rigid motions), and a move backwards in time uses the
inverse. A 3D move needs the depth of the frame being moved: the 3D camera estimates it once
per frame index, keeps it while that frame can still move, and writes it as a 16-bit depth
map when asked, so a depth model runs at most once per diffused frame.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

import torch

from ..depth.depth_maps import save_depth_map
from ..stages import BoundMotion2D, BoundMotion3D

DEPTH_PATTERN = "depth_{:05d}.png"
DEPTH_RANGE = (1.0, 2.0)  # Deforum's camera depth: near 1, far 2


class DepthModel(Protocol):
    """What 3D mode needs from a depth model: frames [B, H, W, 3] to Deforum's camera depth
    [B, H, W] (z from 1, near, to 2, far), as deforum_core.depth.DepthEstimator gives, and a
    description of itself for the run's record."""

    def __call__(self, frames: torch.Tensor) -> torch.Tensor: ...

    def describe(self) -> dict[str, Any]: ...


def _combined(step: Callable[[int], torch.Tensor], size: int, start: int, end: int) -> torch.Tensor:
    """step(end) @ ... @ step(start + 1) for start <= end, or its inverse for start > end."""
    if start > end:
        return torch.linalg.inv(_combined(step, size, end, start))
    combined = torch.eye(size, dtype=torch.float64)
    for frame in range(start + 1, end + 1):
        combined = step(frame) @ combined
    return combined


class StillCamera:
    """No motion (mode None, or no motion stage): every move returns the frame."""

    depth_calls = 0
    # moves depend on the frame and the indices only, and keep no state: the loop may move
    # frames between two keys on another thread while it makes the next key
    pure = True

    def move(self, frame: torch.Tensor, source: int, target: int) -> torch.Tensor:
        return frame

    def move_key(self, frame: torch.Tensor, source: int, target: int) -> torch.Tensor:
        """The previous key moved onto a new key: a move (hybrid video composites here)."""
        return self.move(frame, source, target)

    def forget_before(self, index: int) -> None:
        """Frames before index will not move again (the loop has passed them)."""


class Camera2D(StillCamera):
    def __init__(self, motion: BoundMotion2D) -> None:
        self.motion = motion

    def move(self, frame: torch.Tensor, source: int, target: int) -> torch.Tensor:
        matrix = _combined(self.motion.matrices.__getitem__, 3, source, target)
        if torch.equal(matrix, torch.eye(3, dtype=torch.float64)):
            return frame
        return self.motion.warp(frame, matrix)


class Camera3D(StillCamera):
    pure = False  # it keeps the depth of the frames it moves

    def __init__(
        self, motion: BoundMotion3D, depth_model: DepthModel, depth_maps: Path | None = None
    ) -> None:
        """depth_maps: the folder to write each estimated depth into, or None."""
        self.motion = motion
        self.depth_model = depth_model
        self.depth_maps = depth_maps
        self.depths: dict[int, torch.Tensor] = {}
        self.depth_calls = 0

    def move(self, frame: torch.Tensor, source: int, target: int) -> torch.Tensor:
        if source == target:
            return frame
        motion = _combined(self.motion.motions.__getitem__, 4, source, target)
        flip = _combined(self.motion.flips.__getitem__, 3, source, target)
        depth = self._depth_of(source, frame)
        return self.motion.warp(frame, depth, motion, flip, max(source, target))

    def forget_before(self, index: int) -> None:
        for old in [frame for frame in self.depths if frame < index]:
            del self.depths[old]

    def _depth_of(self, index: int, frame: torch.Tensor) -> torch.Tensor:
        """Depth of the frame at index, estimated once and kept while it is needed."""
        if index not in self.depths:
            self.depths[index] = self.depth_model(frame)
            self.depth_calls += 1
            if self.depth_maps is not None:
                path = self.depth_maps / DEPTH_PATTERN.format(index)
                save_depth_map(path, self.depths[index][0], value_range=DEPTH_RANGE)
        return self.depths[index]
