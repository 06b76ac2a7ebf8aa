"""One number per video frame from a sound: its loudness, its onsets, or its beats.

Frame i covers the samples from time i/fps to (i+1)/fps after the frame grid's start.
- amplitude: the RMS of the frame's samples.
- onsets: spectral flux, the summed rise of the log-compressed magnitude spectrum between
  consecutive ~23 ms Hann windows, each window counted at its last sample, so an onset is
  never shown before it sounds (at most half a window, ~12 ms, after); a frame takes its
  strongest window.
- beats: the onsets picked as peaks (the highest within ~50 ms, and above the mean of the
  surrounding second by a tenth of the track's strongest onset), as a spike of 1 on each.
Frames past the sound's end are silent. Spectra are made a chunk of windows at a time, so
memory stays small whatever the length.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from .sound import Sound

FEATURES = ("amplitude", "onsets", "beats")
WINDOW_SECONDS = 0.023  # the analysis window of the onsets, rounded to a power of two
COMPRESSION = 100.0  # log(1 + COMPRESSION * magnitude): quiet onsets count, loud ones saturate
CHUNK_WINDOWS = 2048
PEAK_SECONDS = 0.05  # a beat is the highest onset this far on either side
MEAN_SECONDS = 0.5  # ... and stands out from the mean onset this far on either side
THRESHOLD = 0.1  # ... by this share of the track's strongest onset


@dataclass(frozen=True)
class FrameGrid:
    """`frames` video frames at `fps` over a sound's samples, frame 0 starting at `lead`."""

    rate: int
    fps: float
    frames: int
    lead: int = 0

    @cached_property
    def boundaries(self) -> np.ndarray:
        """The first sample of each frame, and the end of the last (frames + 1 indices)."""
        seconds = np.arange(self.frames + 1, dtype=np.float64) / self.fps
        return self.lead + np.ceil(seconds * self.rate - 1e-6).astype(np.int64)

    def frame_of(self, samples: np.ndarray) -> np.ndarray:
        """The frame each sample index lies in (-1 before frame 0, `frames` after the last)."""
        return np.searchsorted(self.boundaries, samples, side="right") - 1


def frame_feature(name: str, sound: Sound, grid: FrameGrid) -> np.ndarray:
    """The named feature on every frame of the grid (float64)."""
    if name == "amplitude":
        return amplitude(sound, grid)
    onsets = onset_strength(sound, grid)
    return pick_beats(onsets, grid.fps) if name == "beats" else onsets


def amplitude(sound: Sound, grid: FrameGrid) -> np.ndarray:
    """RMS of each frame's samples."""
    bounds = np.minimum(grid.boundaries, len(sound.samples))
    values = np.zeros(grid.frames)
    for index in range(grid.frames):
        piece = sound.samples[bounds[index] : bounds[index + 1]].astype(np.float64)
        if len(piece):
            values[index] = math.sqrt(float(np.dot(piece, piece)) / len(piece))
    return values


def analysis_window(rate: int) -> int:
    """Samples in an onset window: the power of two nearest WINDOW_SECONDS."""
    return 1 << max(4, round(math.log2(rate * WINDOW_SECONDS)))


def onset_strength(sound: Sound, grid: FrameGrid) -> np.ndarray:
    """The strongest spectral flux of the windows ending in each frame."""
    size = analysis_window(sound.rate)
    hop = max(1, min(size // 4, int(sound.rate / grid.fps / 2)))  # every frame ends some
    window = np.hanning(size + 1)[:-1].astype(np.float32)
    scale = np.float32(COMPRESSION / window.sum())
    last_sample = min(int(grid.boundaries[-1]), len(sound.samples) + size) - 1
    count = max(0, last_sample // hop + 1)  # window j ends at sample j * hop
    onsets = np.zeros(grid.frames)
    previous = np.zeros(size // 2 + 1, np.float32)
    for first in range(0, count, CHUNK_WINDOWS):
        ends = np.arange(first, min(count, first + CHUNK_WINDOWS)) * hop
        spectra = np.log1p(scale * np.abs(np.fft.rfft(_windows(sound, ends, size) * window)))
        rises = np.diff(spectra, axis=0, prepend=previous[None, :])
        flux = np.maximum(rises, 0).mean(axis=1)
        previous = spectra[-1]
        frames = grid.frame_of(ends)
        inside = (frames >= 0) & (frames < grid.frames)
        np.maximum.at(onsets, frames[inside], flux[inside])
    return onsets


def _windows(sound: Sound, ends: np.ndarray, size: int) -> np.ndarray:
    """The windows ending at these samples (zeros outside the sound), one per row."""
    start, stop = int(ends[0]) - size + 1, int(ends[-1]) + 1
    span = np.zeros(stop - start, np.float32)
    lo, hi = max(start, 0), min(stop, len(sound.samples))
    if hi > lo:
        span[lo - start : hi - start] = sound.samples[lo:hi]
    return sliding_window_view(span, size)[ends - ends[0]]


def pick_beats(onsets: np.ndarray, fps: float) -> np.ndarray:
    """1 on the frames whose onset is a peak (see the module docstring), 0 elsewhere."""
    beats = np.zeros(len(onsets))
    strongest = float(onsets.max(initial=0.0))
    if strongest <= 0:
        return beats
    near = max(1, round(PEAK_SECONDS * fps))
    around = max(1, round(MEAN_SECONDS * fps))
    for index, value in enumerate(onsets):
        before = onsets[max(0, index - near) : index]
        after = onsets[index + 1 : index + near + 1]
        if value <= 0 or (len(before) and value <= before.max()):
            continue  # not a peak, or not the first frame of a flat top
        if len(after) and value < after.max():
            continue
        mean = onsets[max(0, index - around) : index + around + 1].mean()
        beats[index] = 1.0 if value >= mean + THRESHOLD * strongest else 0.0
    return beats
