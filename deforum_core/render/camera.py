"""The camera path of a render: moving a frame from one frame index to another.

Moves between any two frames are made in one resampling: the per-frame motions in between
are combined first (2D matrices, or 3D rigid motions), and a move backwards in time uses the
inverse. A 3D move needs the depth of the frame being moved; it is asked for once per frame
index, so a depth model runs at most once per diffused frame.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from ..stages import FrameValues, Motion2DStage, Motion3DStage

DepthOf = Callable[[int, torch.Tensor], torch.Tensor]


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

    def move(self, frame: torch.Tensor, source: int, target: int) -> torch.Tensor:
        return frame


class Camera2D:
    def __init__(
        self, stage: Motion2DStage, values: list[FrameValues], width: int, height: int
    ) -> None:
        self.stage = stage
        self.matrices = [stage.matrix(frame_values, width, height) for frame_values in values]

    def move(self, frame: torch.Tensor, source: int, target: int) -> torch.Tensor:
        matrix = _combined(self.matrices.__getitem__, 3, source, target)
        if torch.equal(matrix, torch.eye(3, dtype=torch.float64)):
            return frame
        return self.stage.warp(frame, matrix)


class Camera3D:
    def __init__(
        self,
        stage: Motion3DStage,
        values: list[FrameValues],
        width: int,
        height: int,
        depth_of: DepthOf,
    ) -> None:
        self.stage = stage
        self.values = values
        self.motions = [stage.motion(frame_values) for frame_values in values]
        self.flips = [stage.flip(frame_values, width, height) for frame_values in values]
        self.depth_of = depth_of

    def move(self, frame: torch.Tensor, source: int, target: int) -> torch.Tensor:
        if source == target:
            return frame
        motion = _combined(self.motions.__getitem__, 4, source, target)
        flip = _combined(self.flips.__getitem__, 3, source, target)
        depth = self.depth_of(source, frame)
        fov = self.values[max(source, target)]["fov"]
        return self.stage.warp(frame, depth, motion, flip, fov)
