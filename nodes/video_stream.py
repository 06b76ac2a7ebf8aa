"""Deforum Video's file encoded beside the render, when Deforum Animate can see the Video node
that follows it.

ComfyUI tells a node nothing of the nodes that take its outputs, but a node may ask for the
queued prompt (hidden input PROMPT) and its own id in it (UNIQUE_ID); the command line's
workflow runner gives both as ComfyUI does. Animate looks there for the Deforum Video nodes
whose run input is its own run output and whose settings are values rather than links, and
the render encodes their videos as its frames are written (deforum_core/render/frame_writer.py).
Deforum Video runs afterwards as ever: it takes the file when it was made with its settings
of the very frames now on disk (video_encoding.StreamedVideo.matches), and encodes the frames
otherwise, so its output is the same file either way. Anything unusual (a setting that is
linked or wrong, two Video nodes writing one file, a failure while encoding) only means that
the Video node encodes as before.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from deforum_core.errors import DeforumError
from deforum_core.render.run_folders import check_plain_name
from deforum_core.video_encoding import VIDEO_FORMATS, VideoSettings

from .comfy_bridge import resolve_input_file

VIDEO_NODE = "DeforumVideo"
VIDEO_NAME_HINT = "the video is saved in the run folder as <filename>.<video_format>"
HIDDEN_INPUTS = {"prompt": "PROMPT", "unique_id": "UNIQUE_ID"}


def video_settings(
    run_path: Path, run_fps: float, *, make_gif: bool, soundtrack: Path | None,
    video_format: str, fps: float, quality: int, filename: str, audio: Path | None,
) -> list[VideoSettings]:  # fmt: skip
    """The videos Deforum Video makes of a run: its format, and for a settings file with
    make_gif a GIF beside it; the file's soundtrack plays unless audio names another (a GIF
    has none); fps 0 is the run's."""
    formats = [video_format]
    if make_gif and video_format != "gif":
        formats.append("gif")
    sound = audio or soundtrack
    return [
        VideoSettings(run_path / f"{filename}.{chosen}", fps or run_fps, chosen, quality,
                      None if chosen == "gif" else sound)
        for chosen in formats
    ]  # fmt: skip


def videos_to_stream(
    prompt: Any, unique_id: Any, run_path: Path, run_fps: float, *, make_gif: bool = False,
    soundtrack: Path | None = None,
) -> list[VideoSettings]:  # fmt: skip
    """The videos of the Deforum Video nodes in the queued prompt that take this Animate
    node's run, as those nodes will ask for them; none where that cannot be known."""
    if not isinstance(prompt, Mapping) or unique_id is None:
        return []
    found: list[VideoSettings] = []
    for node in prompt.values():
        if not isinstance(node, Mapping) or node.get("class_type") != VIDEO_NODE:
            continue
        inputs = node.get("inputs")
        link = inputs.get("run") if isinstance(inputs, Mapping) else None
        if not (isinstance(link, list | tuple) and len(link) == 2
                and str(link[0]) == str(unique_id) and link[1] == 0):  # fmt: skip
            continue
        try:
            widgets = _widget_values(inputs)
        except (DeforumError, OSError):  # the Video node says what is wrong when it runs
            continue
        if widgets is not None:
            found += video_settings(run_path, run_fps, make_gif=make_gif, soundtrack=soundtrack,
                                    **widgets)  # fmt: skip
    outputs = [settings.output for settings in found]
    return [settings for settings in found if outputs.count(settings.output) == 1]


def _widget_values(inputs: Mapping[str, Any]) -> dict[str, Any] | None:
    """The Video node's settings as it will take them, None when one is not a plain value
    (a link from another node) or not one it accepts."""
    video_format, fps = inputs.get("video_format"), inputs.get("fps")
    quality, filename = inputs.get("quality"), inputs.get("filename")
    audio_file = inputs.get("audio_file", "")
    if (video_format not in VIDEO_FORMATS
            or not _number(fps) or not _number(quality) or int(quality) != quality
            or not isinstance(filename, str) or not isinstance(audio_file, str)):  # fmt: skip
        return None
    check_plain_name(filename, parameter="filename", what=VIDEO_NAME_HINT)
    audio = resolve_input_file(audio_file, parameter="audio_file") if audio_file else None
    return {"video_format": video_format, "fps": fps, "quality": quality,
            "filename": filename, "audio": audio}  # fmt: skip


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)
