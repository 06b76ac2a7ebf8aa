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


def write_sound(path: Path, samples: np.ndarray, rate: int = 44100, codec: str = "pcm_s16le"):
    """Mono 16-bit samples written with any audio codec PyAV encodes (pcm_s16le for WAV,
    libmp3lame, flac, libopus, aac), in the encoder's own sample format and frame size."""
    with av.open(str(path), "w") as container:
        stream = container.add_stream(codec, rate=rate)
        stream.layout = "mono"
        stream.codec_context.open()
        frame = av.AudioFrame.from_ndarray(
            samples.astype(np.int16)[None, :], format="s16", layout="mono"
        )
        frame.sample_rate = rate
        resampler = av.AudioResampler(
            format=stream.format.name, layout="mono", rate=rate,
            frame_size=stream.codec_context.frame_size or None,
        )  # fmt: skip
        for chunk in [*resampler.resample(frame), *resampler.resample(None)]:
            container.mux(stream.encode(chunk))
        container.mux(stream.encode())
    return path


def click_track(bpm: float = 120.0, seconds: float = 4.0, rate: int = 44100) -> np.ndarray:
    """A click on every beat from time 0: a 10 ms burst of 2 kHz dying away in about 2 ms,
    as 16-bit sample values (silence between)."""
    samples = np.zeros(int(rate * seconds))
    time = np.arange(int(0.01 * rate)) / rate
    burst = np.sin(2 * np.pi * 2000 * time) * np.exp(-time / 0.002) * 20000
    for beat in range(int(seconds * bpm / 60) + 1):
        at = round(beat * 60 / bpm * rate)
        piece = samples[at : at + len(burst)]
        piece += burst[: len(piece)]
    return samples.astype(np.int16)


def write_clicks(path: Path, bpm: float = 120.0, seconds: float = 4.0, rate: int = 44100,
                 codec: str = "pcm_s16le") -> Path:  # fmt: skip
    """A click track (click_track) written as a sound file."""
    return write_sound(path, click_track(bpm, seconds, rate), rate, codec)
