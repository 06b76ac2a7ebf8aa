"""The run folder's background writer (deforum_core/render/frame_writer.py): the same bytes as
writing in the loop, a bounded queue, failures raised in the loop naming the file, records
written only after the frames they vouch for, whole files and no thread left after a cancel,
and videos encoded beside the render that are the very files encode_video writes."""

from __future__ import annotations

import errno
import threading
import weakref
from pathlib import Path

import pytest
import torch
from digests import frames_digest
from recording_backend import RecordingBackend
from reproducible_x264 import without_mbtree
from sounds import write_tone

from deforum_core.files import FileWriteError
from deforum_core.prompts import parse_prompt_schedule
from deforum_core.render import (
    AnimationSettings,
    RenderCallbacks,
    RenderCancelled,
    RunDirectory,
    Stages,
    render_animation,
)
from deforum_core.render.frame_writer import QUEUE_LENGTH, THREAD_NAME, FrameWriter
from deforum_core.render.rundir import PNG_END, STATE_FILE, encode_png, frame_pixels, quantize
from deforum_core.stages import ColorCoherenceStage, Motion2DStage, NoiseStage
from deforum_core.video_encoding import VideoSettings, encode_video

PROMPTS = parse_prompt_schedule("0: a cat")


def settings(**overrides) -> AnimationSettings:
    values = {"max_frames": 14, "width": 96, "height": 64, "base_seed": 5,
              "diffusion_cadence": 3, "init_strength": 0.0}  # fmt: skip
    return AnimationSettings(**{**values, **overrides})


def stages() -> Stages:
    camera = Motion2DStage(zoom="0:(1.02)", angle="0:(2)")
    return Stages(PROMPTS, camera, ColorCoherenceStage("RGB"), noise=NoiseStage(noise="0:(0.02)"))


def render(run: Path, **options):
    return render_animation(settings(), stages(), RecordingBackend(), run, **options)


def writer_threads() -> list[threading.Thread]:
    return [thread for thread in threading.enumerate() if thread.name == THREAD_NAME]


def only_whole_files(run: Path) -> None:
    """No temporary file, and every frame a whole PNG."""
    assert list(run.glob(".*")) == []
    for path in run.glob("frame_*.png"):
        assert path.read_bytes().endswith(PNG_END), path.name


@pytest.fixture
def reproducible_x264(monkeypatch):
    without_mbtree(monkeypatch)  # see tests/reproducible_x264.py


@pytest.fixture
def frames() -> list[torch.Tensor]:
    generator = torch.Generator().manual_seed(3)
    return [torch.rand(1, 64, 96, 3, generator=generator) for _ in range(9)]


# -- the same bytes, and the 8-bit hand-over --------------------------------------------------


