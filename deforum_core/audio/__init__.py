"""Audio-reactive schedules: a sound turned into a Deforum keyframe text, one key per frame.

`audio_schedule(path_or_sound, AudioScheduleSettings(...))` decodes the part of the sound
the frames cover (PyAV, any format FFmpeg reads), measures its amplitude, onsets or beats on
every frame, smooths them by attack and decay, lays them onto low..high and writes an
ordinary schedule such as `0:(0), 1:(0.8), 2:(0.4493)` that any schedule input takes.
"""

from .features import FEATURES
from .schedule import AudioSchedule, AudioScheduleSettings, audio_schedule
from .sound import AudioError, Sound, sound_from_audio

__all__ = [
    "FEATURES",
    "AudioError",
    "AudioSchedule",
    "AudioScheduleSettings",
    "Sound",
    "audio_schedule",
    "sound_from_audio",
]
