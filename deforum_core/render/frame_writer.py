"""The run folder's background writer: the render loop hands frames over and goes on while
one worker thread encodes them as PNG and writes them atomically.

Frames arrive as 8-bit pixels on the CPU (rundir.frame_pixels), so no device memory is held.
The queue holds a few frames: the loop waits only when it is full, and memory stays flat
however long the render. The run's records (state.json) go through the same queue, so one is
written only after every frame handed over before it is whole on disk: a resume trusts
state.json. A failure in the worker (a full disk, a read-only folder) is raised, as the error
it was, by the next hand-over and by close(); nothing is written after it. abort() (a cancel,
or any error in the loop) writes what was handed over, so every frame handed over is whole
on disk or absent, and ends the thread.

Videos asked for (video_encoding.VideoSettings) are encoded from the same pixels as the frames
are written, so each is finished with the last frame; a resumed render feeds them its earlier
frames from disk first. A video is an extra: one that cannot be made is dropped without
stopping the render, and whoever asked for it encodes it from the frames afterwards (and
reports why that fails, if it does).
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Sequence
from typing import Any

import torch

from ..video_encoding import FramesDigest, StreamedVideo, VideoSettings, file_digest
from .rundir import RunDirectory, encode_pixels

QUEUE_LENGTH = 4  # frames (or records) handed over and not yet written
THREAD_NAME = "deforum-frame-writer"
_STOP = object()


class FrameWriter:
    """Writes one render's frames and records in order on a worker thread (see the module
    docstring). Use it as a context manager: leaving it by an error aborts it."""

    def __init__(
        self,
        directory: RunDirectory,
        frame_count: int,
        *,
        videos: Sequence[VideoSettings] = (),
        queue_length: int = QUEUE_LENGTH,
    ) -> None:
        self.directory = directory
        self._queue: queue.Queue = queue.Queue(maxsize=queue_length)
        self._error: BaseException | None = None
        self._streams = [_VideoStream(settings, directory, frame_count) for settings in videos]
        self._finished: list[StreamedVideo] = []
        self._open = True
        self._thread = threading.Thread(target=self._work, name=THREAD_NAME, daemon=True)
        self._thread.start()

    def write_frame(self, index: int, pixels: torch.Tensor) -> None:
        """Hand over frame `index` as 8-bit RGB pixels [H, W, 3] on the CPU."""
        self._hand_over(("frame", index, pixels))

    def write_json(self, name: str, content: dict[str, Any]) -> None:
        """Hand over a record of the run, written after every frame handed over before it."""
        self._hand_over(("json", name, content))

    def flush(self) -> None:
        """Wait until everything handed over so far is on disk; raises the worker's failure."""
        self._queue.join()
        self._raise_failure()

    def close(self) -> tuple[StreamedVideo, ...]:
        """Wait until everything handed over is on disk and the videos are finished; returns
        the videos made. Raises the worker's failure, if any."""
        self._stop(finish=True)
        self._raise_failure()
        return tuple(self._finished)

    def abort(self) -> None:
        """Write what was handed over, drop the videos and end the thread; raises nothing (a
        failure of the worker was raised by a hand-over, or is lost to the error that stops
        the render)."""
        self._stop(finish=False)

    def __enter__(self) -> FrameWriter:
        return self

    def __exit__(self, error_type, error, traceback) -> None:
        if self._open:
            self.abort()

    def _hand_over(self, item: tuple) -> None:
        if not self._open:
            raise RuntimeError("the frame writer is closed")
        self._raise_failure()
        self._queue.put(item)  # blocks while the queue is full

    def _raise_failure(self) -> None:
        if self._error is not None:
            raise self._error

    def _stop(self, *, finish: bool) -> None:
        if not self._open:
            return
        self._open = False
        self._queue.put((_STOP, finish))
        self._thread.join()

    def _work(self) -> None:
        """The worker: items in order until the stop; after a failure, items are taken and
        dropped (so the loop never blocks on a full queue) until the stop."""
        while True:
            item = self._queue.get()
            if item[0] is _STOP:
                self._end_videos(finish=item[1] and self._error is None)
                return
            try:
                if self._error is None:
                    self._write(item)
            except BaseException as error:  # raised in the loop's thread at the next call
                self._error = error
                self._end_videos(finish=False)
            finally:
                self._queue.task_done()

    def _write(self, item: tuple) -> None:
        if item[0] == "frame":
            self._write_frame(item[1], item[2])
        else:
            self.directory.write_json(item[1], item[2])

    def _write_frame(self, index: int, pixels: torch.Tensor) -> None:
        array = pixels.numpy()
        png = encode_pixels(array)
        self.directory.write_png(index, png)
        for stream in self._streams:
            stream.add(index, array, png)

    def _end_videos(self, *, finish: bool) -> None:
        streams, self._streams = self._streams, []
        for stream in streams:
            video = stream.finish() if finish else stream.drop()
            if video is not None:
                self._finished.append(video)


class _VideoStream:
    """One video encoded beside the render: frames in index order, those written before this
    render (a resume) read from disk; any failure drops it."""

    def __init__(self, settings: VideoSettings, directory: RunDirectory, frame_count: int):
        self.settings, self.directory, self.frame_count = settings, directory, frame_count
        self.encoder = None
        self.next = 0
        self.frames = FramesDigest()
        self.audio: str | None = None
        self.failed = False

    def add(self, index: int, pixels: Any, png: bytes) -> None:
        if self.failed:
            return
        try:
            self._start()
            if index < self.next:
                raise ValueError(f"frame {index} came again")
            self._from_disk(index)
            self.encoder.write(pixels)
            self.frames.add(png)
            self.next = index + 1
        except Exception:
            self.drop()

    def finish(self) -> StreamedVideo | None:
        """The finished video, with every frame up to the render's last (any not seen yet
        read from disk), or None when it was dropped."""
        if self.failed:
            return None
        try:
            self._start()
            self._from_disk(self.frame_count)
            output = self.encoder.close()
            return StreamedVideo(self.settings, self.next, self.frames.hexdigest(),
                                 file_digest(output), self.audio)  # fmt: skip
        except Exception:
            return self.drop()

    def _start(self) -> None:
        if self.encoder is None:
            self.encoder = self.settings.encoder()  # checks the request, opens the sound
            if self.settings.audio is not None:
                self.audio = file_digest(self.settings.audio)

    def drop(self) -> None:
        self.failed = True
        if self.encoder is not None:
            self.encoder.abort()
        return None

    def _from_disk(self, end: int) -> None:
        """Frames next..end-1 from their files (earlier renders of a resumed run)."""
        import cv2
        import numpy as np

        while self.next < end:
            png = self.directory.frame_path(self.next).read_bytes()
            pixels = cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_COLOR)
            if pixels is None:
                raise ValueError(f"frame {self.next} does not decode")
            self.encoder.write(cv2.cvtColor(pixels, cv2.COLOR_BGR2RGB))
            self.frames.add(png)
            self.next += 1
