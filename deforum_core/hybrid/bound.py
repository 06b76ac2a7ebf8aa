"""Hybrid video bound to a render: the video's frames at the render's size, its motion
applied to frames, and the composite at the moments sd-webui-deforum makes it.

Deforum moves the previous frame one frame at a time: the camera, then the video's motion
between video frames t-1 and t (or from the frame itself to video frame t with
motion_use_prev_img). The pack moves a frame between any two indices in one go (the cadence
blends both neighbouring keys, see render/animator.py): the camera's move, then the video's
motion measured directly between video frames `source` and `target`, which for a key is
Deforum's step and for an in-between or a backward move is the same motion over more frames
(measured once, not summed from per-frame estimates). The composite is made on key frames
only, as in Deforum: after the motion (Normal), between the camera and the motion (Before
Motion), or on the diffused frame (After Generation). A frame index past the video's end
holds its last frame (no motion).
"""

from __future__ import annotations

import torch

from ..flow import estimate_flow, estimate_transform, reliable_flow, warp_by_flow, warp_by_matrix
from ..pictures import VideoFrames
from ..stages.protocol import RenderInfo, values_for
from .composite import MaskOptions, composite, make_mask
from .stage import HybridFrame, HybridStage


class BoundHybrid:
    """A HybridStage with its schedules evaluated for one render."""

    def __init__(
        self, stage: HybridStage, render: RenderInfo, init_image: torch.Tensor | None = None
    ) -> None:
        self.stage = stage
        self.values = values_for(stage, HybridFrame, render)
        self.width, self.height = render.width, render.height
        self.init_image = init_image
        self._video = VideoFrames(stage.video, render.width, render.height)
        self._frames: dict[int, torch.Tensor] = {}  # the video frames the current keys use

    def video_frame(self, index: int) -> torch.Tensor:
        """The video's frame at a frame index (its last one past the end), at the render's
        size, [1, H, W, 3]. Frames are read forwards only and kept until forget_before: the
        moves between two keys use every frame between them, in any order, and a video file
        read backwards would be decoded again from its start."""
        index = min(index, self.stage.video.frame_count - 1)
        if index not in self._frames:
            newest = max(self._frames, default=index - 1)
            for ahead in range(newest + 1, index + 1) if index > newest else (index,):
                self._frames[ahead] = self._video[ahead]
        return self._frames[index]

    def forget_before(self, index: int) -> None:
        """Frames before index will not be moved again: their video frames are let go."""
        for old in [frame for frame in self._frames if frame < index]:
            del self._frames[old]

    def first_frame(self) -> torch.Tensor:
        """The picture the animation starts from when use_first_frame_as_init_image is on."""
        return self.video_frame(0)

    def move(self, frame: torch.Tensor, source: int, target: int) -> torch.Tensor:
        """The frame moved by the video's motion from frame index source to target."""
        stage = self.stage
        last = stage.video.frame_count - 1
        if stage.motion == "None" or min(source, last) == min(target, last):
            return frame
        factor = self.values[target].flow_factor
        if stage.moves_by_flow and factor == 0:
            return frame
        second = self.video_frame(target).to(frame)
        first = frame[:1] if stage.motion_use_prev_img else self.video_frame(source).to(frame)
        if stage.moves_by_flow:
            return warp_by_flow(frame, self._flow(first[0], second[0]), factor)
        return warp_by_matrix(frame, estimate_transform(first[0], second[0], stage.motion))

    def _flow(self, first: torch.Tensor, second: torch.Tensor) -> torch.Tensor:
        stage = self.stage
        if stage.flow_consistency:
            return reliable_flow(first, second, stage.flow_method, stage.raft,
                                 blur=float(stage.consistency_blur))  # fmt: skip
        return estimate_flow(first, second, stage.flow_method, stage.raft)

    def composite(self, frame: torch.Tensor, index: int) -> torch.Tensor:
        """The frame blended with the video's frame at index (or the init image with
        use_init_image), through the mask the settings make."""
        stage, values = self.stage, self.values[index]
        use_init = stage.use_init_image and self.init_image is not None
        video = (self.init_image if use_init else self.video_frame(index)).to(frame)
        options = MaskOptions(
            kind=stage.comp_mask_type, inverse=stage.comp_mask_inverse,
            equalize=stage.comp_mask_equalize, auto_contrast=stage.comp_mask_auto_contrast,
            blend_alpha=values.comp_mask_blend_alpha, contrast=values.comp_mask_contrast,
            cutoff_low=values.comp_mask_auto_contrast_cutoff_low,
            cutoff_high=values.comp_mask_auto_contrast_cutoff_high,
        )  # fmt: skip
        depth = None
        if stage.comp_mask_type == "Depth":
            depth = stage.depth_model(frame)
        elif stage.comp_mask_type == "Video Depth":
            depth = stage.depth_model(video)
        mask = make_mask(options, frame, video, depth)
        return composite(frame, video, mask, values.comp_alpha)

    def after_generation(self, image: torch.Tensor, index: int) -> torch.Tensor:
        """A diffused key as it is kept: composited when the composite is After Generation
        (from the second key on, as Deforum)."""
        if self.stage.composite != "After Generation" or index == 0:
            return image
        return self.composite(image, index)


class HybridCamera:
    """A mode's camera with the video's motion after it, and the composite on key moves."""

    pure = False  # it reads the video forward only and keeps its frames

    def __init__(self, camera, hybrid: BoundHybrid) -> None:
        self.camera = camera
        self.hybrid = hybrid

    @property
    def depth_calls(self) -> int:
        return self.camera.depth_calls

    def move(self, frame: torch.Tensor, source: int, target: int) -> torch.Tensor:
        return self.hybrid.move(self.camera.move(frame, source, target), source, target)

    def move_key(self, frame: torch.Tensor, source: int, target: int) -> torch.Tensor:
        """The previous key moved onto a new key, composited as the settings say."""
        timing = self.hybrid.stage.composite
        moved = self.camera.move(frame, source, target)
        if timing == "Before Motion":
            moved = self.hybrid.composite(moved, target)
        moved = self.hybrid.move(moved, source, target)
        return self.hybrid.composite(moved, target) if timing == "Normal" else moved

    def forget_before(self, index: int) -> None:
        self.camera.forget_before(index)
        self.hybrid.forget_before(index)
