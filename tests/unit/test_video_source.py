"""Video Input's frames: Deforum's selection rule, lazy decoding, and the errors a user sees."""

import ast
import copy
import json
import pickle
from pathlib import Path

import av
import pytest
import torch
from clips import clip_frames, write_clip
from sounds import write_tone

from deforum_core import video_source
from deforum_core.errors import DeforumError
from deforum_core.fingerprint import tensor_digest
from deforum_core.video_source import (
    FrameSelection,
    ImageBatch,
    VideoFile,
    VideoSource,
    VideoSourceError,
)

DRAWN = clip_frames(24)


@pytest.fixture(scope="module")
def clips(tmp_path_factory):
    folder = tmp_path_factory.mktemp("clips")
    return {
        "png": write_clip(folder / "lossless.mov", codec="png"),
        "h264": write_clip(folder / "clip.mp4", codec="libx264"),
        "mkv": write_clip(folder / "clip.mkv", codec="libx264rgb"),
    }


def decoded_count(path: Path) -> int:
    with av.open(str(path)) as container:
        return sum(1 for _ in container.decode(video=0))


def test_every_frame_of_a_lossless_clip_is_the_drawn_frame(clips):
    with VideoFile(clips["png"]) as video:
        assert (video.frame_count, video.source_frames) == (24, 24)
        assert video.size == (64, 48) and video.fps == 24.0
        for index in range(24):
            image = video.frame(index)
            assert image.shape == (1, 48, 64, 3) and image.dtype == torch.float32
            assert image.device.type == "cpu" and image.is_contiguous()
            assert torch.equal(image[0], DRAWN[index]), index


def test_every_nth_frame_is_the_source_frame_at_n_times_k(clips):
    video = VideoFile(clips["png"], FrameSelection(nth=2))
    assert video.frame_count == 12
    assert video.selected_fps == 12.0 and video.fps == 24.0
    for k in range(12):
        assert torch.equal(video.frame(k)[0], DRAWN[2 * k]), k
    video.close()


@pytest.mark.parametrize(
    ("selection", "kept"),
    [
        (FrameSelection(start=5, end=10), [5, 6, 7, 8, 9, 10]),
        (FrameSelection(nth=2, start=3), list(range(4, 24, 2))),  # absolute i % n, as Deforum
        (FrameSelection(nth=5, start=1, end=-1), [5, 10, 15, 20]),
        (FrameSelection(start=20), [20, 21, 22, 23]),  # -1: to the last frame
        (FrameSelection(start=22, end=100), [22, 23]),
        (FrameSelection(nth=3, start=6, end=6), [6]),
    ],
)
def test_from_and_to_cut_the_frames_deforum_cuts(clips, selection, kept):
    assert list(selection.indices(24)) == kept
    video = VideoFile(clips["png"], selection)
    assert video.frame_count == len(kept)
    decoded = [video.frame(k)[0] for k in range(video.frame_count)]
    assert all(torch.equal(image, DRAWN[i]) for image, i in zip(decoded, kept, strict=True))
    video.close()


def test_going_back_reopens_and_still_returns_the_right_frames(clips):
    video = VideoFile(clips["png"], FrameSelection(start=1))
    for index in (5, 2, 2, 9, 0, 22):
        assert torch.equal(video.frame(index)[0], DRAWN[index + 1]), index
    again = video.frame(0)
    again.fill_(0)  # the caller's copy: the next read is not affected
    assert torch.equal(video.frame(0)[0], DRAWN[1])
    video.close()
    assert torch.equal(video.frame(3)[0], DRAWN[4])  # closing only releases the decoder
    video.close()


@pytest.mark.parametrize(
    ("codec", "suffix"),
    [("libx264", "mp4"), ("libx264", "mkv"), ("libx264", "avi"), ("mpeg4", "avi"),
     ("mpeg4", "mkv"), ("png", "mp4"), ("png", "avi"), ("libx264rgb", "mkv")],
)  # fmt: skip
def test_the_frame_count_is_the_number_of_frames_decoding_yields(tmp_path, codec, suffix):
    path = write_clip(tmp_path / f"clip.{suffix}", frames=17, codec=codec)
    video = VideoFile(path)
    assert video.frame_count == decoded_count(path) == 17
    assert video.frame(16).shape == (1, 48, 64, 3)  # the last one counted decodes
    video.close()


