"""Video assembly with PyAV: formats, frame counts, sound, and no half-written files."""

import os
import sys
from collections.abc import Callable
from pathlib import Path

import av
import pytest
import torch
from sounds import write_tone

from deforum_core.errors import DeforumError
from deforum_core.render.rundir import RunDirectory
from deforum_core.video_encoding import VideoError, encode_video


@pytest.fixture
def run(tmp_path) -> RunDirectory:
    directory = RunDirectory(tmp_path / "run")
    directory.path.mkdir()
    generator = torch.Generator().manual_seed(0)
    for index in range(12):
        directory.write_frame(index, torch.rand(1, 48, 64, 3, generator=generator))
    return directory


def decoded(path) -> tuple[int, str, str, tuple[int, int]]:
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        count = sum(1 for _ in container.decode(stream))
        context = stream.codec_context
        return count, context.name, context.pix_fmt, (context.width, context.height)


@pytest.mark.parametrize(
    ("video_format", "codec", "pixel_format"),
    [("mp4", "h264", "yuv420p"), ("webm", "vp9", "yuv420p"), ("gif", "gif", None)],
)
def test_every_frame_is_encoded(run, video_format, codec, pixel_format):
    output = encode_video(run.frame_paths(), run.path / f"v.{video_format}", fps=15,
                          video_format=video_format)  # fmt: skip
    count, name, pix_fmt, size = decoded(output)
    assert (count, name, size) == (12, codec, (64, 48))
    if pixel_format:
        assert pix_fmt == pixel_format


def test_fps_sets_the_duration_and_progress_is_reported(run):
    seen = []
    output = encode_video(run.frame_paths(), run.path / "v.mp4", fps=24,
                          on_frame=lambda done, total: seen.append((done, total)))  # fmt: skip
    with av.open(str(output)) as container:
        stream = container.streams.video[0]
        assert float(stream.average_rate) == pytest.approx(24)
    assert seen[0] == (1, 12) and seen[-1] == (12, 12)


def test_sound_track_is_added_and_cut_to_the_video(run, tmp_path):
    tone = tmp_path / "tone.wav"
    write_tone(tone)
    output = encode_video(run.frame_paths(), run.path / "v.mp4", fps=15, audio=tone)
    with av.open(str(output)) as container:
        assert [stream.type for stream in container.streams] == ["video", "audio"]
        audio = container.streams.audio[0]
        seconds = sum(frame.samples for frame in container.decode(audio)) / audio.rate
    assert seconds == pytest.approx(12 / 15, abs=0.1)


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"video_format": "avi"}, "unknown video format 'avi'"),
        ({"fps": 0}, "fps must be above 0"),
        ({"video_format": "gif", "audio": "tone.wav"}, "a GIF cannot carry sound"),
        ({"audio": "missing.wav"}, "is not there"),
    ],
)
def test_bad_requests_are_refused(run, tmp_path, arguments, message):
    options = {"fps": 15, **arguments}
    if "audio" in options:
        options["audio"] = tmp_path / options["audio"]
    with pytest.raises(VideoError, match=message):
        encode_video(run.frame_paths(), run.path / "v.out", **options)


def test_no_frames_and_odd_sizes_are_refused(tmp_path):
    with pytest.raises(VideoError, match="no frames to encode"):
        encode_video([], tmp_path / "v.mp4", fps=15)
    odd = RunDirectory(tmp_path / "odd")
    odd.path.mkdir()
    odd.write_frame(0, torch.rand(1, 33, 40, 3))
    with pytest.raises(VideoError, match="even frame sides"):
        encode_video(odd.frame_paths(), tmp_path / "v.mp4", fps=15)


def test_a_failed_encode_leaves_no_file(run):
    paths = run.frame_paths()
    paths[7].write_bytes(b"not a png")
    with pytest.raises(VideoError, match=r"frame_00007\.png is missing"):
        encode_video(paths, run.path / "v.mp4", fps=15)
    assert not list(run.path.glob("*.mp4")) and not list(run.path.glob(".*"))


def disk_fills_once_writing_starts(folder: Path, filled: list[int]) -> Callable[[int, int], None]:
    """An on_frame callback that, as soon as the encoder has its file open in `folder`, points
    that file's descriptor at /dev/full, so FFmpeg's own later writes get ENOSPC from the
    kernel as on a disk that fills up mid-encode; the frame it happened at goes to `filled`."""

    def on_frame(done: int, _total: int) -> None:
        written = [str(path) for path in folder.glob(".*.partial*")]
        if filled or not written:
            return
        descriptors = [name for name in os.listdir("/proc/self/fd")
                       if os.path.realpath(f"/proc/self/fd/{name}") in written]  # fmt: skip
        full = os.open("/dev/full", os.O_WRONLY)
        for descriptor in descriptors:
            os.dup2(full, int(descriptor))
        os.close(full)
        filled.append(done)

    return on_frame


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="needs /dev/full and /proc")
@pytest.mark.parametrize("video_format", ["mp4", "gif"])
def test_a_full_disk_names_the_video_leaves_no_temporary_and_keeps_the_old_video(
    tmp_path, video_format
):
    run = RunDirectory(tmp_path / "run")
    run.path.mkdir()
    generator = torch.Generator().manual_seed(0)
    for index in range(48):  # x264 holds about 40 frames before its first packet
        run.write_frame(index, torch.rand(1, 48, 64, 3, generator=generator))
    output = run.path / f"deforum.{video_format}"
    encode_video(run.frame_paths()[:6], output, fps=15, video_format=video_format)
    earlier = output.read_bytes()

    filled: list[int] = []
    with pytest.raises(DeforumError) as caught:
        encode_video(run.frame_paths(), output, fps=15, video_format=video_format,
                     on_frame=disk_fills_once_writing_starts(run.path, filled))  # fmt: skip
    assert filled and filled[0] < 48  # the disk filled while frames were still coming
    message = str(caught.value)
    assert message.startswith(f"could not write {output}: No space left on device")
    assert str(run.path) in message and "free space" in message
    assert output.read_bytes() == earlier
    assert sorted(p.name for p in run.path.iterdir() if not p.name.startswith("frame_")) == [
        output.name
    ]  # no temporary file left behind

    encode_video(run.frame_paths(), output, fps=15, video_format=video_format)  # space freed
    assert decoded(output)[0] == 48