def test_the_hand_over_levels_are_the_levels_the_png_stored_before():
    generator = torch.Generator().manual_seed(1)
    values = torch.cat([
        torch.rand(4096, generator=generator) * 1.4 - 0.2,  # below 0 and above 1 too
        torch.arange(256) / 255.0,  # every level, as quantize leaves it
        (torch.arange(255) + 0.5) / 255.0,  # halfway between two levels
        torch.tensor([0.0, -0.0, 1.0, float("inf"), float("-inf"), 1e-9, 1 - 1e-9]),
    ])  # fmt: skip
    frame = values[: values.numel() // 3 * 3].reshape(1, -1, 1, 3)
    for tensor in (frame, quantize(frame)):
        before = quantize(tensor[0]).mul(255.0).to("cpu", torch.uint8)  # encode_png's, until now
        assert torch.equal(frame_pixels(tensor), before)
    assert frame_pixels(frame).dtype == torch.uint8 and frame_pixels(frame).device.type == "cpu"


def test_frames_written_in_the_background_are_the_bytes_written_in_the_loop(tmp_path, frames):
    loop, background = RunDirectory(tmp_path / "loop"), RunDirectory(tmp_path / "background")
    loop.path.mkdir()
    background.path.mkdir()
    for index, frame in enumerate(frames):
        loop.write_frame(index, frame)  # as the loop wrote each frame until now
    with FrameWriter(background, len(frames)) as writer:
        for index, frame in enumerate(frames):
            writer.write_frame(index, frame_pixels(frame))
        writer.close()
    assert frames_digest(background.path) == frames_digest(loop.path)
    assert writer_threads() == []


# -- the queue's bound ------------------------------------------------------------------------


class GatedDirectory(RunDirectory):
    """A run folder whose frame writes wait for `gate`: a disk as slow as the test wants."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.gate, self.entered = threading.Event(), threading.Event()

    def write_png(self, index: int, png: bytes) -> Path:
        self.entered.set()
        assert self.gate.wait(timeout=60)
        return super().write_png(index, png)


def test_a_slow_disk_blocks_the_loop_at_the_queue_bound_and_memory_stays_flat(tmp_path):
    directory = GatedDirectory(tmp_path / "run")
    directory.path.mkdir()
    count = 3 * QUEUE_LENGTH
    handed, alive = [], set()
    writer = FrameWriter(directory, count)

    def produce() -> None:
        for index in range(count):
            pixels = torch.full((8, 8, 3), index, dtype=torch.uint8)
            alive.add(index)
            weakref.finalize(pixels, alive.discard, index)
            writer.write_frame(index, pixels)
            del pixels
            handed.append(index)

    producer = threading.Thread(target=produce)
    producer.start()
    assert directory.entered.wait(timeout=60)  # the worker holds frame 0 at the disk
    producer.join(timeout=1.0)
    assert producer.is_alive()  # blocked by the bound, with the disk still shut
    assert len(handed) == QUEUE_LENGTH + 1  # one at the disk, the queue full
    assert len(alive) <= QUEUE_LENGTH + 2  # those, and the one waiting to go in
    directory.gate.set()
    producer.join(timeout=60)
    writer.close()
    assert handed == list(range(count)) and alive == set()
    assert len(directory.frame_paths()) == count and writer_threads() == []


# -- failures ---------------------------------------------------------------------------------


@pytest.fixture
def full_disk_at_frame_2(monkeypatch):
    write_bytes = Path.write_bytes

    def full_disk(path: Path, data: bytes) -> int:
        if ".frame_00002." in path.name:
            raise OSError(errno.ENOSPC, "No space left on device")
        return write_bytes(path, data)

    monkeypatch.setattr(Path, "write_bytes", full_disk)


def test_a_failure_is_raised_at_the_next_hand_over_and_at_the_end(
    tmp_path, frames, full_disk_at_frame_2
):
    directory = RunDirectory(tmp_path / "run")
    directory.path.mkdir()
    writer = FrameWriter(directory, len(frames))
    for index in range(3):
        writer.write_frame(index, frame_pixels(frames[index]))
    with pytest.raises(FileWriteError) as flushed:
        writer.flush()
    message = f"could not write {directory.frame_path(2)}: No space left on device"
    assert str(flushed.value).startswith(message)
    with pytest.raises(FileWriteError) as handed:
        writer.write_frame(3, frame_pixels(frames[3]))
    with pytest.raises(FileWriteError) as recorded:
        writer.write_json(STATE_FILE, {"last_key_frame": 3})
    with pytest.raises(FileWriteError) as closed:
        writer.close()
    assert flushed.value is handed.value is recorded.value is closed.value  # the error itself
    assert sorted(path.name for path in directory.path.iterdir()) == [
        "frame_00000.png", "frame_00001.png"]  # fmt: skip
    assert writer_threads() == []


def test_a_failure_nobody_waited_for_is_raised_by_close(tmp_path, frames, full_disk_at_frame_2):
    directory = RunDirectory(tmp_path / "run")
    directory.path.mkdir()
    writer = FrameWriter(directory, len(frames), videos=[VideoSettings(
        directory.path / "v.mp4", 15)])  # fmt: skip
    for index in range(4):
        writer.write_frame(index, frame_pixels(frames[index]))
    writer.write_json(STATE_FILE, {"last_key_frame": 3})  # never written: frame 2 is not
    with pytest.raises(FileWriteError, match=r"frame_00002\.png: No space left"):
        writer.close()
    assert sorted(path.name for path in directory.path.iterdir()) == [
        "frame_00000.png", "frame_00001.png"]  # no state, no video, no temporary file  # fmt: skip
    assert writer_threads() == []


def test_a_full_disk_in_a_render_stops_it_at_once_naming_the_frame(tmp_path, monkeypatch):
    write_bytes, tried = Path.write_bytes, []

    def full_disk(path: Path, data: bytes) -> int:
        tried.append(path.name)
        if ".frame_00005." in path.name:
            raise OSError(errno.ENOSPC, "No space left on device")
        return write_bytes(path, data)

    monkeypatch.setattr(Path, "write_bytes", full_disk)
    with pytest.raises(FileWriteError, match=r"frame_00005\.png: No space left"):
        render(tmp_path / "run")
    assert ".frame_00005." in tried[-1]  # nothing handed over after it was tried
    assert [path.name for path in RunDirectory(tmp_path / "run").frame_paths()] == [
        f"frame_{index:05d}.png" for index in range(5)]  # fmt: skip
    only_whole_files(tmp_path / "run")
    assert writer_threads() == []


# -- the order of frames and records ----------------------------------------------------------


def test_state_never_names_a_frame_that_is_not_on_disk(tmp_path, monkeypatch):
    operations = []
    write_png, write_json = RunDirectory.write_png, RunDirectory.write_json

    def recorded_png(self, index, png):
        operations.append(("frame", index))
        return write_png(self, index, png)

    def recorded_json(self, name, content):
        if name == STATE_FILE:
            key = content["last_key_frame"]
            on_disk = [self.frame_path(index).is_file() for index in range(key + 1)]
            assert all(on_disk), f"{STATE_FILE} names key {key} before its frames are written"
            operations.append(("state", key))
        return write_json(self, name, content)

    monkeypatch.setattr(RunDirectory, "write_png", recorded_png)
    monkeypatch.setattr(RunDirectory, "write_json", recorded_json)
    render(tmp_path / "run")
    frames_seen = [index for kind, index in operations if kind == "frame"]
    assert frames_seen == list(range(14))
    states = [(position, key) for position, (kind, key) in enumerate(operations)
              if kind == "state"]  # fmt: skip
    assert [key for _, key in states] == [0, 3, 6, 9, 12, 12]  # each key, then complete
    for position, key in states:
        assert ("frame", key) in operations[:position]


# -- cancel and resume ------------------------------------------------------------------------


class CancelAt:
    """check_cancel raising RenderCancelled before frame `at` (counted in handed frames)."""

    def __init__(self, at: int) -> None:
        self.at, self.handed = at, 0

    def on_frame(self, index, total, frame) -> None:
        self.handed += 1

    def check_cancel(self) -> None:
        if self.handed >= self.at:
            raise RenderCancelled()


@pytest.mark.parametrize("at", [1, 5, 8, 13])
def test_a_cancel_leaves_whole_frames_no_thread_and_resumes_byte_identical(
    tmp_path, at, reproducible_x264
):
    render(tmp_path / "whole", videos=[VideoSettings(tmp_path / "whole" / "v.mp4", 15)])
    run = tmp_path / "cut"
    cancel = CancelAt(at)
    callbacks = RenderCallbacks(cancel.on_frame, cancel.check_cancel)
    with pytest.raises(RenderCancelled):
        render(run, callbacks=callbacks, videos=[VideoSettings(run / "v.mp4", 15)])
    assert writer_threads() == []
    only_whole_files(run)
    assert len(RunDirectory(run).frame_paths()) == cancel.handed  # each handed over, written
    assert not (run / "v.mp4").exists()  # a video is finished with the last frame, or absent
    result = render(run, resume=True, videos=[VideoSettings(run / "v.mp4", 15)])
    assert frames_digest(run) == frames_digest(tmp_path / "whole")
    assert [video.settings.output for video in result.videos] == [run / "v.mp4"]
    assert (run / "v.mp4").read_bytes() == (tmp_path / "whole" / "v.mp4").read_bytes()
    assert writer_threads() == []


def test_a_cancel_from_on_frame_while_the_disk_is_slow_writes_what_was_handed_over(
    tmp_path, monkeypatch
):
    write_png = RunDirectory.write_png

    def slow(self, index, png):
        gate.wait(timeout=0.05)  # the writer lags behind the loop
        return write_png(self, index, png)

    gate = threading.Event()
    monkeypatch.setattr(RunDirectory, "write_png", slow)
    handed = []

    def on_frame(index, total, frame):
        handed.append(index)
        if index == 7:
            raise RenderCancelled()

    with pytest.raises(RenderCancelled):
        render(tmp_path / "run", callbacks=RenderCallbacks(on_frame))
    assert writer_threads() == []
    only_whole_files(tmp_path / "run")
    assert [path.name for path in RunDirectory(tmp_path / "run").frame_paths()] == [
        f"frame_{index:05d}.png" for index in handed]  # fmt: skip


# -- videos beside the render -----------------------------------------------------------------


@pytest.mark.parametrize("video_format", ["mp4", "gif"])
def test_a_video_made_beside_the_render_is_the_file_encode_video_makes(
    tmp_path, video_format, reproducible_x264
):
    tone = write_tone(tmp_path / "tone.wav") if video_format == "mp4" else None
    run = tmp_path / "run"
    asked = VideoSettings(run / f"v.{video_format}", 12.5, video_format, 70, tone)
    result = render(run, videos=[asked])
    (streamed,) = result.videos
    frames = RunDirectory(run).frame_sequence(14)
    encode_video(frames, tmp_path / f"after.{video_format}", fps=12.5,
                 video_format=video_format, quality=70, audio=tone)  # fmt: skip
    assert asked.output.read_bytes() == (tmp_path / f"after.{video_format}").read_bytes()
    assert streamed.settings == asked and streamed.frames == 14
    assert streamed.matches(asked, frames)


def test_a_streamed_video_is_not_taken_for_other_settings_frames_or_file(tmp_path):
    run = tmp_path / "run"
    asked = VideoSettings(run / "v.mp4", 15)
    (streamed,) = render(run, videos=[asked]).videos
    frames = RunDirectory(run).frame_sequence(14)
    assert streamed.matches(asked, frames)
    assert not streamed.matches(VideoSettings(run / "v.mp4", 15, quality=79), frames)
    assert not streamed.matches(asked, frames[:-1])
    frames[4].write_bytes(encode_png(torch.zeros(64, 96, 3)))  # a frame changed on disk
    assert not streamed.matches(asked, frames)
    (streamed,) = render(tmp_path / "again", videos=[VideoSettings(
        tmp_path / "again" / "v.mp4", 15)]).videos  # fmt: skip
    again = RunDirectory(tmp_path / "again").frame_sequence(14)
    encode_video(again, tmp_path / "again" / "v.mp4", fps=15, quality=50)  # overwritten
    assert not streamed.matches(streamed.settings, again)


def test_a_video_that_cannot_be_made_is_dropped_and_the_render_goes_on(tmp_path):
    (tmp_path / "noise.wav").write_bytes(bytes(range(256)) * 40)
    run = tmp_path / "run"
    result = render(run, videos=[VideoSettings(run / "a.mp4", 15, audio=tmp_path / "noise.wav"),
                                 VideoSettings(run / "b.avi", 15, "avi"),
                                 VideoSettings(run / "c.gif", 15, "gif")])  # fmt: skip
    assert [video.settings.output.name for video in result.videos] == ["c.gif"]
    assert sorted(path.name for path in run.iterdir() if not path.name.startswith("frame_")) == [
        "c.gif", "settings.json", "state.json"]  # fmt: skip
    assert len(RunDirectory(run).frame_paths()) == 14


def test_pixels_fed_to_a_video_from_disk_are_those_written(tmp_path, frames):
    """A resumed render's earlier frames are read back for its video: the same pixels."""
    directory = RunDirectory(tmp_path / "run")
    directory.path.mkdir()
    for index in range(4):
        directory.write_frame(index, frames[index])
    with FrameWriter(directory, len(frames), videos=[VideoSettings(
            directory.path / "v.gif", 10, "gif")]) as writer:  # fmt: skip
        for index in range(4, len(frames)):
            writer.write_frame(index, frame_pixels(frames[index]))
        (streamed,) = writer.close()
    encode_video(directory.frame_sequence(len(frames)), tmp_path / "after.gif", fps=10,
                 video_format="gif")  # fmt: skip
    assert streamed.frames == len(frames)
    assert (directory.path / "v.gif").read_bytes() == (tmp_path / "after.gif").read_bytes()
