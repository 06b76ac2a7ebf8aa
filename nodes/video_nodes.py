"""Deforum Video Input: the frames of a video, for Video Input mode and video colour coherence.

The node hands Animate a video source (deforum_core.video_source), not frames: a file from
ComfyUI's input folder is decoded frame by frame while the animation renders, so no video is
ever held in memory or extracted to disk; any IMAGE batch (ComfyUI's own video loader,
VideoHelperSuite) works too. The inputs keep Deforum's names.
"""

from __future__ import annotations

from typing import ClassVar

from deforum_core.errors import DeforumError
from deforum_core.fingerprint import file_fingerprint
from deforum_core.video_source import FrameSelection, ImageBatch, VideoFile

from .comfy_bridge import input_files, resolve_input_file
from .widgets import queue_check

CATEGORY = "Deforum"
NO_VIDEO = "none"
VIDEO_SUFFIXES = (".mp4", ".mov", ".mkv", ".webm", ".avi", ".m4v", ".gif")


def _selection(extract_nth_frame: int, extract_from_frame: int, extract_to_frame: int):
    return FrameSelection(extract_nth_frame, extract_from_frame, extract_to_frame)


class DeforumVideoInput:
    """A video (or IMAGE batch) and which of its frames Video Input mode renders."""

    DESCRIPTION = (
        "The video of Video Input mode: every extract_nth_frame-th frame from "
        "extract_from_frame to extract_to_frame, decoded as the animation renders. Connect "
        "to Deforum Animate's video input and set animation_mode to Video Input; the frame "
        "count then follows the video."
    )
    CATEGORY = CATEGORY
    SEARCH_ALIASES: ClassVar[list[str]] = [
        "video input",
        "video",
        "mp4",
        "load video",
        "frames",
        "ffmpeg",
    ]
    FUNCTION = "load"
    RETURN_TYPES = ("DEFORUM_VIDEO", "IMAGE", "INT", "FLOAT")
    RETURN_NAMES = ("video", "first_frame", "frame_count", "fps")
    OUTPUT_TOOLTIPS = (
        "The selected frames, for Deforum Animate.",
        "The first selected frame.",
        "How many frames are selected: the animation's length in Video Input mode.",
        "The video's frames per second divided by extract_nth_frame (0 when unknown).",
    )

    @classmethod
    def INPUT_TYPES(cls):
        return {
            "required": {
                "video": (
                    [NO_VIDEO, *input_files(VIDEO_SUFFIXES)],
                    {
                        "tooltip": "A video in ComfyUI's input folder (Upload video in the node's "
                        "menu, or drop one on it)."
                    },
                ),
                "extract_nth_frame": (
                    "INT",
                    {
                        "default": 1,
                        "min": 1,
                        "max": 10_000,
                        "tooltip": "Keep every Nth frame (as Deforum: indices N divides).",
                    },
                ),
                "extract_from_frame": (
                    "INT",
                    {
                        "default": 0,
                        "min": 0,
                        "max": 10_000_000,
                        "tooltip": "First frame of the video to use (0 is its first).",
                    },
                ),
                "extract_to_frame": (
                    "INT",
                    {
                        "default": -1,
                        "min": -1,
                        "max": 10_000_000,
                        "tooltip": "Last frame of the video to use; -1 is its last.",
                    },
                ),
            },
            "optional": {
                "images": (
                    "IMAGE",
                    {
                        "tooltip": "Any IMAGE batch to use instead of the file (e.g. from a video "
                        "loader); the extract settings apply to it."
                    },
                ),
            },
        }

    @queue_check
    def VALIDATE_INPUTS(
        cls, video, extract_nth_frame, extract_from_frame, extract_to_frame
    ) -> None:
        """Queue-time checks of the selection and the file name (not its frames)."""
        _selection(extract_nth_frame, extract_from_frame, extract_to_frame)
        if video != NO_VIDEO:
            resolve_input_file(video, parameter="video")

    @classmethod
    def IS_CHANGED(cls, video=NO_VIDEO, **_inputs):
        """Loaded again when the file changes on disk."""
        try:
            return file_fingerprint(resolve_input_file(video, parameter="video"))
        except DeforumError:
            return ""

    def load(self, video, extract_nth_frame, extract_from_frame, extract_to_frame, images=None):
        selection = _selection(extract_nth_frame, extract_from_frame, extract_to_frame)
        if images is not None:
            source, name = ImageBatch(images, selection), "the IMAGE batch"
        elif video == NO_VIDEO:
            raise DeforumError(
                "no video: choose one, or connect an IMAGE batch to images",
                parameter="video",
                hint="upload a video into ComfyUI's input folder from the node's menu",
            )
        else:
            source = VideoFile(resolve_input_file(video, parameter="video"), selection)
            name = source.path.name
        width, height = source.size
        fps = source.fps / selection.nth if source.fps else 0.0
        summary = (f"{name}: {source.frame_count} frames selected, {width}x{height}"
                   + (f", {fps:g} fps" if fps else ""))  # fmt: skip
        first = source.frame(0)
        return {"ui": {"report": [summary]}, "result": (source, first, source.frame_count, fps)}
