"""Pictures that enter a render from outside (the init image, video frames), fitted to it."""

from __future__ import annotations

import torch

from ..errors import ScheduleError
from ..geometry import stretch
from .rundir import quantize


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
