"""Deforum's colour coherence as a stage: match each frame to a reference frame or image."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch

from ..color import (
    COLOR_SPACES,
    ReferenceHistogram,
    match_histograms,
    reference_histogram,
    to_grayscale,
)
from ..errors import ScheduleError
from ..fingerprint import tensor_digest
from ..params import ParameterTable, choice, flag, integer
from .protocol import FrameContext, RenderInfo

COLOR_COHERENCE_MODES = ("None", *COLOR_SPACES, "Image", "Video Input")
LAB_TARGETS = ("Image", "Video Input")  # matched in LAB, as Deforum's maintain_colors does


@dataclass(frozen=True)
class ColorCoherenceStage(ParameterTable):
    """The Deforum Color Coherence node's settings, in widget order, and its image.

    The reference is the first diffused frame (refreshed every `refresh_every` frames when
    that is above 0), the given image for mode Image, or for mode Video Input the video's
    frame, taken anew every `video_every_n_frames` frames (Deforum's
    color_coherence_video_every_N_frames); Image and Video Input match in LAB. Each prepared
    frame is matched before diffusion; with match_after_diffusion each diffused frame is
    matched too, as sd-webui-deforum does when legacy_colormatch is off (render.py matches the
    generated image to color_match_sample before it is saved).
    """

    color_coherence: str = choice(
        "LAB",
        COLOR_COHERENCE_MODES,
        "Colour space to match in, or None / Image / Video Input (the video's frame).",
        deforum_key="color_coherence",
    )
    refresh_every: int = integer(
        0, "Take a new reference every N frames; 0 keeps the first.", low=0, high=100_000
    )
    force_grayscale: bool = flag(
        False, "Turn every frame grey.", deforum_key="color_force_grayscale"
    )
    image: torch.Tensor | None = field(default=None, compare=False)
    match_after_diffusion: bool = flag(
        False,
        "Also match each diffused frame to the reference, as Deforum does with "
        "legacy_colormatch off (steadier colours); off: before diffusion only (Deforum's "
        "legacy_colormatch, this node's first behaviour).",
        appended=True,
    )
    video_every_n_frames: int = integer(
        1, "Video Input: take the video's frame as the reference every N frames.", low=1,
        high=100_000, deforum_key="color_coherence_video_every_N_frames", appended=True,
    )  # fmt: skip

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.color_coherence == "Image" and self.image is None:
            raise ScheduleError(
                "color coherence Image needs an image",
                parameter="color_coherence",
                hint="connect an image to match, or pick RGB, HSV or LAB",
            )

    def bind(self, render: RenderInfo) -> BoundColorCoherence:
        return BoundColorCoherence(self)

    def describe(self) -> dict[str, Any]:
        image = None if self.image is None else tensor_digest(self.image)
        return {**super().describe(), "image": image}


class BoundColorCoherence:
    def __init__(self, stage: ColorCoherenceStage) -> None:
        self.stage = stage
        # the last reference's histogram: the reference changes every few frames at most,
        # so each frame matched to the same one skips converting and counting it
        self._reference: tuple[torch.Tensor, tuple, ReferenceHistogram] | None = None

    @property
    def matches_video(self) -> bool:
        """Whether the reference is the video's frame (see video_reference_frame)."""
        return self.stage.color_coherence == "Video Input"

    def video_reference_frame(self, frame: int) -> int:
        """The frame whose video frame is the reference at `frame`."""
        every = self.stage.video_every_n_frames
        return frame // every * every

    def refreshes_reference(self, frame: int) -> bool:
        """Whether the reference is taken from this frame's output."""
        stage = self.stage
        if stage.color_coherence == "Image":
            return False
        return frame == 0 or (stage.refresh_every > 0 and frame % stage.refresh_every == 0)

    def apply(self, frames: torch.Tensor, context: FrameContext) -> torch.Tensor:
        """Frames matched to context.reference (or the stage's image), then greyed if asked."""
        stage = self.stage
        if stage.color_coherence != "None":
            is_image = stage.color_coherence == "Image"
            target = stage.image if is_image else context.reference
            space = "LAB" if stage.color_coherence in LAB_TARGETS else stage.color_coherence
            if target is not None:
                frames = match_histograms(frames, self._histogram(target, space, frames), space)
        return to_grayscale(frames) if stage.force_grayscale else frames

    def _histogram(
        self, target: torch.Tensor, space: str, frames: torch.Tensor
    ) -> ReferenceHistogram:
        """The target's histogram for these frames, reused while the target is the same
        tensor with the same contents (its version counter, or for inference tensors, which
        have none, the sum of its values) and the space, dtype and device are the same."""
        key = (space, frames.dtype, frames.device, target.shape, target.dtype, target.device,
               target.data_ptr(), _content_stamp(target))  # fmt: skip
        cached = self._reference
        if cached is not None and cached[0] is target and cached[1] == key:
            return cached[2]
        histogram = reference_histogram(target, space, frames.dtype, frames.device)
        self._reference = (target, key, histogram)
        return histogram

    preview = apply  # the diffuser keeps the matched colours

    def after_diffusion(self, frames: torch.Tensor, context: FrameContext) -> torch.Tensor:
        """A diffused frame as it is kept: matched and greyed like a prepared one when
        match_after_diffusion is on, else as the diffuser made it."""
        return self.apply(frames, context) if self.stage.match_after_diffusion else frames


def _content_stamp(tensor: torch.Tensor) -> int | float:
    """What changes when a tensor's values are changed in place: its version counter, or
    for an inference tensor (which has none) the float64 sum of its values."""
    try:
        return tensor._version
    except RuntimeError:  # inference tensors do not track versions
        return float(tensor.sum(dtype=torch.float64))
