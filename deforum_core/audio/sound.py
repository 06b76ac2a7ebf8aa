"""A sound as the audio features read it: mono float32 samples at the sound's own rate.

Both ways in arrive here: a file decoded by PyAV (decode.py) and the AUDIO dict ComfyUI's
own audio loaders output (`waveform` [batch, channels, samples], `sample_rate`). Channels
are averaged, so a file and the same samples as an AUDIO dict give the same schedule.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import DeforumError

# Decoded samples held at once: about 23 minutes at 48 kHz, 256 MiB as float32 (a 10-minute
# song at 48 kHz is 110 MiB). A longer part must be taken with max_frames and start_seconds.
MAX_SAMPLES = 1 << 26


class AudioError(DeforumError):
    """A sound, or a request for its schedule, that cannot be used as given."""

    default_parameter = "audio_file"


def sample_index(seconds: float, rate: int) -> int:
    """The sample at a time; the file and the AUDIO dict round alike."""
    return math.floor(seconds * rate + 0.5)


def too_long(label: str, rate: int, parameter: str) -> AudioError:
    minutes = MAX_SAMPLES / rate / 60
    return AudioError(
        f"{label} is longer than the {minutes:.0f} minutes (at {rate} Hz) one schedule may analyse",
        parameter=parameter,
        hint="set max_frames (and start_seconds) to take a part of it",
    )


@dataclass(frozen=True)
class Sound:
    """Mono samples (float32, about -1..1) and their rate in Hz."""

    samples: np.ndarray
    rate: int

    def part(self, begin: float, end: float | None) -> Sound:
        """The samples from `begin` to `end` seconds (None: to the end), as a view."""
        first = sample_index(begin, self.rate)
        last = None if end is None else sample_index(end, self.rate)
        return Sound(self.samples[first:last], self.rate)


def sound_from_audio(audio: Any, *, parameter: str = "audio") -> Sound:
    """The first sound of a ComfyUI AUDIO dict, its channels averaged."""
    waveform = audio.get("waveform") if isinstance(audio, dict) else None
    rate = audio.get("sample_rate") if isinstance(audio, dict) else None
    shape = tuple(getattr(waveform, "shape", ()))
    if len(shape) != 3 or not isinstance(rate, int) or isinstance(rate, bool) or rate <= 0:
        raise AudioError(
            "expected ComfyUI's AUDIO (a waveform [batch, channels, samples] and a sample_rate)",
            parameter=parameter,
            hint="connect the AUDIO output of a Load Audio node",
        )
    if shape[0] == 0 or shape[1] == 0 or shape[2] == 0:
        raise AudioError("the AUDIO holds no sound", parameter=parameter)
    first = waveform[0].detach().to("cpu").float() if hasattr(waveform, "detach") else waveform[0]
    samples = np.asarray(first, dtype=np.float32).mean(axis=0, dtype=np.float32)
    if not np.isfinite(samples).all():
        raise AudioError("the AUDIO holds samples that are not finite numbers", parameter=parameter)
    return Sound(np.ascontiguousarray(samples), rate)
