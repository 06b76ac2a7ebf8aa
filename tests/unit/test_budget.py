"""Bounded work: schedule math and frame memory a render would need are refused up front, and
a cancel is honoured while schedules are worked out."""

from __future__ import annotations

import re
import time

import pytest
import torch
from recording_backend import RecordingBackend

from deforum_core.errors import DeforumError, ScheduleError
from deforum_core.keyframes import parse_schedule
from deforum_core.prompts import parse_prompt_schedule
from deforum_core.render import (
    AnimationSettings,
    RenderCallbacks,
    RenderCancelled,
    Stages,
    budget,
    render_animation,
)
from deforum_core.stages import EnhanceStage, Motion2DStage

HEAVY = "0:(" + "+".join(f"sin(t/{k})" for k in range(1, 301)) + ")"  # 899 operations
PROMPTS = parse_prompt_schedule("0: a lake")


def settings(**overrides) -> AnimationSettings:
    values = {"max_frames": 100_000, "width": 64, "height": 64, "base_seed": 1,
              "diffusion_cadence": 50}  # fmt: skip
    return AnimationSettings(**{**values, **overrides})


def refused(tmp_path, animation, stages) -> tuple[str, float]:
    started = time.perf_counter()
    with pytest.raises(ScheduleError) as caught:
        render_animation(animation, stages, RecordingBackend(), tmp_path / "run")
    assert not (tmp_path / "run").exists()  # refused before the run folder is made
    return str(caught.value), time.perf_counter() - started


def test_heavy_motion_math_is_refused_naming_the_schedule(tmp_path):
    stages = Stages(PROMPTS, Motion2DStage(zoom=HEAVY), enhance=EnhanceStage(contrast=HEAVY))
    message, seconds = refused(tmp_path, settings(), stages)
    assert re.match(r"zoom: working out the schedules for 100000 frames would take about 18\d "
                    r"million operations, more than the 25 million", message)  # fmt: skip
    assert "zoom alone costs 90.0 million" in message
    assert seconds < 1.0


def test_heavy_prompt_math_is_refused_for_the_frames_it_would_diffuse(tmp_path):
    math = " ".join("`" + "+".join(["t"] * 200) + "`" for _ in range(5))  # 995 operations
    prompts = parse_prompt_schedule(f"0: a lake {math}\n50000: a sea {math}")
    message, seconds = refused(tmp_path, settings(diffusion_cadence=1), Stages(prompts))
    assert message.startswith("prompts: working out the schedules for 100000 frames")
    assert seconds < 1.0
    cheap = settings(max_frames=1000)  # the same prompts over fewer frames are fine
    cheap_run = render_animation(cheap, Stages(prompts), None, tmp_path / "ok",
                                 init_image=torch.rand(1, 64, 64, 3))  # fmt: skip
    assert cheap_run.frames_written == 1000


def test_a_cancel_is_honoured_while_a_schedule_is_worked_out():
    """The costliest legal expression is checked for a cancel every 2048 frames, which is
    well under a second of work."""
    calls = []
    parse_schedule(HEAVY, name="zoom").evaluate(10_000, check_cancel=lambda: calls.append(1))
    assert len(calls) == 5  # frames 0, 2048, 4096, 6144, 8192

    checks = []

    def cancel_at_the_second_check():
        checks.append(1)
        if len(checks) == 2:
            raise RenderCancelled()

    started = time.perf_counter()
    with pytest.raises(RenderCancelled):
        parse_schedule(HEAVY, name="zoom").evaluate(20_000, check_cancel=cancel_at_the_second_check)
    assert time.perf_counter() - started < 1.0


def test_a_render_cancelled_while_its_schedules_are_worked_out_writes_nothing(tmp_path):
    def cancel():
        raise RenderCancelled()

    stages = Stages(PROMPTS, Motion2DStage(zoom="0:(1+0.001*sin(t))"))
    with pytest.raises(RenderCancelled):
        render_animation(settings(), stages, RecordingBackend(), tmp_path / "run",
                         callbacks=RenderCallbacks(check_cancel=cancel))  # fmt: skip
    assert not list((tmp_path / "run").glob("frame_*"))


def test_a_frame_size_that_would_not_fit_is_refused_with_the_estimate(tmp_path, monkeypatch):
    monkeypatch.setattr(budget, "available_memory", lambda: 8 * 2**30)
    with pytest.raises(DeforumError) as caught:
        render_animation(settings(width=8192, height=8192, max_frames=2), Stages(PROMPTS),
                         RecordingBackend(), tmp_path / "run")  # fmt: skip
    assert str(caught.value).startswith(
        "width: a 8192x8192 render needs about 18.8 GiB of memory for its frames, and 8.0 GiB "
        "is free"
    )
    assert not (tmp_path / "run").exists()


def test_this_machine_reports_its_free_memory():
    free = budget.available_memory()
    assert free is not None and free > 2**28


def test_the_prompt_summary_works_out_only_the_key_frames(pack):
    math = " ".join("`" + "+".join(["t"] * 200) + "`" for _ in range(5))
    node = pack.NODE_CLASS_MAPPINGS["DeforumPromptSchedule"]()
    started = time.perf_counter()
    shown = node.build(f"0: a lake {math}\n60000: a sea", 100_000, "", "", 0, 15.0)["ui"]
    assert time.perf_counter() - started < 1.0
    assert [entry["frame"] for entry in shown["prompts"]] == [0, 60000]
