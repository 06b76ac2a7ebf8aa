"""Decode a sound file's first audio stream with PyAV, only the part a schedule needs.

Any container and codec FFmpeg reads will do (WAV, MP3, FLAC, OGG/Vorbis/Opus, M4A/AAC,
WebM, a video's soundtrack). Samples are converted to float32 and their channels averaged
frame by frame; those before the part are dropped as they come and decoding stops at its
end, so memory holds the part only, at most MAX_SAMPLES samples (see sound.py). Messages
name the file, never its folder. PyAV is imported only here, when a file is read.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .sound import MAX_SAMPLES, AudioError, Sound, sample_index, too_long

_PICK = "use a sound file FFmpeg reads: WAV, MP3, FLAC, OGG, M4A, AAC, Opus or WebM"


def read_sound(path: str | Path, begin: float = 0.0, end: float | None = None) -> Sound:
    """Mono samples of the file from `begin` to `end` seconds (None: to its end)."""
    import av

    path = Path(path)
    name = path.name
    if path.is_dir():
        raise AudioError(f"{name} is a folder, not a sound file", hint=_PICK)
    if not path.is_file():
        raise AudioError(f"sound file {name} is not there", hint=_PICK)
    try:
        with av.open(str(path)) as container:
            if not container.streams.audio:
                raise AudioError(f"{name} has no audio stream", hint=_PICK)
            stream = container.streams.audio[0]
            rate = stream.codec_context.sample_rate or stream.rate
            if not rate:
                raise AudioError(f"{name} does not say its sample rate", hint=_PICK)
            first = sample_index(begin, rate)
            last = None if end is None else sample_index(end, rate)
            samples = _decode(container, stream, first, last, name)
    except (av.FFmpegError, OSError, EOFError):
        raise AudioError(f"{name} is not a sound file FFmpeg can read", hint=_PICK) from None
    if len(samples) == 0 and first == 0:
        raise AudioError(f"{name} holds no sound (no samples)", hint=_PICK)
    return Sound(samples, rate)


def _decode(container, stream, first: int, last: int | None, name: str) -> np.ndarray:
    """Samples first..last (sample indices from the stream's start), mono float32."""
    import av

    resampler = av.AudioResampler(format="fltp")  # its own layout and rate: planar floats
    kept: list[np.ndarray] = []
    position = total = 0

    def take(converted) -> None:
        nonlocal position, total
        channels = converted.to_ndarray()
        mono = channels[0] if len(channels) == 1 else channels.mean(0, dtype=np.float32)
        stop = len(mono) if last is None else min(len(mono), max(0, last - position))
        piece = mono[max(0, first - position) : stop]
        position += len(mono)
        if len(piece):
            kept.append(np.array(piece, dtype=np.float32))
            total += len(piece)
        if total > MAX_SAMPLES:
            raise too_long(name, stream.codec_context.sample_rate, "audio_file")

    for frame in container.decode(stream):
        for converted in resampler.resample(frame):
            take(converted)
        if last is not None and position >= last:
            break
    else:
        for converted in resampler.resample(None):  # what the converter still holds
            take(converted)
    return np.concatenate(kept) if kept else np.zeros(0, np.float32)