def test_a_container_without_a_frame_count_is_counted_by_its_packets(clips):
    with av.open(str(clips["mkv"])) as container:
        assert container.streams.video[0].frames == 0  # Matroska records none
    video = VideoFile(clips["mkv"], FrameSelection(nth=4))
    assert (video.source_frames, video.frame_count) == (24, 6)
    assert torch.equal(video.frame(5)[0], DRAWN[20])


def test_h264_frames_are_the_drawn_ones_within_rounding(clips):
    video = VideoFile(clips["h264"], FrameSelection(nth=3))
    assert video.frame_count == 8 == len(range(0, decoded_count(clips["h264"]), 3))
    worst = max((video.frame(k)[0] - DRAWN[3 * k]).abs().max().item() for k in range(8))
    assert worst <= 3 / 255
    video.close()


def test_a_missing_file_is_named_without_its_folder(tmp_path):
    path = tmp_path / "private_folder" / "gone.mp4"
    with pytest.raises(VideoSourceError) as caught:
        VideoFile(path)
    message = str(caught.value)
    assert "gone.mp4 is not there" in message and caught.value.parameter == "video"
    assert "private_folder" not in message and str(tmp_path) not in message
    assert isinstance(caught.value, DeforumError)
    path.parent.mkdir()
    with pytest.raises(VideoSourceError, match="private_folder is a folder, not a video"):
        VideoFile(path.parent)


def test_files_that_are_not_videos_are_refused_by_name(tmp_path):
    text = tmp_path / "notes.mp4"
    text.write_text("not a video at all\n" * 50)
    sound = write_tone(tmp_path / "tone.wav", seconds=0.2)
    for path in (text, sound):
        with pytest.raises(VideoSourceError) as caught:
            VideoFile(path)
        assert f"{path.name} is not a video FFmpeg can read" in str(caught.value)
        assert str(tmp_path) not in str(caught.value)


def test_a_selection_that_keeps_nothing_says_what_the_video_has(clips):
    with pytest.raises(VideoSourceError) as caught:
        VideoFile(clips["png"], FrameSelection(start=30))
    assert caught.value.parameter == "extract_from_frame"
    assert "the video has 24 frames; extract_from_frame 30 selects none" in str(caught.value)
    with pytest.raises(VideoSourceError, match="extract_to_frame 6, extract_nth_frame 4 selects"):
        FrameSelection(nth=4, start=5, end=6).indices(24)


@pytest.mark.parametrize(
    ("arguments", "parameter", "text"),
    [
        ({"start": 5, "end": 3}, "extract_to_frame", "extract_to_frame 3 is before extract_from_"),
        ({"nth": 0}, "extract_nth_frame", "at least 1, got 0"),
        ({"nth": 1.5}, "extract_nth_frame", "whole number"),
        ({"nth": True}, "extract_nth_frame", "whole number"),
        ({"start": -1}, "extract_from_frame", "at least 0"),
        ({"end": -2}, "extract_to_frame", "at least -1"),
        ({"end": "10"}, "extract_to_frame", "whole number"),
    ],
)
def test_a_bad_selection_names_the_deforum_setting(arguments, parameter, text):
    with pytest.raises(VideoSourceError) as caught:
        FrameSelection(**arguments)
    assert caught.value.parameter == parameter and caught.value.hint
    assert text in str(caught.value)


def test_whole_floats_from_a_settings_file_are_accepted():
    selection = FrameSelection(nth=2.0, start=3.0, end=9.0)
    assert selection.describe() == {"extract_nth_frame": 2, "extract_from_frame": 3,
                                    "extract_to_frame": 9}  # fmt: skip
    assert all(type(value) is int for value in selection.describe().values())


def test_a_frame_past_the_selection_is_refused_with_its_number(clips):
    video = VideoFile(clips["png"], FrameSelection(nth=2))
    for index in (12, -1, 100):
        with pytest.raises(VideoSourceError) as caught:
            video.frame(index)
        assert caught.value.frame == index and "12 frames (0 to 11)" in str(caught.value)
    with pytest.raises(VideoSourceError):
        ImageBatch(torch.zeros(3, 4, 4, 3)).frame(3)


def test_a_file_cut_short_under_a_reader_is_reported_not_repeated(tmp_path):
    path = write_clip(tmp_path / "clip.mov", codec="png")
    video = VideoFile(path)
    write_clip(path, frames=10, codec="png")  # replaced before any frame was read
    assert torch.equal(video.frame(9)[0], DRAWN[9])
    with pytest.raises(VideoSourceError, match=r"clip\.mov ended after 10 frames") as caught:
        video.frame(20)
    assert caught.value.frame == 20


