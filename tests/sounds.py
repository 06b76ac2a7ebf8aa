"""A sound file for tests of soundtracks: a 440 Hz tone, written with PyAV."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np


def write_tone(path: Path, seconds: float = 2.0, rate: int = 44100) -> Path:
    with av.open(str(path), "w") as container:
        stream = container.add_stream("pcm_s16le", rate=rate)
        stream.layout = "mono"
        samples = np.sin(np.arange(int(rate * seconds)) / rate * 2 * np.pi * 440) * 8000
        frame = av.AudioFrame.from_ndarray(
            samples.astype(np.int16)[None, :], format="s16", layout="mono"
        )
        frame.sample_rate = rate
        container.mux(stream.encode(frame))
        container.mux(stream.encode())
    return path
