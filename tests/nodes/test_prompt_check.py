"""The queue-time prompt check: one entry per wrong node, under the input that is wrong."""

import asyncio
import json
import re
import time

import pytest

from deforum_core.params import params_of
from deforum_core.stages import EnhanceStage, Motion2DStage, NoiseStage
from deforum_core.stages.mask import MaskStage


class OutputNode:
    OUTPUT_NODE = True


@pytest.fixture(scope="module")
def check(pack):
    return pack.nodes.prompt_check


@pytest.fixture(scope="module")
def classes(pack):
    return {**pack.NODE_CLASS_MAPPINGS, "SaveImage": OutputNode, "EmptyImage": object}


def motion_inputs(**changes):
    inputs = {p.name: p.default for p in params_of(Motion2DStage)}
    return {**inputs, **changes}


def prompt_with_motion(**changes):
    """Animate (an output node) with a Motion 2D behind its optional motion input."""
    return {
        "6": {"class_type": "DeforumMotion2D", "inputs": motion_inputs(**changes)},
        "5": {"class_type": "DeforumAnimate", "inputs": {"motion": ["6", 0], "max_frames": 4}},
    }


def test_a_typo_is_one_entry_under_its_own_input(check, classes):
    errors = check.prompt_errors(prompt_with_motion(zoom="0:(1,02)"), classes)

    assert list(errors) == ["6"]
    assert errors["6"]["class_type"] == "DeforumMotion2D"
    assert errors["6"]["dependent_outputs"] == ["5"]
    (entry,) = errors["6"]["errors"]
    assert entry["type"] == "custom_validation_failed"
    assert entry["extra_info"]["input_name"] == "zoom"
    assert entry["extra_info"]["received_value"] == "0:(1,02)"
    assert entry["extra_info"]["position"] == 4
    assert entry["message"] == "zoom: decimal comma: ',' is not a decimal separator"
    assert entry["details"] == (
        "in '0:(1,02)' (position 4); fix: use '.' as the decimal separator: write 1.02"
    )


@pytest.mark.parametrize("name", [p.name for p in params_of(Motion2DStage) if p.kind == "schedule"])
def test_every_schedule_is_named_when_it_is_the_wrong_one(check, classes, name):
    (entry,) = check.prompt_errors(prompt_with_motion(**{name: "0:(1"}), classes)["6"]["errors"]
    assert entry["extra_info"]["input_name"] == name
    assert entry["message"].startswith(f"{name}: ")


def test_good_prompts_and_nodes_no_output_needs_pass(check, classes):
    assert check.prompt_errors(prompt_with_motion(), classes) == {}
    unused = {"6": prompt_with_motion(zoom="0:(1,02)")["6"]}  # feeds no output: never runs
    assert check.prompt_errors(unused, classes) == {}
    linked = prompt_with_motion(zoom=["9", 0])  # a linked text is checked when it runs
    assert check.prompt_errors(linked, classes) == {}
    assert check.prompt_errors("not a prompt", classes) == {}


def test_nodes_of_other_packs_are_left_to_comfyui(check, classes):
    prompt = {
        "1": {"class_type": "EmptyImage", "inputs": {"width": "nonsense"}},
        "2": {"class_type": "SaveImage", "inputs": {"images": ["1", 0]}},
    }
    assert check.prompt_errors(prompt, classes) == {}


def test_a_wrong_size_on_img2img_names_that_side(check, classes):
    prompt = {
        "3": {"class_type": "DeforumImg2Img", "inputs": {"width": 64, "height": 60}},
        "4": {"class_type": "SaveImage", "inputs": {"images": ["3", 0]}},
    }
    (entry,) = check.prompt_errors(prompt, classes)["3"]["errors"]
    assert entry["extra_info"]["input_name"] == "height"
    assert entry["message"] == "height: 60 is not a multiple of 8"


def test_the_middleware_answers_comfyuis_refusal_and_passes_good_prompts(check, classes):
    from aiohttp import web
    from aiohttp.test_utils import make_mocked_request

    middleware = check.prompt_check_middleware(lambda: classes)
    reached = []

    async def handler(request):
        reached.append(await request.json())
        return web.json_response({"prompt_id": "x"})

    def post(prompt):
        body = json.dumps({"prompt": prompt}).encode()
        request = make_mocked_request("POST", "/api/prompt", payload=None)
        request._read_bytes = body  # what aiohttp keeps once the body was read
        return asyncio.run(middleware(request, handler))

    refused = post(prompt_with_motion(translation_x="0:(sin(t)"))
    assert refused.status == 400 and reached == []
    answer = json.loads(refused.body)
    assert answer["error"]["type"] == "prompt_outputs_failed_validation"
    assert answer["node_errors"]["6"]["errors"][0]["extra_info"]["input_name"] == "translation_x"

    accepted = post(prompt_with_motion())
    assert accepted.status == 200 and len(reached) == 1