def test_an_image_batch_keeps_the_same_frames_and_drops_alpha():
    images = torch.rand(10, 6, 5, 4, dtype=torch.float16)
    batch = ImageBatch(images, FrameSelection(nth=3, start=1), fps=30)
    assert (batch.frame_count, batch.size, batch.fps, batch.selected_fps) == (3, (5, 6), 30.0, 10)
    for k, source in enumerate((3, 6, 9)):
        image = batch.frame(k)
        assert image.shape == (1, 6, 5, 3) and image.dtype == torch.float32
        assert image.is_contiguous() and torch.equal(image[0], images[source, ..., :3].float())
    rgb = torch.rand(4, 6, 5, 3)
    ImageBatch(rgb).frame(0).fill_(7)
    assert rgb.max() <= 1  # the returned frame is a copy
    assert batch.describe() == {"type": "ImageBatch", "digest": tensor_digest(images),
                                "extract_nth_frame": 3, "extract_from_frame": 1,
                                "extract_to_frame": -1, "frames": 3}  # fmt: skip


@pytest.mark.parametrize(
    ("images", "text"),
    [
        (torch.zeros(6, 5, 3), r"got \(6, 5, 3\)"),
        (torch.zeros(2, 6, 5, 2), r"got \(2, 6, 5, 2\)"),
        (torch.zeros(0, 6, 5, 3), r"got \(0, 6, 5, 3\)"),
        (torch.full((1, 2, 2, 3), float("nan")), "finite"),
        (torch.zeros(1, 2, 2, 3, dtype=torch.uint8), "floating-point"),
        ([[1.0]], "got list"),
    ],
)
def test_a_bad_image_batch_is_refused_with_its_shape(images, text):
    with pytest.raises(VideoSourceError, match=text) as caught:
        ImageBatch(images)
    assert caught.value.parameter == "images"


@pytest.mark.parametrize("fps", [-1, float("nan"), float("inf"), "24", True])
def test_a_bad_frame_rate_is_refused(fps):
    with pytest.raises(VideoSourceError) as caught:
        ImageBatch(torch.zeros(1, 2, 2, 3), fps=fps)
    assert caught.value.parameter == "fps"


def test_describe_changes_with_the_selection_and_the_file(tmp_path):
    path = write_clip(tmp_path / "clip.mov", codec="png")
    record = VideoFile(path).describe()
    assert json.loads(json.dumps(record)) == record
    assert record["type"] == "VideoFile" and record["file"] == "clip.mov"
    assert record["frames"] == 24 and record["extract_nth_frame"] == 1
    assert str(tmp_path) not in json.dumps(record)
    assert VideoFile(path).describe() == record
    assert VideoFile(path, FrameSelection(nth=2)).describe() != record
    assert VideoFile(path, FrameSelection(end=22)).describe() != record
    write_clip(path, frames=24, size=(64, 46), codec="png")
    assert VideoFile(path).describe()["fingerprint"] != record["fingerprint"]
    images = torch.rand(4, 6, 5, 3)
    batch = ImageBatch(images).describe()
    assert json.loads(json.dumps(batch)) == batch
    changed = images.clone()
    changed[2, 3, 1, 0] += 0.5
    assert ImageBatch(changed).describe()["digest"] != batch["digest"]
    assert ImageBatch(images, FrameSelection(start=1)).describe() != batch


def test_a_video_file_copies_and_pickles_without_its_decoder(clips):
    video = VideoFile(clips["png"], FrameSelection(nth=2))
    video.frame(3)
    for twin in (copy.copy(video), copy.deepcopy(video), pickle.loads(pickle.dumps(video))):
        assert twin.describe() == video.describe()
        assert torch.equal(twin.frame(1)[0], DRAWN[2])  # its own decoder, from the start
        twin.close()
    assert torch.equal(video.frame(4)[0], DRAWN[8])  # the original reads on undisturbed
    video.close()


def test_both_sources_read_as_a_video_source(clips):
    assert isinstance(VideoFile(clips["png"]), VideoSource)
    assert isinstance(ImageBatch(torch.zeros(1, 2, 2, 3)), VideoSource)


def test_importing_the_module_does_not_import_pyav():
    tree = ast.parse(Path(video_source.__file__).read_text(encoding="utf-8"))
    top = [node for node in tree.body if isinstance(node, (ast.Import, ast.ImportFrom))]
    names = {alias.name for node in top for alias in node.names}
    names |= {node.module for node in top if isinstance(node, ast.ImportFrom)}
    assert "av" not in names
