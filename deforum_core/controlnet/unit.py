"""A ControlNet unit: the model, where its hint picture comes from, the preprocessor, and
the weight and guidance schedules, declared once (params.py) for the node and the import.

Hint sources: `video` (a video source, frame k for key k), `images` (an IMAGE batch, picture
k for key k), `image` (the first picture of `images`, for every key) and `loopback` (the
frame being diffused, as prepared: the picture that goes into img2img, Deforum's
cn_N_loopback_mode). A video or batch shorter than the animation is refused when the render
starts, rather than repeating or dropping the hint on the frames past its end.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import torch

from ..errors import ScheduleError
from ..fingerprint import tensor_digest, weights_fingerprint
from ..keyframes import Schedule
from ..params import ParameterTable, choice, integer, schedule
from ..stages.protocol import RenderInfo, values_for
from .hint import BALANCED, CONTROL_MODES
from .preprocess import check_depth_model

if TYPE_CHECKING:
    from ..video_source import VideoSource
    from .bound import BoundControlUnit

VIDEO, IMAGES, IMAGE, LOOPBACK = "video", "images", "image", "loopback"
HINT_SOURCES = (VIDEO, IMAGES, IMAGE, LOOPBACK)
PREPROCESSORS = ("none", "canny", "depth")
MAX_WEIGHT = 10.0  # ComfyUI's Apply ControlNet allows strengths up to 10


@dataclass(frozen=True)
class ControlFrame:
    """A unit's scheduled values on one frame."""

    weight: float
    guidance_start: float
    guidance_end: float


@dataclass(frozen=True)
class ControlUnit(ParameterTable):
    """The Deforum ControlNet node's settings, in widget order, with its model and sources."""

    hint_source: str = choice(
        LOOPBACK, HINT_SOURCES,
        "Where each key frame's hint picture comes from: video (its frame of the same "
        "index), images (the batch's picture of the same index), image (the first picture "
        "of images, for every frame) or loopback (the frame itself as prepared for "
        "diffusion: moved, colour-matched, sharpened and noised).",
    )  # fmt: skip
    preprocessor: str = choice(
        "none", PREPROCESSORS,
        "none: the hint as it is (a pose, depth or edge picture you made); canny: its edges "
        "(canny_low, canny_high); depth: its depth from the Deforum Depth Model.",
    )  # fmt: skip
    weight: Schedule = schedule(  # noqa: RUF009 (a table field, params.py)
        "0:(1)", "The control's strength per frame; 0 leaves the frame as without the unit.",
        low=0.0, high=MAX_WEIGHT,
    )  # fmt: skip
    guidance_start: Schedule = schedule(  # noqa: RUF009 (a table field, params.py)
        "0:(0.0)", "Fraction of each frame's sampling at which the control starts.",
        low=0.0, high=1.0,
    )  # fmt: skip
    guidance_end: Schedule = schedule(  # noqa: RUF009 (a table field, params.py)
        "0:(1.0)", "Fraction of each frame's sampling at which the control ends.",
        low=0.0, high=1.0,
    )  # fmt: skip
    control_mode: str = choice(
        BALANCED, CONTROL_MODES,
        "balanced; prompt (My prompt is more important: the control weakened in the "
        "shallow blocks); controlnet (ControlNet is more important: the negative prompt's "
        "pass runs without control).",
    )  # fmt: skip
    canny_low: int = integer(100, "Canny's lower threshold (links edges).", low=0, high=255)
    canny_high: int = integer(200, "Canny's upper threshold (starts edges).", low=0, high=255)
    model: Any = field(default=None, compare=False)  # ComfyUI's CONTROL_NET or diffusers'
    video: VideoSource | None = field(default=None, compare=False)
    images: torch.Tensor | None = field(default=None, compare=False)  # IMAGE [B, H, W, C]
    depth_model: Any = field(default=None, compare=False)  # for the depth preprocessor

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.model is None:
            raise ScheduleError("a ControlNet unit needs its model", parameter="control_net",
                                hint="connect Load ControlNet Model (or Deforum ControlNet "
                                "Loader) to control_net")  # fmt: skip
        if self.hint_source == VIDEO and self.video is None:
            raise ScheduleError(
                "hint_source video needs a video", parameter="video",
                hint="connect a Deforum Video Input to video, or pick hint_source loopback",
            )  # fmt: skip
        if self.hint_source in (IMAGES, IMAGE):
            self._check_images()
        if self.estimates_depth:
            check_depth_model(self.depth_model)

    @property
    def estimates_depth(self) -> bool:
        """Whether the hint is a picture's depth, estimated by depth_model."""
        return self.preprocessor == "depth"

    def _check_images(self) -> None:
        images = self.images
        if images is None:
            raise ScheduleError(
                f"hint_source {self.hint_source} needs images", parameter="images",
                hint="connect an IMAGE (Load Image, or a video loader's frames) to images, "
                "or pick hint_source loopback",
            )  # fmt: skip
        shape = tuple(images.shape) if isinstance(images, torch.Tensor) else None
        if shape is None or len(shape) != 4 or shape[-1] not in (3, 4) or 0 in shape:
            raise ScheduleError(f"images must be an IMAGE batch [B, H, W, 3], got {shape}",
                                parameter="images", hint="connect an IMAGE output")  # fmt: skip

    def bind(self, render: RenderInfo) -> BoundControlUnit:
        """The unit's values on every frame; a hint video or batch shorter than the render,
        or guidance that ends before it starts, is refused here, before any frame."""
        from .bound import BoundControlUnit

        needed = render.max_frames
        if self.hint_source == VIDEO and self.video.frame_count < needed:
            raise ScheduleError(
                f"the hint video has {self.video.frame_count} frames, the animation {needed}",
                parameter="video", hint="use a hint video at least as long as the animation, "
                "or render fewer frames",
            )  # fmt: skip
        if self.hint_source == IMAGES and self.images.shape[0] < needed:
            raise ScheduleError(
                f"images holds {self.images.shape[0]} pictures, the animation {needed} frames",
                parameter="images", hint="give one picture per frame, or pick hint_source "
                "image to use the first picture for every frame",
            )  # fmt: skip
        values = values_for(self, ControlFrame, render)
        for frame, value in enumerate(values):
            if value.guidance_end < value.guidance_start:
                raise ScheduleError(
                    f"guidance_end {value.guidance_end:g} is before guidance_start "
                    f"{value.guidance_start:g}", parameter="guidance_end", frame=frame,
                    hint="end the control at or after its start",
                )  # fmt: skip
        return BoundControlUnit(self, values, render.width, render.height)

    def describe(self) -> dict[str, Any]:
        """Its settings, model and sources, for the run's record (a resume with another
        model or hint is refused)."""
        return {
            **super().describe(),
            "model": describe_model(self.model),
            "video": None if self.video is None else self.video.describe(),
            "images": None if self.images is None else tensor_digest(self.images),
            "depth_model": None if self.depth_model is None else self.depth_model.describe(),
        }


def describe_model(model: Any) -> dict[str, Any]:
    """A ControlNet model as plain data: its own description (Deforum ControlNet Loader's),
    else a fingerprint of the torch weights ComfyUI's ControlNet holds (control_model)."""
    described = getattr(model, "describe", None)
    if callable(described):
        return described()
    module = getattr(model, "control_model", model)
    entry: dict[str, Any] = {"type": type(model).__name__}
    if isinstance(module, torch.nn.Module):
        entry["weights_fingerprint"] = weights_fingerprint(module.state_dict().items())
    return entry
