"""Progress as ComfyUI's page sees it: one bar per job that only moves forward, in frames
with the sampler steps folded in, and previews at the frame's own size."""

from __future__ import annotations

import importlib
import sys
import types
from typing import ClassVar

import pytest
import torch
from test_animation_nodes import animate


class RecordingBar:
    """ComfyUI's ProgressBar as the nodes use it, recording each update."""

    made: ClassVar[list[RecordingBar]] = []

    def __init__(self, total):
        self.total, self.updates = total, []
        RecordingBar.made.append(self)

    def update_absolute(self, value, total=None, preview=None):
        size = None if preview is None else (preview[0], preview[1].size, preview[2])
        self.updates.append((value, total, size))


@pytest.fixture
def comfy_bars(monkeypatch):
    """ComfyUI's comfy.utils, as far as progress goes; the bars the nodes made."""
    comfy = types.ModuleType("comfy")
    utils = types.ModuleType("comfy.utils")
    utils.ProgressBar = RecordingBar
    comfy.utils = utils
    monkeypatch.setitem(sys.modules, "comfy", comfy)
    monkeypatch.setitem(sys.modules, "comfy.utils", utils)
    RecordingBar.made = []
    return RecordingBar.made


def test_steps_and_frames_share_one_bar_that_never_goes_back(pack, comfy_bars):
    from PIL import Image

    progress = importlib.import_module(f"{pack.__name__}.nodes.progress").JobProgress(4)
    step_picture = Image.new("RGB", (96, 40))
    progress.on_step(0.5, 4, step_picture)
    progress.on_frame(0, 4, torch.zeros(1, 48, 64, 3))
    progress.on_step(1.25, 4, None)
    progress.on_step(1.0, 4, None)  # behind what is shown: the bar stays
    progress.on_frame(3, 4, None)
    (bar,) = comfy_bars
    assert bar.total == 400
    assert bar.updates == [
        (50, 400, ("JPEG", (96, 40), 96)),
        (100, 400, ("JPEG", (64, 48), 64)),
        (125, 400, None),
        (125, 400, None),
        (400, 400, None),
    ]


def test_animate_reports_its_frames_on_one_bar_with_previews_of_their_size(pack, host, comfy_bars):
    animate(pack, max_frames=3, width=96, height=64)
    (bar,) = comfy_bars
    assert bar.updates == [(100 * n, 300, ("JPEG", (96, 64), 96)) for n in (1, 2, 3)]
