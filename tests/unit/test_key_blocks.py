"""Key blocks beside the loop (deforum_core/render/key_blocks.py): a motion preview moves the
frames between two keys on a worker thread while the loop makes the next key, and renders the
very frames it renders inline; blocks stay in order, a block's error reaches the loop, a cancel
leaves whole frames and no thread, and a render that diffuses keeps every block in the loop."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
import torch
from digests import frames_digest
from recording_backend import RecordingBackend

from deforum_core.pattern import test_pattern as built_in_picture
from deforum_core.prompts import parse_prompt_schedule
from deforum_core.render import (
    AnimationSettings,
    RenderCallbacks,
    RenderCancelled,
    RunDirectory,
    Stages,
    animator,
    render_animation,
)
from deforum_core.render.frame_writer import THREAD_NAME as WRITER_THREAD
from deforum_core.render.key_blocks import THREAD_NAME, KeyBlocks
from deforum_core.render.rundir import PNG_END
from deforum_core.stages import ColorCoherenceStage, Motion2DStage

SETTINGS = AnimationSettings(max_frames=13, width=96, height=64, base_seed=5,
                             diffusion_cadence=3, init_strength=0.0)  # fmt: skip
INIT = built_in_picture(96, 64)


def stages() -> Stages:
    camera = Motion2DStage(zoom="0:(1.03)", angle="0:(2)", translation_x="0:(1.5)")
    return Stages(parse_prompt_schedule("0: a lake"), camera, ColorCoherenceStage("LAB"))


def threads_left() -> list[str]:
    return [thread.name for thread in threading.enumerate()
            if thread.name.startswith((THREAD_NAME, WRITER_THREAD))]  # fmt: skip


class Recorder:
    """on_frame: which thread handed each frame over; raises RenderCancelled at `stop`."""

    def __init__(self, stop: int | None = None) -> None:
        self.stop, self.threads = stop, {}

    def on_frame(self, index: int, total: int, frame: torch.Tensor) -> None:
        self.threads[index] = threading.current_thread().name
        if index == self.stop:
            raise RenderCancelled()


def preview(run: Path, recorder: Recorder, **options):
    return render_animation(SETTINGS, stages(), None, run, init_image=INIT,
                            callbacks=RenderCallbacks(recorder.on_frame), **options)  # fmt: skip


def test_a_preview_moves_the_frames_between_keys_beside_the_loop_to_the_same_pixels(
    tmp_path, monkeypatch
):
    beside = Recorder()
    preview(tmp_path / "beside", beside)
    assert set(beside.threads) == set(range(13))
    assert {name.split("_")[0] for name in beside.threads.values()} == {THREAD_NAME}
    monkeypatch.setattr(animator._Loop, "_blocks_beside", lambda self: False)
    inline = Recorder()
    preview(tmp_path / "inline", inline)
    assert set(inline.threads.values()) == {threading.current_thread().name}
    assert frames_digest(tmp_path / "beside") == frames_digest(tmp_path / "inline")
    assert threads_left() == []


@pytest.mark.parametrize("stop", [1, 3, 7, 11])
def test_a_cancel_in_a_block_stops_the_render_with_whole_frames_and_resumes_alike(tmp_path, stop):
    preview(tmp_path / "whole", Recorder())
    run = tmp_path / "cut"
    cut = Recorder(stop)
    with pytest.raises(RenderCancelled):
        preview(run, cut)
    assert threads_left() == []
    assert list(run.glob(".*")) == []
    written = RunDirectory(run).frame_paths()
    assert [path.name for path in written] == [
        f"frame_{index:05d}.png" for index in sorted(cut.threads)
    ]
    assert all(path.read_bytes().endswith(PNG_END) for path in written)
    preview(run, Recorder(), resume=True)
    assert frames_digest(run) == frames_digest(tmp_path / "whole")


def test_a_render_that_diffuses_keeps_its_blocks_in_the_loop(tmp_path):
    recorder = Recorder()
    render_animation(SETTINGS, stages(), RecordingBackend(), tmp_path / "run",
                     callbacks=RenderCallbacks(recorder.on_frame))  # fmt: skip
    assert set(recorder.threads.values()) == {threading.current_thread().name}


def test_blocks_run_one_at_a_time_in_order_and_their_error_reaches_the_loop():
    events: list[str] = []
    gate = threading.Event()

    def block(name: str, fail: bool = False) -> None:
        gate.wait(timeout=5)
        events.append(name)
        if fail:
            raise OSError(f"{name} failed")

    with KeyBlocks(beside=True) as blocks:
        blocks.run(block, "first")
        events.append("loop goes on")  # before the first block, held at its gate
        gate.set()
        blocks.run(block, "second", True)  # waits for the first one
        with pytest.raises(OSError, match="second failed"):
            blocks.run(block, "third")
    assert events == ["loop goes on", "first", "second"]
    assert threads_left() == []


def test_blocks_end_their_work_when_the_loop_stops_with_an_error():
    finished = threading.Event()

    def block() -> None:
        finished.wait(timeout=0.2)
        finished.set()

    with pytest.raises(ValueError, match="the loop's own error"), KeyBlocks(beside=True) as blocks:
        blocks.run(block)
        raise ValueError("the loop's own error")
    assert finished.is_set() and threads_left() == []
