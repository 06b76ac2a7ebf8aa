"""Encode a run's frames into a video with PyAV (which bundles FFmpeg).

Frames are encoded one at a time, so memory stays flat however long the run: encode_video
reads them from their files; VideoEncoder takes them as they are rendered, so a video can be
finished when its last frame is (render/frame_writer.py). Both drive the encoder alike, so
the same pixels make the file either would (as far as the encoder repeats itself: x264's
macroblock-tree rate control may not give the same bytes twice on a busy machine). The video
is written under a temporary name and renamed when complete: a failed or cancelled encode
never leaves a half-written file behind.
"""

from __future__ import annotations

import hashlib
import sys
from collections.abc import Callable, Sequence
from contextlib import ExitStack, suppress
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
    # quality 0..100 onto x264's constant rate factor 51..0 (23 is x264's default). Preset
    # veryfast: on the main job's 120 frames at quality 80 (crf 10) it takes 5 ms a frame
    # against medium's 13 ms, for a 5 % smaller file within 0.3 dB PSNR of medium's
    return {"crf": str(round(51 - quality * 0.51)), "preset": "veryfast"}


def _vp9_options(quality: int) -> dict[str, str]:
    return {"crf": str(round(63 - quality * 0.63)), "b:v": "0", "row-mt": "1"}


_FORMATS = {
    "mp4": _Format("mp4", "libx264", "yuv420p", _h264_options),
    "webm": _Format("webm", "libvpx-vp9", "yuv420p", _vp9_options),
    "gif": _Format("gif", "gif", "rgb8", lambda quality: {}),
}


class VideoError(DeforumError):
    """A video that cannot be made as asked; the message says how to fix it."""


@dataclass(frozen=True)
class VideoSettings:
    """One video to make of a run's frames: the arguments of encode_video."""

    output: Path
    fps: float
    video_format: str = "mp4"
    quality: int = 80
    audio: Path | None = None

    def encoder(self) -> VideoEncoder:
        return VideoEncoder(self.output, fps=self.fps, video_format=self.video_format,
                            quality=self.quality, audio=self.audio)  # fmt: skip


def _checked_format(video_format: str, fps: float, audio: Path | None) -> _Format:
    if video_format not in _FORMATS:
        raise VideoError(f"unknown video format {video_format!r}; use {', '.join(VIDEO_FORMATS)}")
    if not 0 < fps <= 1000:
        raise VideoError(f"fps must be above 0 and at most 1000, got {fps}")
    if audio is not None and video_format == "gif":
        raise VideoError("a GIF cannot carry sound; choose mp4 or webm, or leave audio empty")
    if audio is not None and not Path(audio).is_file():
        state = "a folder, not a file" if Path(audio).is_dir() else "not there"
        raise VideoError(f"audio file {Path(audio).name} is {state}", parameter="audio_file",
                         hint="pick an existing sound file, or none")  # fmt: skip
    return _FORMATS[video_format]


def _check_size(spec: _Format, video_format: str, width: int, height: int) -> None:
    if spec.pixel_format == "yuv420p" and (width % 2 or height % 2):
        raise VideoError(f"{video_format} needs even frame sides, the frames are {width}x{height}")


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
        _checked_format(video_format, fps, audio)  # names the format
    if not frame_paths:
        raise VideoError("there are no frames to encode; render the animation first")
    spec = _checked_format(video_format, fps, audio)
    first = cv2.imread(str(frame_paths[0]), cv2.IMREAD_COLOR)
    if first is None:
        raise VideoError(f"cannot read frame {frame_paths[0]}")
    height, width = first.shape[:2]
    _check_size(spec, video_format, width, height)
    encoder = VideoEncoder(output, fps=fps, video_format=video_format, quality=quality,
                           audio=audio)  # fmt: skip
    try:
        for index, path in enumerate(frame_paths):
            pixels = first if index == 0 else cv2.imread(str(path), cv2.IMREAD_COLOR)
            if pixels is None or pixels.shape[:2] != (height, width):
                raise VideoError(f"frame {path.name} is missing or not {width}x{height}")
            encoder.write(cv2.cvtColor(pixels, cv2.COLOR_BGR2RGB))
            if on_frame is not None:
                on_frame(index + 1, len(frame_paths))
        return encoder.close()
    except BaseException:
        encoder.abort()
        raise


