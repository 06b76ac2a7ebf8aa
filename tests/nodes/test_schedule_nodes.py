"""The schedule nodes called the way ComfyUI calls them, from the pack imported as a package."""

import pytest
import torch

from deforum_core.errors import ScheduleError


@pytest.fixture(scope="module")
def nodes(pack):
    return pack.NODE_CLASS_MAPPINGS


def widget_names(node_class) -> list[str]:
    return list(node_class.INPUT_TYPES()["required"])


def test_pack_registers_both_nodes_with_display_names(pack):
    assert set(pack.NODE_CLASS_MAPPINGS) == set(pack.NODE_DISPLAY_NAME_MAPPINGS)
    assert pack.NODE_DISPLAY_NAME_MAPPINGS["DeforumSchedule"] == "Deforum Schedule"
    assert pack.NODE_DISPLAY_NAME_MAPPINGS["DeforumPrompts"] == "Deforum Prompts"
    assert pack.NODE_DISPLAY_NAME_MAPPINGS["DeforumPromptSchedule"] == (
        "Deforum Prompt Schedule (deprecated: use Deforum Prompts)"
    )
    assert pack.WEB_DIRECTORY == "./web"


def test_widget_order_is_the_saved_workflow_contract(nodes):
    assert widget_names(nodes["DeforumSchedule"]) == [
        "schedule", "max_frames", "interpolation", "s_value", "fps", "name",
    ]  # fmt: skip
    assert widget_names(nodes["DeforumPromptSchedule"]) == [
        "prompts", "max_frames", "positive", "negative", "s_value", "fps",
    ]  # fmt: skip
    assert widget_names(nodes["DeforumPrompts"]) == ["prompts", "positive", "negative"]


def test_every_input_and_output_has_a_tooltip(nodes):
    for node_class in (nodes["DeforumSchedule"], nodes["DeforumPrompts"],
                       nodes["DeforumPromptSchedule"]):  # fmt: skip
        for name, (_, options) in node_class.INPUT_TYPES()["required"].items():
            assert options.get("tooltip"), f"{node_class.__name__}.{name} has no tooltip"
        assert len(node_class.OUTPUT_TOOLTIPS) == len(node_class.RETURN_TYPES)
        assert node_class.DESCRIPTION and node_class.CATEGORY.startswith("Deforum")


def test_schedule_node_returns_values_schedule_and_plot(nodes):
    node = nodes["DeforumSchedule"]()
    with torch.inference_mode():
        output = node.build("0:(0), 30:(10), 60:(-10)", 61, "linear", 0, 15.0, "zoom")
    values = output["ui"]["values"]
    assert values[:31] == pytest.approx([t / 3 for t in range(31)])
    assert values[60] == -10.0 and len(values) == 61
    schedule, plot = output["result"]
    assert schedule.evaluate(61) == values
    assert schedule.evaluate(5) == pytest.approx([0, 1 / 3, 2 / 3, 1, 4 / 3])
    assert plot.shape == (1, 256, 512, 3) and plot.dtype == torch.float32
    assert plot.min() >= 0.0 and plot.max() <= 1.0
    # the curve is drawn in blue: its colour appears in the picture
    blue = (plot[0, :, :, 2] > 0.6) & (plot[0, :, :, 0] < 0.3)
    assert blue.sum() > 300


def test_schedule_node_plot_follows_the_curve(nodes):
    node = nodes["DeforumSchedule"]()
    rising = node.build("0:(0), 99:(1)", 100, "linear", 0, 15.0, "x")["result"][1][0]
    falling = node.build("0:(1), 99:(0)", 100, "linear", 0, 15.0, "x")["result"][1][0]

    def curve_rows(plot, column):
        blue = (plot[:, column, 2] > 0.6) & (plot[:, column, 0] < 0.3)
        return blue.nonzero().float().mean().item()

    left, right = 80, 480
    assert curve_rows(rising, left) > curve_rows(rising, right)  # image rows grow downwards
    assert curve_rows(falling, left) < curve_rows(falling, right)


