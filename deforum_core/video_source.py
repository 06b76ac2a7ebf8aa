"""The frames of Deforum's Video Input mode, read straight from the video as they are needed.

Deforum's Video Input first splits the video at video_init_path into JPEG files on disk
(every extract_nth_frame-th frame between extract_from_frame and extract_to_frame): fragile
(a stale or half-written folder is used as found) and lossy (JPEG once more). `VideoFile`
decodes the frames lazily with PyAV instead, never all in memory nor on disk; `ImageBatch`
serves the same selection from an IMAGE batch already loaded (e.g. by ComfyUI's video
loader). PyAV is imported only when a video is opened, so the engine imports light.

Deforum's selection rule (sd-webui-deforum's vid2frames) is kept: reading starts at frame
extract_from_frame and keeps frame i when i <= extract_to_frame (-1: to the end) and
i % extract_nth_frame == 0, the ABSOLUTE frame number modulo n: from 3, n 2 keeps 4, 6, ...
"""

from __future__ import annotations

import math
import operator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import torch

from .errors import DeforumError
from .fingerprint import file_fingerprint, tensor_digest

_PICK = "pick an existing video file (mp4, mov, mkv, webm, avi ...)"


class VideoSourceError(DeforumError):
    """A video, or a selection of its frames, that cannot be used as given."""

    default_parameter = "video"


def _whole(value: Any, parameter: str, minimum: int, hint: str) -> int:
    """value as an int when it is a whole number >= minimum (1.0 from a settings file is 1)."""
    whole = isinstance(value, int) or (isinstance(value, float) and value.is_integer())
    if isinstance(value, bool) or not whole or value < minimum:
        reason = f"must be a whole number of at least {minimum}, got {value!r}"
        raise VideoSourceError(reason, parameter=parameter, hint=hint)
    return int(value)


@dataclass(frozen=True)
class FrameSelection:
    """extract_nth_frame, extract_from_frame, extract_to_frame as Deforum names them."""

    nth: int = 1
    start: int = 0
    end: int = -1  # -1: to the last frame

    def __post_init__(self) -> None:
        nth = _whole(self.nth, "extract_nth_frame", 1, "1 keeps every frame, 2 every other one")
        start = _whole(self.start, "extract_from_frame", 0, "0 starts at the first frame")
        end = _whole(self.end, "extract_to_frame", -1, "-1 reads to the last frame")
        if end != -1 and end < start:
            hint = "use -1 to read to the last frame, or a frame at or after extract_from_frame"
            reason = f"extract_to_frame {end} is before extract_from_frame {start}"
            raise VideoSourceError(reason, parameter="extract_to_frame", hint=hint)
        for name, value in (("nth", nth), ("start", start), ("end", end)):
            object.__setattr__(self, name, value)  # 2.0 from a settings file is stored as 2

    def indices(self, count: int) -> range:
        """The source frame indices kept of a video of `count` frames (Deforum's rule)."""
        last = count - 1 if self.end == -1 else min(self.end, count - 1)
        first = self.start + (-self.start) % self.nth  # the first multiple of nth from start
        kept = range(first, last + 1, self.nth)
        if not kept:
            named = [f"extract_from_frame {self.start}"]
            named += [f"extract_to_frame {self.end}"] if self.end != -1 else []
            named += [f"extract_nth_frame {self.nth}"] if self.nth != 1 else []
            hint = f"start below {count}, end later, or lower extract_nth_frame"
            reason = f"the video has {count} frames; {', '.join(named)} selects none"
            raise VideoSourceError(reason, parameter="extract_from_frame", hint=hint)
        return kept

    def describe(self) -> dict[str, int]:
        """The selection under Deforum's names, for the run's record."""
        names = ("extract_nth_frame", "extract_from_frame", "extract_to_frame")
        return dict(zip(names, (self.nth, self.start, self.end), strict=True))


@runtime_checkable
class VideoSource(Protocol):
    """Selected frames of a video, by number: what Video Input renders from.
    frame_count: frames selected. fps: the source's frames per second, for display (0.0 if
    unknown); the selection's is fps / nth (`selected_fps`). size: the source's (width,
    height). frame(i): the i-th selected frame, [1,H,W,3] float32 in 0..1 on the CPU.
    describe(): JSON data that changes when the frames would: a resume refuses a changed video.
    """

    frame_count: int
    fps: float
    size: tuple[int, int]

    def frame(self, index: int) -> torch.Tensor: ...

    def describe(self) -> dict[str, Any]: ...


class _Selected:
    """What both sources share: the kept source indices and the look-up of one."""

    def _select(self, selection: FrameSelection, count: int, fps: float, size: tuple) -> None:
        self.selection, self.fps, self.size = selection, fps, size
        self._kept = selection.indices(count)
        self.frame_count = len(self._kept)

    @property
    def selected_fps(self) -> float:
        """Frames per second of the selection: the source's fps over extract_nth_frame."""
        return self.fps / self.selection.nth

    def source_index(self, index: int) -> int:
        """The source frame number of the index-th selected frame."""
        count, index = len(self._kept), operator.index(index)
        if not 0 <= index < count:
            reason = f"the selection has {count} frames (0 to {count - 1}), so none"
            hint = f"ask for frames below {count}, or select more of the video"
            raise VideoSourceError(reason, frame=index, hint=hint)
        return self._kept[index]


