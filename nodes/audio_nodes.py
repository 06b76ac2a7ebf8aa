"""Deforum Audio Schedule: a sound from ComfyUI's input folder (or any AUDIO) turned into a
keyframe schedule, one key per frame, for any schedule input of the pack.

The output is plain schedule text (a STRING), so it goes into a schedule widget converted to
an input (Motion 2D's zoom, Animate's strength_schedule, ...). Inside ComfyUI the node shows
its curve as a preview image, the way ComfyUI shows any node's ui images.
"""

from __future__ import annotations

import hashlib
import inspect
from pathlib import Path
from typing import Any, ClassVar

from deforum_core.audio import (
    AudioSchedule,
    AudioScheduleSettings,
    audio_schedule,
    sound_from_audio,
)
from deforum_core.errors import DeforumError
from deforum_core.files import atomic_write
from deforum_core.fingerprint import file_fingerprint
from deforum_core.params import params_of
from deforum_core.plot import plot_png

from .comfy_bridge import folder_paths_module, input_files, resolve_input_file
from .widgets import queue_check, widgets

CATEGORY = "Deforum/schedules"
NO_AUDIO = "none"
AUDIO_SUFFIXES = (".wav", ".mp3", ".flac", ".ogg", ".m4a", ".aac", ".opus", ".webm")
_SETTINGS = tuple(declared.name for declared in params_of(AudioScheduleSettings))


def _check(cls, audio_file: Any = None, **settings: Any) -> None:
    """Queue-time checks of the widgets that arrive as constants, and of the file name (not
    its sound)."""
    for declared in params_of(AudioScheduleSettings):
        if settings.get(declared.name) is not None:
            declared.check(settings[declared.name])
    if isinstance(audio_file, str) and audio_file != NO_AUDIO:
        resolve_input_file(audio_file, parameter="audio_file")


_KEYWORD = inspect.Parameter.POSITIONAL_OR_KEYWORD
_check.__signature__ = inspect.Signature(  # ComfyUI passes the inputs the signature names
    [inspect.Parameter("cls", _KEYWORD)]
    + [inspect.Parameter(name, _KEYWORD, default=None) for name in ("audio_file", *_SETTINGS)]
)


class DeforumAudioSchedule:
    """A sound's amplitude, onsets or beats as a Deforum schedule text, a key per frame."""

    DESCRIPTION = (
        "Turns a sound into an ordinary Deforum schedule (`0:(0), 1:(0.8), ...`): its "
        "loudness, its onsets or a pulse on each beat, per frame at the animation's fps, "
        "smoothed by attack and decay and laid onto low..high. Connect the schedule to any "
        "schedule input (convert the widget to an input: Motion 2D zoom, Animate "
        "strength_schedule, ...) and frame_count to Animate's max_frames."
    )
    CATEGORY = CATEGORY
    SEARCH_ALIASES: ClassVar[list[str]] = [
        "audio",
        "audio reactive",
        "music",
        "sound",
        "beat",
        "onset",
        "amplitude",
        "keyframe",
    ]
    FUNCTION = "build"
    RETURN_TYPES = ("STRING", "INT")
    RETURN_NAMES = ("schedule", "frame_count")
    OUTPUT_TOOLTIPS = (
        "The schedule text, for any schedule input converted to an input.",
        "How many frames the schedule covers (max_frames, or the sound's length at fps).",
    )

    @classmethod
    def INPUT_TYPES(cls):
        return {
            "required": {
                "audio_file": (
                    [NO_AUDIO, *input_files(AUDIO_SUFFIXES)],
                    {
                        "tooltip": "A sound in ComfyUI's input folder (wav, mp3, flac, ogg, "
                        "m4a, aac, opus or webm); none when an AUDIO is connected."
                    },
                ),
                **widgets(AudioScheduleSettings),
            },
            "optional": {
                "audio": (
                    "AUDIO",
                    {"tooltip": "A sound from ComfyUI's Load Audio, used instead of the file."},
                ),
            },
        }

    VALIDATE_INPUTS = queue_check(_check)

    @classmethod
    def IS_CHANGED(cls, audio_file=NO_AUDIO, **_inputs):
        """Made again when the file changes on disk."""
        try:
            return file_fingerprint(resolve_input_file(audio_file, parameter="audio_file"))
        except DeforumError:
            return ""

    def build(self, audio_file: str, audio: Any = None, **settings: Any) -> dict[str, Any]:
        made_from = AudioScheduleSettings(**settings)
        if audio is not None:
            source, name = sound_from_audio(audio), "AUDIO"
        elif audio_file == NO_AUDIO:
            raise DeforumError(
                "no sound: choose an audio file, or connect an AUDIO to audio",
                parameter="audio_file",
                hint="copy a sound file into ComfyUI's input folder and pick it",
            )
        else:
            source = resolve_input_file(audio_file, parameter="audio_file")
            name = source.name
        made = audio_schedule(source, made_from)
        preview = _preview(made, f"{made_from.feature} of {name}")
        return {"ui": preview, "result": (made.text, made.frames)}


def _preview(made: AudioSchedule, title: str) -> dict[str, Any]:
    """The curve as a PNG in ComfyUI's temp folder, shown on the node as ui images (none
    without ComfyUI)."""
    folders = folder_paths_module()
    if folders is None:
        return {}
    data = plot_png(made.values, title=title)
    name = f"deforum_audio_{hashlib.sha256(data).hexdigest()[:16]}.png"
    folder = Path(folders.get_temp_directory())
    folder.mkdir(parents=True, exist_ok=True)
    atomic_write(folder / name, data)
    return {"images": [{"filename": name, "subfolder": "", "type": "temp"}]}