def test_prompt_node_returns_schedule_and_keyframe_summary(nodes):
    node = nodes["DeforumPromptSchedule"]()
    output = node.build('{"0": "a cat", "10": "a dog --neg fog"}', 20, "best", "lowres", 0, 15.0)
    (schedule,) = output["result"]
    assert output["ui"]["prompts"] == [
        {"frame": 0, "positive": "best a cat", "negative": "lowres"},
        {"frame": 10, "positive": "best a dog", "negative": "fog lowres"},
    ]
    assert schedule.evaluate(20)[15].positive == "best a dog"


PROMPTS = '{"0": "a cat `t`", "10": "a dog --neg fog", "max_f": "a bird"}'


def test_prompts_node_has_only_the_texts_and_builds_what_the_old_node_builds(nodes):
    """Deforum Prompts takes only what the render uses; the render evaluates its schedule
    with its own frame count, seed and fps, so both nodes feed it the same prompts."""
    new, old = nodes["DeforumPrompts"], nodes["DeforumPromptSchedule"]
    assert new.INPUT_TYPES() == {
        "required": {name: old.INPUT_TYPES()["required"][name]
                     for name in ("prompts", "positive", "negative")}
    }  # fmt: skip
    assert (new.RETURN_TYPES, new.RETURN_NAMES) == (old.RETURN_TYPES, old.RETURN_NAMES)
    (built,) = new().build(PROMPTS, "best", "lowres")["result"]
    for frames, seed, fps in ((20, 0, 15.0), (61, 7, 24.0)):
        (old_built,) = old().build(PROMPTS, frames, "best", "lowres", seed, fps)["result"]
        assert built.evaluate(frames, seed=seed, fps=fps) == old_built.evaluate(
            frames, seed=seed, fps=fps
        )


def test_prompts_node_summary_is_the_one_the_page_is_answered_with_defaults(nodes, pack):
    """Its ui is the old node's summary at Animate's defaults (120 frames, seed 0, fps 15),
    what the page's summary route answers when it is told no frame count, seed or fps."""
    import importlib

    routes = importlib.import_module(f"{pack.__name__}.nodes.routes")
    shown = nodes["DeforumPrompts"]().build(PROMPTS, "best", "lowres")["ui"]
    old = nodes["DeforumPromptSchedule"]().build(PROMPTS, 120, "best", "lowres", 0, 15.0)["ui"]
    asked = {"kind": "prompts", "text": PROMPTS, "positive": "best", "negative": "lowres"}
    assert shown == old == routes.answer(asked)
    assert shown == {
        "prompts": [
            {"frame": 0, "positive": "best a cat 0", "negative": "lowres"},
            {"frame": 10, "positive": "best a dog", "negative": "fog lowres"},
            {"frame": 119, "positive": "best a bird", "negative": "lowres"},
        ]
    }


def test_the_old_prompt_node_still_loads_and_is_deprecated(nodes):
    old = nodes["DeforumPromptSchedule"]
    assert old.DEPRECATED is True and not getattr(nodes["DeforumPrompts"], "DEPRECATED", False)
    assert "Replaced by Deforum Prompts" in old.DESCRIPTION
    assert all(word in old.DESCRIPTION for word in ("max_frames", "s_value", "fps"))
    # a saved workflow's widgets_values, by position, still build the node
    saved = [PROMPTS, 20, "best", "lowres", 0, 15.0]
    built = old().build(**dict(zip(widget_names(old), saved, strict=True)))
    assert [entry["frame"] for entry in built["ui"]["prompts"]] == [0, 10, 19]


def test_no_shipped_workflow_uses_a_deprecated_node(pack):
    """New users start from workflows/: those use the current nodes only."""
    import json
    from pathlib import Path

    deprecated = {
        node_id for node_id, cls in pack.NODE_CLASS_MAPPINGS.items()
        if getattr(cls, "DEPRECATED", False)
    }  # fmt: skip
    assert "DeforumPromptSchedule" in deprecated
    folder = Path(__file__).resolve().parents[2] / "workflows"
    used = {}
    for path in [*folder.glob("*.json"), *folder.glob("headless/*.json")]:
        workflow = json.loads(path.read_text(encoding="utf-8"))
        if "nodes" in workflow:  # UI format
            types = {node["type"] for node in workflow["nodes"]}
        else:  # API format
            types = {node["class_type"] for node in workflow.values()}
        used[path.relative_to(folder).as_posix()] = types
    assert len(used) >= 10 and any("DeforumPrompts" in types for types in used.values())
    assert {name: types & deprecated for name, types in used.items() if types & deprecated} == {}