class VideoFile(_Selected):
    """A video file's selected frames, decoded on demand: asked in order, each source frame
    once; one behind the last reopens and decodes forward. Frames are counted on opening: the
    container's count, else its video packets (demuxed, not decoded)."""

    def __init__(self, path: str | Path, selection: FrameSelection = FrameSelection()) -> None:
        self.path = Path(path)
        name = self.path.name  # messages name the file only, never the server's folders
        if self.path.is_dir():
            raise VideoSourceError(f"{name} is a folder, not a video file", hint=_PICK)
        if not self.path.is_file():
            raise VideoSourceError(f"video file {name} is not there", hint=_PICK)
        self.source_frames, fps, size = self._probe()
        self._select(selection, self.source_frames, fps, size)
        self.close()

    def _unreadable(self) -> VideoSourceError:
        return VideoSourceError(f"{self.path.name} is not a video FFmpeg can read", hint=_PICK)

    def _probe(self) -> tuple[int, float, tuple[int, int]]:
        import av

        try:
            with av.open(str(self.path)) as container:
                stream = container.streams.video[0]  # IndexError: no video in it
                rate = stream.average_rate or stream.guessed_rate
                size = (stream.codec_context.width, stream.codec_context.height)
                total = stream.frames
                if total <= 0:  # Matroska, WebM and others do not record it
                    total = sum(1 for packet in container.demux(stream) if packet.size > 0)
        except (av.FFmpegError, OSError, IndexError):
            raise self._unreadable() from None
        if min(size) <= 0:
            raise self._unreadable()
        return total, float(rate) if rate else 0.0, size

    def frame(self, index: int) -> torch.Tensor:
        import av

        source = self.source_index(index)
        if self._last is not None and self._last[0] == source:
            return self._last[1].clone()
        try:
            if self._decoded is None or source < self._next:  # (re)open, decode from the start
                self.close()
                self._container = av.open(str(self.path))
                self._container.streams.video[0].thread_type = "AUTO"
                self._decoded = self._container.decode(video=0)
            while self._next <= source:  # frames before the one asked are not converted
                decoded = next(self._decoded)
                self._next += 1
        except StopIteration:
            reason = f"{self.path.name} ended after {self._next} frames, before frame {source}"
            self.close()
            hint = "the file may be cut short; re-encode it or lower extract_to_frame"
            raise VideoSourceError(reason, frame=index, hint=hint) from None
        except (av.FFmpegError, OSError):
            self.close()
            reason = f"{self.path.name} cannot be decoded at source frame {source}"
            raise VideoSourceError(reason, frame=index, hint=_PICK) from None
        pixels = decoded.to_ndarray(format="rgb24", width=self.size[0], height=self.size[1])
        image = torch.from_numpy(pixels).to(torch.float32).div_(255).unsqueeze(0).contiguous()
        self._last = (source, image)
        return image.clone()

    def close(self) -> None:
        """Release the decoder and the file; a later frame() opens it again."""
        container, self._container = getattr(self, "_container", None), None
        self._decoded: Any = None  # the decode iterator: dropped before its container closes
        self._next = 0  # the source number of the frame the iterator yields next
        self._last: tuple[int, torch.Tensor] | None = None  # the frame returned last
        if container is not None:
            container.close()

    def __enter__(self) -> VideoFile:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __getstate__(self) -> dict[str, Any]:
        # a copy (or pickle) gets the file and selection, and opens its own decoder
        return {**self.__dict__, "_container": None, "_decoded": None, "_last": None, "_next": 0}

    def describe(self) -> dict[str, Any]:
        try:
            fingerprint = file_fingerprint(self.path)
        except OSError:
            gone = f"video file {self.path.name} is not there"
            raise VideoSourceError(gone, hint=_PICK) from None
        return {"type": "VideoFile", "file": self.path.name, "fingerprint": fingerprint,
                **self.selection.describe(), "frames": self.frame_count}  # fmt: skip


class ImageBatch(_Selected):
    """Selected frames of an IMAGE batch [B,H,W,3 or 4] in memory, e.g. ComfyUI's video loader's."""

    def __init__(
        self, images: torch.Tensor, selection: FrameSelection = FrameSelection(), fps: float = 0.0
    ) -> None:
        shape = tuple(images.shape) if isinstance(images, torch.Tensor) else type(images).__name__
        batch = isinstance(images, torch.Tensor) and images.dim() == 4
        if not batch or images.shape[-1] not in (3, 4) or 0 in images.shape:
            reason = f"expected a batch of images [frames, height, width, 3 or 4], got {shape}"
            raise VideoSourceError(reason, parameter="images")
        if not images.is_floating_point() or not bool(torch.isfinite(images).all()):
            reason = f"the images {shape} must hold finite floating-point values"
            raise VideoSourceError(reason, parameter="images")
        if isinstance(fps, bool) or not isinstance(fps, (int, float)) or not 0 <= fps < math.inf:
            raise VideoSourceError(f"must be 0 (unknown) or more, got {fps!r}", parameter="fps")
        self.images = images
        count, height, width = (int(n) for n in images.shape[:3])
        self._select(selection, count, float(fps), (width, height))
        self._digest: str | None = None

    def frame(self, index: int) -> torch.Tensor:
        source = self.source_index(index)
        picked = self.images[source : source + 1, ..., :3]
        return picked.to("cpu", torch.float32, copy=True).contiguous()

    def describe(self) -> dict[str, Any]:
        if self._digest is None:
            self._digest = tensor_digest(self.images)
        return {"type": "ImageBatch", "digest": self._digest,
                **self.selection.describe(), "frames": self.frame_count}  # fmt: skip
