"""One progress bar per job on the node that runs it: frames for Deforum Animate, with each
key's sampler steps folded in, so the bar only moves forward; encoded frames for Deforum Video.

Inside ComfyUI the bar is ComfyUI's own (the page draws it on the node and shows its
previews); without ComfyUI it is the headless host's labelled text bar.
"""

from __future__ import annotations

from typing import Any

import torch

from .comfy_bridge import HEADLESS

# ComfyUI's bar counts whole numbers: a frame is this many units, so that a step of a
# 25-step key that completes one frame still moves it.
STEP_UNITS = 100


class JobProgress:
    """on_frame(index, total, frame) after each written frame and on_step(done, total,
    preview) after each sampler step (done in frames, fractional) for one job of `total`
    frames. Previews go out at their own size, which is what the page labels them with."""

    def __init__(self, total: int, *, label: str = "frames") -> None:
        self.total, self.label = total, label
        self._value = 0
        self._bar = _comfy_bar(total * STEP_UNITS)

    def on_frame(self, index: int, total: int, frame: torch.Tensor | None) -> None:
        if self._bar is None:
            HEADLESS.report(index + 1, self.total, self.label)
            return
        self._advance(index + 1, None if frame is None else _picture(frame))

    def on_step(self, done: float, total: int, preview: Any) -> None:
        if self._bar is not None:
            self._advance(done, preview)

    def _advance(self, done: float, picture: Any) -> None:
        """Move the bar to `done` frames, never back (a resumed run's first report may lie
        behind a step already shown)."""
        value = min(self.total * STEP_UNITS, max(self._value, round(done * STEP_UNITS)))
        self._value = value
        preview = None if picture is None else ("JPEG", picture, max(picture.size))
        self._bar.update_absolute(value, self.total * STEP_UNITS, preview)


def _comfy_bar(units: int) -> Any:
    """ComfyUI's progress bar for the running node, None without ComfyUI."""
    try:
        import comfy.utils
    except ImportError:
        return None
    return comfy.utils.ProgressBar(units)


def _picture(frame: torch.Tensor) -> Any:
    from PIL import Image

    pixels = frame[0] if frame.dim() == 4 else frame
    array = pixels.clamp(0, 1).mul(255).round().to("cpu", torch.uint8).numpy()
    return Image.fromarray(array)
