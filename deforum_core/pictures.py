"""Pictures at a render's size and levels: frames kept at the 8-bit levels a PNG stores, and
pictures that enter a render from outside (the init image, video frames) fitted to it."""

from __future__ import annotations

import torch

from .errors import ScheduleError
from .geometry import stretch


def quantize(frames: torch.Tensor) -> torch.Tensor:
    """Frames rounded to the 8-bit levels a PNG stores, so what is kept equals what is saved."""
    return frames.clamp(0.0, 1.0).mul(255.0).round_().div_(255.0)


def fit_picture(
    image: torch.Tensor, width: int, height: int, *, parameter: str, what: str
) -> torch.Tensor:
    """The first picture of an IMAGE batch as RGB at the render's size, at 8-bit levels.

    A picture of another size is stretched to it (geometry.stretch), as Deforum's load_img
    resizes its init image and each Video Input frame to W x H.
    """
    image = image[:1, ..., :3]
    if not torch.isfinite(image).all():
        raise ScheduleError(
            f"{what} holds pixel values that are not numbers (NaN or infinite)",
            parameter=parameter,
            hint="check the node that made it",
        )
    return quantize(stretch(image, height, width))


class VideoFrames:
    """A video's frames at a render's size, by frame index; the last one fitted is kept, so a
    frame several keys use (a colour reference) is read once, and the video read in order."""

    def __init__(self, video, width: int, height: int, *, parameter: str = "video") -> None:
        self.video, self.width, self.height, self.parameter = video, width, height, parameter
        self._last: tuple[int, torch.Tensor] | None = None

    def __getitem__(self, index: int) -> torch.Tensor:
        if self._last is None or self._last[0] != index:
            what = f"video frame {index}"
            picture = fit_picture(self.video.frame(index), self.width, self.height,
                                  parameter=self.parameter, what=what)  # fmt: skip
            self._last = (index, picture)
        return self._last[1]