class VideoEncoder:
    """A video made of frames handed over one at a time: write(pixels) for each frame, 8-bit
    RGB [H, W, 3] in order, then close() to finish it (the encoder's last packets, the sound
    cut to the video's length, the rename into place) or abort() to drop it. The request is
    checked (and the sound file opened) when the encoder is made, the file opened under its
    temporary name at the first frame; a failure drops the file, leaving nothing behind."""

    def __init__(self, output: Path, *, fps: float, video_format: str = "mp4",
                 quality: int = 80, audio: Path | None = None) -> None:  # fmt: skip
        self.spec = _checked_format(video_format, fps, audio)
        self.output, self.video_format, self.quality = Path(output), video_format, quality
        self.rate = Fraction(fps).limit_denominator(1001)
        self.frames = 0
        self._source = open_audio(audio) if audio is not None else None
        self._files: ExitStack | None = None
        self._container = self._stream = self._audio = None
        self._size: tuple[int, int] | None = None

    def write(self, pixels: Any) -> None:
        import av

        if self._size is None:
            self._open(pixels.shape[1], pixels.shape[0])
        if pixels.shape[:2] != self._size:
            height, width = self._size
            self._fail(VideoError(f"frame {self.frames} is not {width}x{height}"))
        frame = av.VideoFrame.from_ndarray(pixels, format="rgb24")
        self._guarded(lambda: self._container.mux(self._stream.encode(frame)))
        self.frames += 1

    def close(self) -> Path:
        """Finish the video and rename it into place; returns its path."""
        if self._files is None:
            self.abort()
            raise VideoError("there are no frames to encode; render the animation first")

        def finish() -> None:
            self._container.mux(self._stream.encode())
            if self._audio is not None:
                _copy_audio(self._container, self._audio, self.frames / float(self.rate))

        self._guarded(finish)
        files, self._files = self._files, None
        try:
            files.close()  # the container, then the flush to disk and the rename
        finally:
            self._close_source()
        return self.output

    def abort(self) -> None:
        """Drop the video: its temporary file is removed, an earlier video stays as it was."""
        files, self._files = self._files, None
        try:
            if files is not None:  # the temporary file is removed whatever else fails
                with suppress(Exception):
                    files.__exit__(VideoError, VideoError("the video was dropped"), None)
        finally:
            self._close_source()

    def _open(self, width: int, height: int) -> None:
        """Open the temporary file and the streams, as for the first frame of that size."""
        import av

        _check_size(self.spec, self.video_format, width, height)
        self._size = (height, width)
        self._files = ExitStack()
        temporary = self._files.enter_context(atomic_output(self.output))

        def start() -> None:
            spec = self.spec
            container = av.open(str(temporary), mode="w", format=spec.container)
            self._container = self._files.enter_context(container)
            stream = self._container.add_stream(spec.codec, rate=self.rate)
            stream.width, stream.height = width, height
            stream.pix_fmt = spec.pixel_format
            stream.options = spec.options(self.quality)
            self._stream = stream
            if self._source is not None:
                self._audio = _add_audio(self._container, self._source)

        self._guarded(start)

    def _guarded(self, action: Callable[[], Any]) -> None:
        """Run one step of writing the file; on a failure drop the file and raise (a write
        error as atomic_output words it: naming the video and the reason)."""
        try:
            action()
        except BaseException:
            files, self._files = self._files, None
            self._close_source()
            if files is not None and files.__exit__(*sys.exc_info()):
                return
            raise

    def _fail(self, error: Exception) -> None:
        def raise_it() -> None:
            raise error

        self._guarded(raise_it)

    def _close_source(self) -> None:
        source, self._source = self._source, None
        if source is not None:
            source.close()


class FramesDigest:
    """A digest of a run's frame files, in order, added one at a time (the PNG bytes)."""

    def __init__(self) -> None:
        self._hash = hashlib.sha256()

    def add(self, png: bytes) -> None:
        self._hash.update(len(png).to_bytes(8, "little"))
        self._hash.update(png)

    def hexdigest(self) -> str:
        return self._hash.hexdigest()


def frames_digest(frame_paths: Sequence[Path]) -> str:
    digest = FramesDigest()
    for path in frame_paths:
        digest.add(Path(path).read_bytes())
    return digest.hexdigest()


def file_digest(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@dataclass(frozen=True)
class StreamedVideo:
    """A video encoded while its frames were written, and what it was made of: whoever asks
    for the same video of the same frames can take the file as it is (what encode_video
    would write: the same encoder, settings and pixels) instead of encoding it again."""

    settings: VideoSettings
    frames: int
    frames_digest: str
    video_digest: str
    audio_digest: str | None = None

    def matches(self, settings: VideoSettings, frame_paths: Sequence[Path]) -> bool:
        """Whether the file is still that video, of these very frames and sound, made with
        these settings (the files are read again: a frame or the video changed on disk since
        is seen)."""
        if settings != self.settings or len(frame_paths) != self.frames:
            return False
        try:
            audio = None if settings.audio is None else file_digest(settings.audio)
            return (audio == self.audio_digest
                    and file_digest(settings.output) == self.video_digest
                    and frames_digest(frame_paths) == self.frames_digest)  # fmt: skip
        except OSError:
            return False


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
