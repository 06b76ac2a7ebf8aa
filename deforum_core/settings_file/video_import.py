"""The video of an imported Video Input animation: the file and Deforum's frame selection.

As in sd-webui-deforum, the frame count follows the video (max_frames is not read) and every
video frame is diffused: Deforum's Video Input ignores diffusion_cadence (turbo_steps 1), so
the import renders with cadence 1 and says so.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..errors import DeforumError
from ..render.settings import MAX_FRAMES_LIMIT
from ..video_source import FrameSelection
from .context import ImportContext
from .reading import SettingsFileError
from .references import FileReference
from .report import IGNORED, MAPPED, TAKEN
from .values import to_int, to_text

VIDEO_KEY = "video_init_path"
SELECTION_KEYS = {"nth": "extract_nth_frame", "start": "extract_from_frame",
                  "end": "extract_to_frame"}  # fmt: skip
SELECTION_FALLBACKS = {"nth": 1, "start": 0, "end": -1}  # for dialects without the key


@dataclass(frozen=True)
class VideoChoice:
    """The init video a Video Input file names, and which of its frames it renders."""

    reference: FileReference
    selection: FrameSelection


def import_video(context: ImportContext) -> tuple[VideoChoice, dict[str, Any]]:
    """The video, and the animation fields Video Input fixes: cadence 1, and max_frames
    until the video is opened (LoadedSettings sets it to the video's frame count)."""
    path, _ = to_text(context.get(VIDEO_KEY, ""), VIDEO_KEY)
    if not path.strip():
        raise SettingsFileError(
            "animation_mode Video Input needs a video", parameter=VIDEO_KEY,
            hint="name the video file (it is looked up in the input folder)",
        )  # fmt: skip
    context.note(VIDEO_KEY, TAKEN)
    selection = import_selection(context)
    placeholder, _ = to_int(context.get("max_frames", 1), "max_frames")  # until the video opens
    if context.has("max_frames"):
        context.note("max_frames", IGNORED, "Video Input: the frame count follows the video")
    if str(context.get("diffusion_cadence", 1)).strip() != "1":
        why = "Deforum's Video Input diffuses every video frame (its cadence is 1)"
        context.note("diffusion_cadence", MAPPED, f"1: {why}")
    choice = VideoChoice(FileReference(VIDEO_KEY, path.strip(), "init video"), selection)
    max_frames = min(max(1, placeholder), MAX_FRAMES_LIMIT)
    return choice, {"diffusion_cadence": 1, "max_frames": max_frames}


def import_selection(context: ImportContext) -> FrameSelection:
    """Which frames of the video Deforum reads: extract_nth_frame, extract_from_frame and
    extract_to_frame (the video of Video Input and of hybrid video alike)."""
    fields = {}
    for name, key in SELECTION_KEYS.items():
        value, conversion = to_int(context.get(key, SELECTION_FALLBACKS[name]), key)
        if context.has(key):
            context.note(key, MAPPED if conversion else TAKEN, conversion)
        fields[name] = value
    try:
        return FrameSelection(**fields)
    except DeforumError as error:
        raise SettingsFileError(error.reason, parameter=error.parameter, hint=error.hint) from None