def stage_prompt(class_type, settings_type, animate_input, **changes):
    """Animate (an output node) with a stage node behind one of its optional inputs."""
    stage = {p.name: p.default for p in params_of(settings_type)}
    return {
        "7": {"class_type": class_type, "inputs": {**stage, **changes}},
        "5": {"class_type": "DeforumAnimate",
              "inputs": {animate_input: ["7", 0], "max_frames": 4}},
    }  # fmt: skip


NOISE_CONFIG = ("INT", {"default": 4, "min": 1, "max": 256,
                        "tooltip": "Perlin octaves, each twice as fine."})  # fmt: skip


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"perlin_octaves": 0}, {
            "type": "value_smaller_than_min", "message": "Value 0 smaller than min of 1",
            "details": "perlin_octaves",
            "extra_info": {"input_name": "perlin_octaves", "input_config": NOISE_CONFIG,
                           "received_value": 0}}),
        ({"perlin_octaves": "999"}, {  # converted as ComfyUI converts it, then compared
            "type": "value_bigger_than_max", "message": "Value 999 bigger than max of 256",
            "details": "perlin_octaves",
            "extra_info": {"input_name": "perlin_octaves", "input_config": NOISE_CONFIG,
                           "received_value": 999}}),
        ({"perlin_octaves": "many"}, {
            "type": "invalid_input_type",
            "message": "Failed to convert an input value to a INT value",
            "details": "perlin_octaves, many, invalid literal for int() with base 10: 'many'",
            "extra_info": {"input_name": "perlin_octaves", "input_config": NOISE_CONFIG,
                           "received_value": "many",
                           "exception_message": "invalid literal for int() with base 10: 'many'"}}),
        ({"noise_type": "pink"}, {
            "type": "value_not_in_list", "message": "Value not in list",
            "details": "noise_type: 'pink' not in ['gaussian', 'perlin']",
            "extra_info": {"input_name": "noise_type",
                           "input_config": (["gaussian", "perlin"], {
                               "default": "gaussian",
                               "tooltip": "Plain Gaussian, or Perlin-shaped."}),
                           "received_value": "pink"}}),
    ],
)  # fmt: skip
def test_a_bad_widget_behind_an_optional_input_is_refused_in_comfyuis_words(
    check, classes, changes, expected
):
    """The March-2024 server checks no node behind an optional input: the pack makes
    ComfyUI's own checks of its nodes' widgets, in ComfyUI's words."""
    errors = check.prompt_errors(stage_prompt("DeforumNoise", NoiseStage, "noise", **changes),
                                 classes)  # fmt: skip
    assert list(errors) == ["7"]
    assert errors["7"]["class_type"] == "DeforumNoise"
    assert errors["7"]["dependent_outputs"] == ["5"]
    assert errors["7"]["errors"] == [expected]


def test_every_bad_widget_of_a_node_is_listed_in_input_order(check, classes):
    prompt = stage_prompt("DeforumNoise", NoiseStage, "noise", perlin_persistence=2.0,
                          perlin_scale_x=0, noise_type="pink")  # fmt: skip
    entries = check.prompt_errors(prompt, classes)["7"]["errors"]
    assert [(e["type"], e["extra_info"]["input_name"]) for e in entries] == [
        ("value_not_in_list", "noise_type"),
        ("value_smaller_than_min", "perlin_scale_x"),
        ("value_bigger_than_max", "perlin_persistence"),
    ]


def test_linked_widgets_and_good_values_pass(check, classes):
    linked = stage_prompt("DeforumNoise", NoiseStage, "noise", perlin_octaves=["9", 0])
    assert check.prompt_errors(linked, classes) == {}
    extremes = stage_prompt("DeforumNoise", NoiseStage, "noise", perlin_octaves=256,
                            perlin_persistence=0)  # fmt: skip
    assert check.prompt_errors(extremes, classes) == {}


def test_inputs_a_nodes_own_check_takes_are_left_to_it(check, classes):
    """As in ComfyUI: Animate's max_frames is converted, then checked by Animate's check
    (its message, not ComfyUI's min), since its VALIDATE_INPUTS takes it."""
    as_text = prompt_with_motion()
    as_text["5"]["inputs"]["max_frames"] = "4"
    assert check.prompt_errors(as_text, classes) == {}
    none = prompt_with_motion()
    none["5"]["inputs"]["max_frames"] = 0
    (entry,) = check.prompt_errors(none, classes)["5"]["errors"]
    assert entry["type"] == "custom_validation_failed"
    assert entry["extra_info"]["input_name"] == "max_frames"
    assert entry["message"] == "max_frames: 0 is outside 1..100000"


