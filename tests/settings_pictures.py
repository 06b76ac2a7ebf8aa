"""The pictures tests/settings_files name: an init picture with structure (castle.png) and a
colour coherence image of one colour (palette.png)."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

PALETTE_BGR = (30, 90, 200)


def picture_bytes() -> dict[str, bytes]:
    """Each picture's PNG bytes by file name."""
    gradient = np.linspace(0, 255, 64 * 64 * 3).reshape(64, 64, 3).astype(np.uint8)
    palette = np.full((8, 8, 3), PALETTE_BGR, np.uint8)
    return {
        "castle.png": cv2.imencode(".png", gradient)[1].tobytes(),
        "palette.png": cv2.imencode(".png", palette)[1].tobytes(),
    }


def write_pictures(folder: Path) -> Path:
    """Write them into folder (made if needed); returns folder."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, data in picture_bytes().items():
        (folder / name).write_bytes(data)
    return folder
