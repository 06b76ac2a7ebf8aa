"""Pictures that enter a render from outside (the init image, video frames), fitted to it."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ..errors import ScheduleError
from .rundir import quantize


def fit_picture(
    image: torch.Tensor, width: int, height: int, *, parameter: str, what: str
) -> torch.Tensor:
    """The first picture of an IMAGE batch as RGB at the render's size, at 8-bit levels.

    A picture of another size is stretched to it, as Deforum's load_img resizes its init
    image (and each Video Input frame) to W x H without keeping the aspect; the resampling
    is antialiased bicubic, close to the Lanczos filter Deforum uses.
    """
    image = image[:1, ..., :3]
    if not torch.isfinite(image).all():
        raise ScheduleError(
            f"{what} holds pixel values that are not numbers (NaN or infinite)",
            parameter=parameter,
            hint="check the node that made it",
        )
    if tuple(image.shape[1:3]) != (height, width):
        resized = F.interpolate(
            image.permute(0, 3, 1, 2), (height, width), mode="bicubic", antialias=True
        )
        image = resized.permute(0, 2, 3, 1)
    return quantize(image)
