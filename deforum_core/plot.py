"""A picture of a schedule's curve, so a keyframe string can be checked at a glance."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

_BACKGROUND = (255, 255, 255)
_GRID = (225, 225, 225)
_AXIS = (120, 120, 120)
_CURVE = (31, 119, 180)  # RGB
_KEY = (214, 39, 40)
_TEXT = (40, 40, 40)


def plot_schedule(
    values: Sequence[float],
    key_frames: Sequence[int] = (),
    *,
    title: str = "",
    width: int = 512,
    height: int = 256,
) -> torch.Tensor:
    """Draw values over frames as an RGB image tensor [height, width, 3], floats in 0..1.

    Key frames inside the range are marked with dots; the value range and the first and
    last frame numbers are labelled.
    """
    import cv2  # imported here so that importing the pack stays light

    image = np.full((height, width, 3), _BACKGROUND, dtype=np.uint8)
    left, right, top, bottom = 64, width - 12, 22, height - 22
    low, high = (min(values), max(values)) if values else (0.0, 1.0)
    if high - low < 1e-12:
        low, high = low - 1.0, high + 1.0
    last_frame = max(len(values) - 1, 1)

    def to_pixel(frame: float, value: float) -> tuple[int, int]:
        x = left + (right - left) * frame / last_frame
        y = bottom - (bottom - top) * (value - low) / (high - low)
        return round(x), round(y)

    for fraction in (0.0, 0.25, 0.5, 0.75, 1.0):
        y = round(bottom - (bottom - top) * fraction)
        cv2.line(image, (left, y), (right, y), _GRID, 1)
    if low < 0 < high:
        cv2.line(image, to_pixel(0, 0.0), to_pixel(last_frame, 0.0), _AXIS, 1)
    cv2.rectangle(image, (left, top), (right, bottom), _AXIS, 1)

    points = np.array([to_pixel(frame, value) for frame, value in enumerate(values)], np.int32)
    if len(points):
        cv2.polylines(image, [points.reshape(-1, 1, 2)], False, _CURVE, 2, cv2.LINE_AA)
    for frame in key_frames:
        if 0 <= frame < len(values):
            cv2.circle(image, to_pixel(frame, values[frame]), 4, _KEY, -1, cv2.LINE_AA)

    font, scale = cv2.FONT_HERSHEY_SIMPLEX, 0.4
    cv2.putText(image, f"{high:.4g}", (4, top + 4), font, scale, _TEXT, 1, cv2.LINE_AA)
    cv2.putText(image, f"{low:.4g}", (4, bottom + 4), font, scale, _TEXT, 1, cv2.LINE_AA)
    cv2.putText(image, "0", (left - 3, height - 6), font, scale, _TEXT, 1, cv2.LINE_AA)
    cv2.putText(
        image, str(len(values) - 1), (right - 24, height - 6), font, scale, _TEXT, 1, cv2.LINE_AA
    )
    if title:
        cv2.putText(image, title[:60], (left, 15), font, 0.45, _TEXT, 1, cv2.LINE_AA)
    return torch.from_numpy(image).float().div_(255.0)


def plot_png(values: Sequence[float], key_frames: Sequence[int] = (), *, title: str = "") -> bytes:
    """plot_schedule's picture as the bytes of a PNG file (for the command line's --plot and
    the nodes' previews)."""
    from .render.png_encoding import encode_rgb_png

    picture = plot_schedule(values, key_frames, title=title)
    return encode_rgb_png(picture.mul(255).round().byte().numpy())
