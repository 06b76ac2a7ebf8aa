"""A ControlNet unit bound to a render: each key frame's hint picture and values.

The loop asks frame_controls(units, key, picture) for every pass of every key it diffuses,
where picture is what that pass starts from: the key after the prepare stages, or a redo
pass's picture (optical_flow_redo_generation, diffusion_redo), as Deforum's loopback reads
its init_sample. Only loopback hints change between a key's passes; the others are made
once a key. A unit
whose weight is 0 on the key, or a loopback unit on a key with no picture yet (frame 0
without an init image, where Deforum leaves the unit off too), gives no ControlHint.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from ..pictures import VideoFrames, fit_picture
from .hint import ControlHint
from .preprocess import canny_edges, depth_hint
from .unit import IMAGE, IMAGES, LOOPBACK, VIDEO, ControlFrame, ControlUnit


class BoundControlUnit:
    """One unit for one render: its per-frame values and the pictures its hints come from,
    fitted (stretched) to the frame size as Deforum's Just Resize does."""

    def __init__(self, unit: ControlUnit, values: list[ControlFrame], width: int, height: int):
        self.unit = unit
        self.values = values
        self.width, self.height = width, height
        self._video = None if unit.video is None else VideoFrames(unit.video, width, height)
        self._still: torch.Tensor | None = None  # hint_source image: preprocessed once
        self._last: tuple[int, torch.Tensor] | None = None  # video, images: the last key's

    def control(self, key: int, picture: torch.Tensor | None) -> ControlHint | None:
        """The key's ControlHint, or None where the unit sits this key out."""
        value = self.values[key]
        if value.weight == 0:
            return None
        hint = self.hint(key, picture)
        if hint is None:
            return None
        return ControlHint(self.unit.model, hint, value.weight, value.guidance_start,
                           value.guidance_end, self.unit.control_mode)  # fmt: skip

    def hint(self, key: int, picture: torch.Tensor | None) -> torch.Tensor | None:
        """The key's hint [1, H, W, 3] in 0..1 after the preprocessor; None for loopback
        without a picture."""
        source = self.unit.hint_source
        if source == IMAGE:
            if self._still is None:
                self._still = self._preprocess(self._fitted(0, "the hint image"))
            return self._still
        if source == LOOPBACK:
            if picture is None:
                return None
            return self._preprocess(picture[:1, ..., :3])
        if self._last is None or self._last[0] != key:
            if source == VIDEO:
                picture = self._video[key]
            else:
                assert source == IMAGES
                picture = self._fitted(key, f"hint picture {key}")
            self._last = (key, self._preprocess(picture))
        return self._last[1]

    def _fitted(self, index: int, what: str) -> torch.Tensor:
        picture = self.unit.images[index : index + 1]
        return fit_picture(picture, self.width, self.height, parameter="images", what=what)

    def _preprocess(self, picture: torch.Tensor) -> torch.Tensor:
        unit = self.unit
        if unit.preprocessor == "canny":
            return canny_edges(picture, unit.canny_low, unit.canny_high)
        if unit.estimates_depth:
            return depth_hint(picture, unit.depth_model)
        return picture


def frame_controls(
    units: Sequence[BoundControlUnit], key: int, picture: torch.Tensor | None
) -> tuple[ControlHint, ...]:
    """The ControlHints of a key, in the units' order (chained in that order)."""
    found = (unit.control(key, picture) for unit in units)
    return tuple(control for control in found if control is not None)
