"""An audio-reactive schedule: a sound in, a Deforum keyframe text with a key per frame out.

The sound (a file, or samples already loaded) is cut to the part the frames cover, a
feature is measured on every frame (features.py), smoothed by attack and decay
(smoothing.py), laid onto low..high (mapping.py) and written as schedule text (text.py),
which is parsed back with the pack's own parser: what it evaluates to is what renders.
The settings are the node's widgets, declared once in the parameter table.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

from ..params import ParameterTable, choice, integer, number
from ..render.settings import MAX_FRAMES_LIMIT
from .decode import read_sound
from .features import FEATURES, FrameGrid, frame_feature
from .mapping import to_range
from .smoothing import follow
from .sound import MAX_SAMPLES, AudioError, Sound, sample_index, too_long
from .text import checked_schedule, decimals_for, schedule_text

PREROLL_SECONDS = 0.1  # heard before start_seconds, so that a sound already playing there
# is not taken for an onset on frame 0


@dataclass(frozen=True)
class AudioScheduleSettings(ParameterTable):
    """How a sound becomes a schedule, in the Deforum Audio Schedule node's widget order."""

    feature: str = choice(
        "amplitude", FEATURES,
        "amplitude: loudness (RMS) of each frame; onsets: how sharply the sound changes "
        "(spectral flux), peaking where notes and hits start; beats: a pulse on each onset "
        "that stands out.",
    )  # fmt: skip
    fps: float = number(
        15.0, "Frames per second of the animation (Deforum Animate's fps).", low=0.01,
        high=1000.0, step=0.01,
    )  # fmt: skip
    max_frames: int = integer(
        0, "Frames in the schedule; 0 covers the sound from start_seconds to its end (silence "
        "after its end).", low=0, high=MAX_FRAMES_LIMIT,
    )  # fmt: skip
    start_seconds: float = number(
        0.0, "Where in the sound frame 0 is, in seconds.", low=0.0, high=86_400.0, step=0.01
    )
    attack: float = number(
        0.0, "Seconds a rise takes to reach 63% of its height; 0 rises at once.", low=0.0,
        high=60.0, step=0.01,
    )  # fmt: skip
    decay: float = number(
        0.2, "Seconds a peak takes to fall to 37% (1/e) of its height; 0 falls at once.",
        low=0.0, high=60.0, step=0.01,
    )  # fmt: skip
    low: float = number(
        0.0, "The value where the feature is silent.", low=-10_000.0, high=10_000.0, step=0.0001
    )
    high: float = number(
        1.0, "The value at the feature's loudest moment in the part heard (may be below low).",
        low=-10_000.0, high=10_000.0, step=0.0001,
    )  # fmt: skip
    curve: float = number(
        1.0, "Exponent on the 0..1 feature before it is laid onto low..high: above 1 keeps "
        "only the strongest moments, below 1 lifts quiet ones.", low=0.1, high=10.0, step=0.01,
    )  # fmt: skip


@dataclass(frozen=True)
class AudioSchedule:
    """The schedule text, its value on every frame as the parser evaluates it, and the
    frame count."""

    text: str
    values: list[float]
    frames: int


def audio_schedule(source: str | Path | Sound, settings: AudioScheduleSettings) -> AudioSchedule:
    """The schedule of a sound file (decoded in part) or of samples already loaded."""
    start = settings.start_seconds
    begin = start - min(start, PREROLL_SECONDS)
    end = start + settings.max_frames / settings.fps if settings.max_frames else None
    if isinstance(source, Sound):
        sound, parameter = source.part(begin, end), "audio"
        if len(sound.samples) > MAX_SAMPLES:
            raise too_long("the AUDIO", sound.rate, parameter)
    else:
        sound = read_sound(source, begin, end)
    lead = sample_index(start, sound.rate) - sample_index(begin, sound.rate)
    if len(sound.samples) <= lead:
        raise AudioError(
            f"the sound ends before start_seconds {start:g}", parameter="start_seconds",
            hint="use a start_seconds within the sound's length",
        )  # fmt: skip
    frames = settings.max_frames or _frames_heard(sound, lead, settings.fps)
    grid = FrameGrid(sound.rate, settings.fps, frames, lead)
    measured = frame_feature(settings.feature, sound, grid)
    smoothed = follow(measured, settings.fps, settings.attack, settings.decay)
    mapped = to_range(smoothed, settings.low, settings.high, settings.curve)
    text = schedule_text(mapped, decimals_for(settings.low, settings.high))
    parsed = checked_schedule(text, frames, settings.fps, name=settings.feature)
    return AudioSchedule(text, parsed.evaluate(frames, fps=settings.fps), frames)


def _frames_heard(sound: Sound, lead: int, fps: float) -> int:
    """Frames from frame 0 to the sound's end, a last partial frame included."""
    frames = max(0, math.ceil((len(sound.samples) - lead) * fps / sound.rate - 1e-6))
    if frames > MAX_FRAMES_LIMIT:
        raise AudioError(
            f"the sound lasts {frames:,} frames at {fps:g} fps, more than {MAX_FRAMES_LIMIT:,}",
            parameter="max_frames", hint="set max_frames, or a lower fps",
        )  # fmt: skip
    return frames
