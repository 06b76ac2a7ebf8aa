"""The parameter table: one declaration per parameter, from which the engine's defaults and
checks, the node widgets, the record and the typed per-frame values all come."""

from __future__ import annotations

import dataclasses

import pytest
import torch

import deforum_core.params as params
from deforum_core.errors import DeforumError, ScheduleError
from deforum_core.keyframes import Schedule
from deforum_core.params import SCHEDULE, by_deforum_key, frame_values, param_of, params_of, record
from deforum_core.prompts import PromptTexts, parse_prompt_schedule
from deforum_core.render import AnimationSettings, FrameSettings, Stages, render_animation
from deforum_core.stages import (
    ColorCoherenceStage,
    EnhanceStage,
    Motion2DStage,
    Motion3DStage,
    NoiseStage,
)
from deforum_core.warp2d import Motion2D

TABLES = (AnimationSettings, Motion2DStage, Motion3DStage, ColorCoherenceStage, EnhanceStage,
          NoiseStage, PromptTexts)  # fmt: skip
NODE_OF = {
    AnimationSettings: "DeforumAnimate", Motion2DStage: "DeforumMotion2D",
    Motion3DStage: "DeforumMotion3D", ColorCoherenceStage: "DeforumColorCoherence",
    EnhanceStage: "DeforumEnhance", NoiseStage: "DeforumNoise",
    PromptTexts: "DeforumPrompts",
}  # fmt: skip


@pytest.mark.parametrize("table", TABLES, ids=lambda t: t.__name__)
def test_every_parameter_is_declared_whole(table):
    declared = params_of(table)
    assert declared and all(p.tooltip for p in declared)
    keys = [key for p in declared for key in (p.deforum_key, *p.aliases) if key]
    assert len(keys) == len(set(keys)), "a Deforum key names one parameter of a stage"
    defaults = table()  # the defaults pass their own checks
    assert all(
        isinstance(getattr(defaults, p.name), Schedule) for p in declared if p.kind == SCHEDULE
    )


@pytest.mark.parametrize("table", TABLES, ids=lambda t: t.__name__)
def test_node_widgets_are_the_table(pack, table):
    """Each stage's node shows its parameters with the engine's defaults, bounds, choices."""
    declared_inputs = pack.NODE_CLASS_MAPPINGS[NODE_OF[table]].INPUT_TYPES()
    inputs = {**declared_inputs["required"], **declared_inputs.get("optional", {})}
    for declared in params_of(table):
        kind, options = inputs[declared.name]
        assert options["default"] == declared.default, declared.name
        assert options["tooltip"] == declared.tooltip
        if declared.kind != SCHEDULE:  # a schedule's bounds hold for its values, per frame
            assert options.get("min") == declared.low and options.get("max") == declared.high
        if declared.choices:
            assert kind == list(declared.choices)
    animate = pack.NODE_CLASS_MAPPINGS["DeforumAnimate"].INPUT_TYPES()["required"]
    assert animate["init_strength"][1]["default"] == AnimationSettings().init_strength == 0.65


def test_deforum_keys_find_their_parameters_across_stages():
    table = by_deforum_key(TABLES)
    assert [owner.__name__ for owner, _ in table["translation_x"]] == [
        "Motion2DStage", "Motion3DStage",
    ]  # fmt: skip
    assert {p.name for _, p in table["flip_2d_perspective"]} == {"enable_perspective_flip"}
    assert [(o.__name__, p.name) for o, p in table["seed"]] == [("AnimationSettings", "base_seed")]
    assert [p.name for _, p in table["cfg_scale_schedule"]] == ["cfg_schedule"]
    assert [p.name for _, p in table["fov"]] == ["fov"]  # an older scalar key, as an alias
    assert [p.name for _, p in table["W"]] == ["width"]


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"max_frames": 0}, "max_frames: 0 is outside 1..100000"),
        ({"max_frames": "ten"}, "max_frames: must be a whole number from 1 to 100000, got 'ten'"),
        ({"fps": True}, "fps: must be a number"),
        ({"seed_behavior": "spiral"}, "seed_behavior: unknown seed_behavior 'spiral'"),
        ({"animation_mode": "4D"}, "animation_mode: unknown animation_mode '4D'"),
        ({"cfg_schedule": "0:(7"}, "cfg_schedule: unclosed '('"),
        ({"cfg_schedule": 7}, "cfg_schedule: must be a keyframe schedule text"),
        ({"width": 100}, "width: 100 is not a multiple of 8"),
    ],
)
def test_bad_values_are_refused_with_the_parameter_named(overrides, message):
    with pytest.raises(ScheduleError if "multiple" not in message else DeforumError) as caught:
        AnimationSettings(**overrides)
    assert message in str(caught.value)


def test_per_frame_values_are_typed_and_checked():
    motions = frame_values(Motion2DStage(angle="0:(0), 2:(4)", enable_perspective_flip=True),
                           Motion2D, 3)  # fmt: skip
    assert [m.angle for m in motions] == [0.0, 2.0, 4.0]
    assert all(isinstance(m, Motion2D) and m.enable_perspective_flip for m in motions)
    settings = AnimationSettings(max_frames=3, base_seed=1, steps_schedule="0:(10.4), 2:(20.6)")
    steps = [frame.steps for frame in frame_values(settings, FrameSettings, 3, seed=1)]
    assert steps == [10, 16, 21] and all(isinstance(step, int) for step in steps)
    with pytest.raises(ScheduleError, match=r"strength_schedule: 1.5 is outside 0..1 at frame 2"):
        frame_values(AnimationSettings(strength_schedule="0:(0.5), 2:(1.5)"), FrameSettings, 3)


def test_the_record_holds_the_texts_as_written():
    written = record(Motion2DStage(zoom="0: (1.02)  "))
    assert written["zoom"] == "0: (1.02)  " and written["border"] == "replicate"
    assert list(written) == [p.name for p in params_of(Motion2DStage)]


def test_schedules_are_parsed_once_when_the_settings_are_made(monkeypatch, tmp_path):
    stages = Stages(parse_prompt_schedule("0: a cat"), Motion2DStage(), ColorCoherenceStage(),
                    EnhanceStage(), NoiseStage())  # fmt: skip
    settings = AnimationSettings(max_frames=3, width=64, height=64, base_seed=-1)
    calls = []
    parse = params.parse_schedule
    monkeypatch.setattr(params, "parse_schedule", lambda *a, **k: calls.append(a) or parse(*a, **k))
    render_animation(settings, stages, None, tmp_path / "run", init_image=torch.rand(1, 64, 64, 3))
    assert calls == []  # the render reuses what the stages parsed when they were made
    assert dataclasses.replace(settings, base_seed=4).seed_schedule is settings.seed_schedule


def test_a_prompt_table_parses_deforums_prompts():
    texts = PromptTexts('{"0": "a cat", "4": "a dog"}', positive="art", negative="blurry")
    frames = texts.parse().evaluate(5)
    assert (frames[4].positive, frames[4].negative) == ("art a dog", "blurry")
    assert param_of(PromptTexts, "prompts").deforum_key == "animation_prompts"