@pytest.mark.parametrize(
    ("expression", "message", "position"),
    [
        ("{init_mask} &", "mask_expression: the expression ends where a mask is expected", 13),
        ("{init_mask} & {face}", "mask_expression: unknown mask {face}", 14),
        ("(!{video_mask}", "mask_expression: this bracket is not closed", 0),
    ],
)
def test_a_mask_expression_is_parsed_when_queued(check, classes, expression, message, position):
    prompt = stage_prompt("DeforumMask", MaskStage, "mask", mask_expression=expression)
    (entry,) = check.prompt_errors(prompt, classes)["7"]["errors"]
    assert entry["type"] == "custom_validation_failed"
    assert entry["extra_info"]["input_name"] == "mask_expression"
    assert entry["extra_info"]["position"] == position
    assert entry["message"] == message


def test_a_good_mask_expression_passes_though_its_masks_come_when_it_runs(check, classes):
    for expression in ("", "{init_mask} & !({video_mask} | {everywhere})"):
        prompt = stage_prompt("DeforumMask", MaskStage, "mask", mask_expression=expression)
        assert check.prompt_errors(prompt, classes) == {}


HEAVY = "0:(" + "+".join(f"sin(t/{k})" for k in range(1, 301)) + ")"  # 899 operations
PROMPT_MATH = " ".join("`" + "+".join(["t"] * 200) + "`" for _ in range(5))  # 995 operations


def render_prompt(prompts, max_frames, **animate):
    """Animate with Prompts, Motion 2D and Enhance linked, and a Video output after it."""
    return {
        "3": {"class_type": "DeforumPrompts",
              "inputs": {"prompts": prompts, "positive": "", "negative": ""}},
        "4": {"class_type": "DeforumMotion2D", "inputs": motion_inputs()},
        "6": {"class_type": "DeforumEnhance",
              "inputs": {p.name: p.default for p in params_of(EnhanceStage)}},
        "5": {"class_type": "DeforumAnimate",
              "inputs": {"prompts": ["3", 0], "motion": ["4", 0], "enhance": ["6", 0],
                         "max_frames": max_frames, **animate}},
    }  # fmt: skip


def test_heavy_prompts_are_refused_for_the_frames_a_render_would_diffuse(check, classes):
    """Deforum Prompts has no frame count of its own: Animate's decides what its math costs."""
    prompts = f"0: a lake {PROMPT_MATH}\n50000: a sea {PROMPT_MATH}"
    started = time.perf_counter()
    errors = check.prompt_errors(render_prompt(prompts, 100_000), classes)
    assert time.perf_counter() - started < 1.0
    assert list(errors) == ["3"]
    assert errors["3"]["class_type"] == "DeforumPrompts"
    assert errors["3"]["dependent_outputs"] == ["5"]
    (entry,) = errors["3"]["errors"]
    assert entry["extra_info"]["input_name"] == "prompts"
    assert re.fullmatch(  # the prompts' 200 million, and the motion's default schedules
        r"prompts: working out the schedules for 100000 frames would take about 20\d million "
        r"operations, more than the 25 million a render may spend",
        entry["message"],
    )
    assert entry["details"].startswith("fix: prompts alone costs 199.5 million")
    cadence = render_prompt(prompts, 100_000, diffusion_cadence=50)  # a 50th of them diffused
    assert check.prompt_errors(cadence, classes) == {}
    still = render_prompt(prompts, 100_000, diffusion_cadence=50, animation_mode="None")
    assert list(check.prompt_errors(still, classes)) == ["3"]  # mode None diffuses every frame


def test_the_schedules_of_animate_and_its_stages_are_added_up(check, classes):
    """Each text alone is within the budget; together they are not, and the refusal is
    filed on the node and input that costs most."""
    prompt = render_prompt("0: a lake", 10_000, strength_schedule=HEAVY)
    prompt["4"]["inputs"]["zoom"] = HEAVY.replace(")", ")+cos(t)", 1)  # the costliest
    prompt["6"]["inputs"]["contrast"] = HEAVY
    errors = check.prompt_errors(prompt, classes)
    assert list(errors) == ["4"]
    (entry,) = errors["4"]["errors"]
    assert entry["extra_info"]["input_name"] == "zoom"
    assert entry["message"].startswith("zoom: working out the schedules for 10000 frames")
    prompt["6"]["inputs"]["contrast"] = "0:(1)"
    assert check.prompt_errors(prompt, classes) == {}


def test_the_budget_waits_for_a_linked_frame_count_or_a_settings_file(check, classes):
    prompts = f"0: a lake {PROMPT_MATH}"
    linked = render_prompt(prompts, ["8", 0])
    assert check.prompt_errors(linked, classes) == {}
    from_file = render_prompt(prompts, 100_000, settings=["8", 0])  # the file's frame count
    assert check.prompt_errors(from_file, classes) == {}
    from_video = render_prompt(prompts, 100_000, animation_mode="Video Input")  # the video's
    assert check.prompt_errors(from_video, classes) == {}
    assert check.prompt_errors(render_prompt(prompts, 100_000), classes) != {}
