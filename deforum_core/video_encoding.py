"""Encode a run's frames into a video with PyAV (which bundles FFmpeg).

Frames are read and encoded one at a time, so memory stays flat however long the run.
The video is written under a temporary name and renamed when complete: a failed or
cancelled encode never leaves a half-written file behind.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

from .errors import DeforumError
from .files import atomic_output

VIDEO_FORMATS = ("mp4", "webm", "gif")


@dataclass(frozen=True)
class _Format:
    container: str
    codec: str
    pixel_format: str
    options: Callable[[int], dict[str, str]]


def _h264_options(quality: int) -> dict[str, str]:
    # quality 0..100 onto x264's constant rate factor 51..0 (23 is x264's default)
    return {"crf": str(round(51 - quality * 0.51)), "preset": "medium"}


def _vp9_options(quality: int) -> dict[str, str]:
    return {"crf": str(round(63 - quality * 0.63)), "b:v": "0", "row-mt": "1"}


_FORMATS = {
    "mp4": _Format("mp4", "libx264", "yuv420p", _h264_options),
    "webm": _Format("webm", "libvpx-vp9", "yuv420p", _vp9_options),
    "gif": _Format("gif", "gif", "rgb8", lambda quality: {}),
}


class VideoError(DeforumError):
    """A video that cannot be made as asked; the message says how to fix it."""


def encode_video(
    frame_paths: Sequence[Path],
    output: Path,
    *,
    fps: float,
    video_format: str = "mp4",
    quality: int = 80,
    audio: Path | None = None,
    on_frame: Callable[[int, int], None] | None = None,
) -> Path:
    """Encode frame PNGs, in order, into output; returns the output path."""
    import cv2

    if video_format not in _FORMATS:
        raise VideoError(f"unknown video format {video_format!r}; use {', '.join(VIDEO_FORMATS)}")
    if not frame_paths:
        raise VideoError("there are no frames to encode; render the animation first")
    if not 0 < fps <= 1000:
        raise VideoError(f"fps must be above 0 and at most 1000, got {fps}")
    if audio is not None and video_format == "gif":
        raise VideoError("a GIF cannot carry sound; choose mp4 or webm, or leave audio empty")
    if audio is not None and not Path(audio).is_file():
        state = "a folder, not a file" if Path(audio).is_dir() else "not there"
        raise VideoError(f"audio file {Path(audio).name} is {state}", parameter="audio_file",
                         hint="pick an existing sound file, or none")  # fmt: skip
    spec = _FORMATS[video_format]
    first = cv2.imread(str(frame_paths[0]), cv2.IMREAD_COLOR)
    if first is None:
        raise VideoError(f"cannot read frame {frame_paths[0]}")
    height, width = first.shape[:2]
    if spec.pixel_format == "yuv420p" and (width % 2 or height % 2):
        raise VideoError(f"{video_format} needs even frame sides, the frames are {width}x{height}")

    rate = Fraction(fps).limit_denominator(1001)
    source = open_audio(audio) if audio is not None else None
    try:
        _encode(frame_paths, output, spec, rate, first, source, quality, on_frame)
    finally:
        if source is not None:
            source.close()
    return Path(output)


def _encode(
    frame_paths: Sequence[Path],
    output: Path,
    spec: _Format,
    rate: Fraction,
    first: Any,
    source: Any,
    quality: int,
    on_frame: Callable[[int, int], None] | None,
) -> None:
    """Write the frames (the first already read) and the opened sound source atomically."""
    import av
    import cv2

    height, width = first.shape[:2]
    with (
        atomic_output(output) as temporary,
        av.open(str(temporary), mode="w", format=spec.container) as container,
    ):
        stream = container.add_stream(spec.codec, rate=rate)
        stream.width, stream.height = width, height
        stream.pix_fmt = spec.pixel_format
        stream.options = spec.options(quality)
        audio_input = _add_audio(container, source) if source is not None else None
        for index, path in enumerate(frame_paths):
            pixels = first if index == 0 else cv2.imread(str(path), cv2.IMREAD_COLOR)
            if pixels is None or pixels.shape[:2] != (height, width):
                raise VideoError(f"frame {path.name} is missing or not {width}x{height}")
            frame = av.VideoFrame.from_ndarray(
                cv2.cvtColor(pixels, cv2.COLOR_BGR2RGB), format="rgb24"
            )
            container.mux(stream.encode(frame))
            if on_frame is not None:
                on_frame(index + 1, len(frame_paths))
        container.mux(stream.encode())
        if audio_input is not None:
            _copy_audio(container, audio_input, len(frame_paths) / float(rate))


def open_audio(audio: Path):
    """The sound file opened for reading, or a VideoError saying why it is not one."""
    import av

    try:
        source = av.open(str(audio))
    except av.FFmpegError:
        raise VideoError(
            f"{Path(audio).name} is not a sound file FFmpeg can read",
            parameter="audio_file",
            hint="use a WAV, MP3, FLAC, OGG, M4A or a video file with sound",
        ) from None
    if not source.streams.audio:
        source.close()
        raise VideoError(f"{Path(audio).name} has no audio track", parameter="audio_file")
    return source


def _add_audio(container, source):
    codec = "libopus" if container.format.name == "webm" else "aac"
    in_stream = source.streams.audio[0]
    out_stream = container.add_stream(codec, rate=in_stream.rate or 48000)
    return source, in_stream, out_stream


def _copy_audio(container, audio_input, duration: float) -> None:
    """Re-encode the audio track, cut to the video's length."""
    source, in_stream, out_stream = audio_input
    for frame in source.decode(in_stream):
        if frame.time is not None and frame.time >= duration:
            break
        frame.pts = None
        container.mux(out_stream.encode(frame))
    container.mux(out_stream.encode())
