"""The queue-time prompt check: one entry per wrong node, under the input that is wrong."""

import asyncio
import json

import pytest

from deforum_core.params import params_of
from deforum_core.stages import Motion2DStage


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
