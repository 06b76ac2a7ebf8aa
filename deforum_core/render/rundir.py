"""A render's run directory: frames streamed to disk, the resolved settings, resume state.

Every file is written to a temporary name and renamed into place, so a crash or a cancel
leaves whole files only. Frames are 8-bit PNGs named frame_00000.png, ...; the loop keeps
its frames at 8-bit precision too, so a frame read back for a resume is the very frame an
uninterrupted run would have continued from.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..errors import DeforumError
from ..files import atomic_write, remove_stale_temporaries
from ..pictures import quantize as quantize  # the loop's levels, imported from here
from .png_encoding import encode_rgb_png

FRAME_PATTERN = "frame_{:05d}.png"
SETTINGS_FILE = "settings.json"
STATE_FILE = "state.json"


class RunDirectoryError(DeforumError):
    """A run directory that cannot be used as asked; the message says what to do."""


def frame_pixels(frame: torch.Tensor) -> torch.Tensor:
    """A frame [1, H, W, C] or [H, W, C] in 0..1 as the 8-bit pixels its PNG stores, on the
    CPU: round(clamp(frame) * 255), the levels quantize keeps (so an already quantized frame
    gives its own levels back exactly), in one allocation on the frame's device and a copy
    of a quarter of its size."""
    pixels = frame[0] if frame.dim() == 4 else frame
    return pixels.mul(255.0).round_().clamp_(0.0, 255.0).to("cpu", torch.uint8)


def encode_pixels(pixels: np.ndarray) -> bytes:
    """8-bit RGB pixels [H, W, 3] as PNG bytes (png_encoding.py)."""
    return encode_rgb_png(pixels)


def encode_png(frame: torch.Tensor) -> bytes:
    """One frame [H, W, C] in 0..1 as PNG bytes."""
    return encode_pixels(frame_pixels(frame).numpy())


PNG_END = b"IEND\xaeB`\x82"
_DAMAGED_HINTS = {
    SETTINGS_FILE: "the run cannot be resumed without its settings: start a new render",
    STATE_FILE: f"delete {STATE_FILE} to render the run again from its first frame, or start "
    "a new render",
}


def _decoded_png(path: Path):
    """The pixels of a whole PNG file (its end chunk present), or None."""
    import cv2

    try:
        data = path.read_bytes()
    except OSError:
        return None
    if not data.endswith(PNG_END):
        return None
    return cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)


def read_image(path: Path) -> torch.Tensor:
    """An image file (a frame PNG, or any format OpenCV reads) as [1, H, W, 3] in 0..1."""
    import cv2

    if not Path(path).is_file():
        raise RunDirectoryError(f"cannot read the image {path}: there is no such file")
    pixels = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if pixels is None:
        raise RunDirectoryError(f"cannot read the image {path}: it is not an image file")
    rgb = cv2.cvtColor(pixels, cv2.COLOR_BGR2RGB)
    return torch.from_numpy(np.ascontiguousarray(rgb)).float().div_(255.0).unsqueeze(0)


class RunDirectory:
    """The folder of one render."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    def frame_path(self, index: int) -> Path:
        return self.path / FRAME_PATTERN.format(index)

    def write_frame(self, index: int, frame: torch.Tensor) -> Path:
        """Write frame [1, H, W, C] or [H, W, C] atomically; returns its path."""
        return self.write_png(index, encode_png(frame))

    def write_png(self, index: int, png: bytes) -> Path:
        """Write a frame's PNG bytes atomically; returns its path. Not flushed to disk one by
        one: a resume decodes every frame before it trusts state.json (first_damaged_frame),
        and state.json itself is flushed."""
        return atomic_write(self.frame_path(index), png, durable=False)

    def read_frame(self, index: int) -> torch.Tensor:
        return read_image(self.frame_path(index))

    def frame_paths(self) -> list[Path]:
        """Written frames in order."""
        return sorted(self.path.glob("frame_*.png"))

    def frame_sequence(self, count: int) -> list[Path]:
        """The paths of frames 0..count-1, all of which must exist (a video never skips)."""
        paths = [self.frame_path(index) for index in range(count)]
        missing = [path.name for path in paths if not path.is_file()]
        if missing:
            shown = ", ".join(missing[:5]) + (
                f" and {len(missing) - 5} more" if len(missing) > 5 else ""
            )
            raise RunDirectoryError(
                f"{self.path.name} lacks {shown} of its {count} frames",
                hint="resume the render (Deforum Animate with resume on) to write them again",
            )
        return paths

    def listing(self) -> str:
        """A short fingerprint of the files in the folder by name and size: it changes when
        a frame or video is added, deleted or cut short, not when one is written again."""
        digest = hashlib.sha256()
        if self.path.is_dir():
            for path in sorted(self.path.iterdir()):
                if path.is_file() and not path.name.startswith("."):
                    digest.update(f"{path.name}:{path.stat().st_size};".encode())
        return digest.hexdigest()[:16]

    def first_damaged_frame(self, count: int) -> int | None:
        """The first of frames 0..count-1 that is missing, cut short or does not decode as a
        frame of the first one's size; None when all are whole."""
        size = None
        for index in range(count):
            pixels = _decoded_png(self.frame_path(index))
            if pixels is None or (size is not None and pixels.shape != size):
                return index
            size = pixels.shape
        return None

    def write_json(self, name: str, content: dict[str, Any]) -> None:
        data = json.dumps(content, indent=2, sort_keys=True).encode("utf-8")
        atomic_write(self.path / name, data)

    def read_json(self, name: str) -> dict[str, Any] | None:
        """A record of the run, None when it is not there; a damaged one is an error naming
        the file."""
        path = self.path / name
        if not path.is_file():
            return None
        try:
            content = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
            raise RunDirectoryError(
                f"{name} of run {self.path.name} is damaged ({error})",
                hint=_DAMAGED_HINTS.get(name, "start a new render"),
            ) from None
        if not isinstance(content, dict):
            raise RunDirectoryError(
                f"{name} of run {self.path.name} is damaged (not a JSON object)",
                hint=_DAMAGED_HINTS.get(name, "start a new render"),
            )
        return content

    def prepare(
        self, settings: dict[str, Any], *, resume: bool, legacy: Mapping[str, Any] | None = None
    ) -> dict[str, Any] | None:
        """Create the folder for a new render, or check it for a resume.

        Returns the saved state to resume from (None for a fresh start). A new render never
        reuses a folder that holds frames; a resume refuses settings that differ from the
        saved ones and never rewrites the settings file. legacy holds what a record saved
        before a setting existed rendered with (nested like the record): a saved record
        lacking a key is compared as if it held that value.
        """
        settings = json.loads(json.dumps(settings))  # as it reads back from the file
        saved = self.read_json(SETTINGS_FILE)
        if resume:
            remove_stale_temporaries(self.path)  # what a killed render was writing
            if saved is None:
                raise RunDirectoryError(
                    f"nothing to resume in {self.path}: it holds no {SETTINGS_FILE}; "
                    "turn resume off to start a new render"
                )
            saved = _backfilled(saved, json.loads(json.dumps(legacy or {})))
            if saved != settings:
                changed = sorted(k for k in settings.keys() | saved.keys()
                                 if settings.get(k) != saved.get(k))  # fmt: skip
                raise RunDirectoryError(
                    f"cannot resume {self.path.name}: the settings differ from the saved ones "
                    f"({', '.join(changed)}); restore them or start a new render"
                )
            return self.read_json(STATE_FILE)
        if self.path.exists() and any(self.path.glob("frame_*.png")):
            raise RunDirectoryError(
                f"{self.path} already holds frames; choose another run name or resume it"
            )
        self.path.mkdir(parents=True, exist_ok=True)
        self.write_json(SETTINGS_FILE, settings)
        return None


def _backfilled(saved: dict[str, Any], legacy: Mapping[str, Any]) -> dict[str, Any]:
    """The saved record with the keys it lacks taken from legacy, level by level."""
    filled = dict(saved)
    for key, value in legacy.items():
        if key not in filled:
            filled[key] = value
        elif isinstance(value, Mapping) and isinstance(filled[key], dict):
            filled[key] = _backfilled(filled[key], value)
    return filled