def test_validate_inputs_reports_bad_text_at_queue_time(nodes):
    schedule_node, prompt_node = nodes["DeforumSchedule"], nodes["DeforumPromptSchedule"]
    verdict = schedule_node.VALIDATE_INPUTS(schedule="0:(1,02)")
    assert isinstance(verdict, str)
    assert verdict.startswith("schedule: decimal comma") and "decimal separator" in verdict
    assert "unknown name 'zoom'" in schedule_node.VALIDATE_INPUTS(schedule="0:(zoom)")
    assert schedule_node.VALIDATE_INPUTS(schedule="0:(1), 10:(t/fps/s)") is True
    assert "not valid JSON" in prompt_node.VALIDATE_INPUTS(prompts='{"0": "a",}')
    assert prompt_node.VALIDATE_INPUTS(prompts='{"0": "a `t/s`"}') is True
    assert "not valid JSON" in nodes["DeforumPrompts"].VALIDATE_INPUTS(prompts='{"0": "a",}')


def test_validate_inputs_declares_only_what_it_checks(nodes):
    # ComfyUI repeats an error once per declared input and skips its own min/max and choice
    # checks for declared inputs: the text is declared, and the frame count the schedule's
    # cost depends on, whose bounds the node then checks itself.
    import inspect

    declared = {
        name: list(inspect.signature(nodes[name].VALIDATE_INPUTS).parameters)
        for name in ("DeforumSchedule", "DeforumPrompts", "DeforumPromptSchedule")
    }
    assert declared == {
        "DeforumSchedule": ["schedule", "max_frames"],
        "DeforumPrompts": ["prompts", "positive", "negative"],
        "DeforumPromptSchedule": ["prompts", "positive", "negative"],  # their backtick math
    }
    validate = nodes["DeforumSchedule"].VALIDATE_INPUTS
    assert validate(schedule="0:(1)", max_frames=0).startswith("max_frames: 0 is outside 1..")
    assert validate(schedule="0:(1)", max_frames=100_000) is True


def test_schedule_math_over_too_many_frames_is_refused_at_queue_time(nodes):
    heavy = "0:(" + "+".join(f"sin(t/{k})" for k in range(1, 301)) + ")"  # 899 operations
    verdict = nodes["DeforumSchedule"].VALIDATE_INPUTS(schedule=heavy, max_frames=100_000)
    assert verdict.startswith("schedule: working out the schedules for 100000 frames would take")
    assert "more than the 25 million a render may spend" in verdict
    assert nodes["DeforumSchedule"].VALIDATE_INPUTS(schedule=heavy, max_frames=1000) is True


def test_validate_inputs_accepts_linked_inputs_it_cannot_see_yet(nodes):
    # ComfyUI passes None for inputs that come from links during validation
    assert nodes["DeforumSchedule"].VALIDATE_INPUTS(schedule=None) is True
    assert nodes["DeforumPromptSchedule"].VALIDATE_INPUTS(prompts=None) is True
    assert nodes["DeforumPrompts"].VALIDATE_INPUTS(prompts=None) is True


def test_frame_dependent_errors_are_raised_when_the_node_runs(nodes, pack):
    node = nodes["DeforumSchedule"]()
    assert nodes["DeforumSchedule"].VALIDATE_INPUTS(schedule="0:(1/(t-5))") is True
    with pytest.raises(ScheduleError, match="division by zero at frame 5"):
        node.build("0:(1/(t-5))", 10, "linear", 0, 15.0, "zoom")
    # the node's own fps and seed are used: no false alarm for 1/(fps-15) at fps 30
    values = node.build("0:(30/(fps-15) + s)", 3, "linear", 5, 30.0, "zoom")["ui"]["values"]
    assert values == [7.0, 7.0, 7.0]


def test_node_raises_the_schedule_error_when_called_with_bad_text(nodes, pack):
    with pytest.raises(ScheduleError, match="unknown name 'zoom'"):
        nodes["DeforumSchedule"]().build("0:(zoom)", 10, "linear", 0, 15.0, "angle")
