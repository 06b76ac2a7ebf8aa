"""A synthetic video clip for tests of video input: a square moving over a gradient.

`clip_frames` draws the frames and `write_clip` encodes them with PyAV, so a test can compare
what a decoder returns against what was drawn: exactly for the lossless RGB codecs "png"
(in .mov, .mp4 or .avi; Matroska does not take PNG) and "libx264rgb" (in .mkv or .mp4),
within a level or two for "libx264" (lossless in YUV 4:4:4, so only the RGB/YUV rounding
differs), and only roughly for "mpeg4" (lossy).
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import torch

SQUARE = 8
# codec -> (pixel format, encoder options)
_CODECS = {
    "libx264": ("yuv444p", {"qp": "0", "preset": "ultrafast"}),
    "libx264rgb": ("rgb24", {"qp": "0", "preset": "ultrafast"}),
    "png": ("rgb24", {}),
    "mpeg4": ("yuv420p", {"qscale": "2"}),
}


def _draw(index: int, size: tuple[int, int]) -> np.ndarray:
    """Frame `index` as [H,W,3] uint8: red rises and green falls left to right, blue is a
    constant; a yellow square steps 2 pixels right each frame (wrapping at the right edge)."""
    width, height = size
    ramp = np.linspace(0, 255, width).round().astype(np.uint8)
    image = np.empty((height, width, 3), np.uint8)
    image[..., 0] = ramp
    image[..., 1] = ramp[::-1]
    image[..., 2] = 64
    x = (2 * index) % max(1, width - SQUARE)
    y = max(0, height // 2 - SQUARE // 2)
    image[y : y + SQUARE, x : x + SQUARE] = (255, 224, 0)
    return image


def clip_frames(frames: int = 24, size: tuple[int, int] = (64, 48)) -> torch.Tensor:
    """The drawn frames as [N,H,W,3] float32 in 0..1, as a decoder should return them."""
    drawn = np.stack([_draw(i, size) for i in range(frames)])
    return torch.from_numpy(drawn).float() / 255


def write_clip(
    path: Path,
    frames: int = 24,
    size: tuple[int, int] = (64, 48),
    fps: int = 24,
    codec: str = "libx264",
    sound: bool = False,
) -> Path:
    """Encode the drawn frames into `path` (its suffix picks the container), with a 440 Hz
    AAC sound track as long as the clip when `sound` is on; returns path."""
    pixel_format, options = _CODECS[codec]
    width, height = size
    with av.open(str(path), "w") as container:
        stream = container.add_stream(codec, rate=Fraction(fps), options=options)
        stream.width, stream.height, stream.pix_fmt = width, height, pixel_format
        audio = container.add_stream("aac", rate=48000, layout="mono") if sound else None
        for index in range(frames):
            frame = av.VideoFrame.from_ndarray(_draw(index, size), format="rgb24")
            container.mux(stream.encode(frame.reformat(format=pixel_format)))
        container.mux(stream.encode())
        if audio is not None:
            _add_tone(container, audio, frames / fps)
    return Path(path)


def _add_tone(container, stream, seconds: float, rate: int = 48000) -> None:
    samples = np.sin(np.arange(int(rate * seconds)) / rate * 2 * np.pi * 440) * 0.3
    chunk = 1024
    for start in range(0, len(samples), chunk):
        piece = samples[start : start + chunk].astype(np.float32)[None, :]
        frame = av.AudioFrame.from_ndarray(piece, format="fltp", layout="mono")
        frame.sample_rate, frame.pts = rate, start
        container.mux(stream.encode(frame))
    container.mux(stream.encode())
