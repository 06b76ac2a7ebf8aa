"""The pack inside a real ComfyUI (each generation of tests/comfyui_harness.GENERATIONS: March 2024
and late 2025), driven over HTTP.

These tests check what a user sees: the pack imports without errors, its nodes are offered
with the documented widgets, a queued prompt runs and reports per-frame values and a plot, an
invalid schedule is rejected at queue time, and the example workflow runs as the frontend
would queue it.
"""

from __future__ import annotations

import importlib
import inspect
import io
import json
import math
from pathlib import Path
from typing import Any

import pytest
from comfyui_harness import (
    PACK_FOLDER_NAME,
    REPO_ROOT,
    ComfyServer,
    load_workflow,
    set_widgets,
    workflow_to_api_prompt,
)
from PIL import Image

from deforum_core.errors import DeforumError
from deforum_core.keyframes import parse_schedule
from deforum_core.params import params_of
from deforum_core.stages import NoiseStage
from deforum_core.stages.mask import MaskStage

pytestmark = pytest.mark.comfyui

# Widget order is a public contract: saved workflows store widget values by position.
WIDGET_ORDER = {
    "DeforumSchedule": ["schedule", "max_frames", "interpolation", "s_value", "fps", "name"],
    "DeforumPrompts": ["prompts", "positive", "negative"],
    # deprecated (replaced by Deforum Prompts), kept for the workflows saved with it
    "DeforumPromptSchedule": ["prompts", "max_frames", "positive", "negative", "s_value", "fps"],
}
SCHEDULE_WORKFLOW = REPO_ROOT / "workflows" / "deforum_schedules.json"
WORKFLOW_2D = REPO_ROOT / "workflows" / "deforum_2d.json"


def expected_tri_values(max_frames: int = 61) -> list[float]:
    """`0:(0), 30:(10), 60:(-10)` interpolated linearly."""
    return [10 * t / 30 if t <= 30 else 10 - 20 * (t - 30) / 30 for t in range(max_frames)]


def plot_size(pack: Any) -> tuple[int, int]:
    """(width, height) of the engine's schedule plot, read from its defaults."""
    plot = importlib.import_module("deforum_core.plot")
    parameters = inspect.signature(plot.plot_schedule).parameters
    return parameters["width"].default, parameters["height"].default


def schedule_prompt(
    schedule: str, max_frames: int, with_prompts: bool = True
) -> dict[str, dict[str, Any]]:
    """An API prompt: a DeforumSchedule whose plot feeds PreviewImage, and a prompt schedule."""
    prompt = {
        "1": {
            "class_type": "DeforumSchedule",
            "inputs": {
                "schedule": schedule,
                "max_frames": max_frames,
                "interpolation": "linear",
                "s_value": 0,
                "fps": 15.0,
                "name": "tri",
            },
        },
        "2": {"class_type": "PreviewImage", "inputs": {"images": ["1", 1]}},
        "3": {
            "class_type": "DeforumPromptSchedule",
            "inputs": {
                "prompts": '{"0": "a lake at sunrise", "30": "a lake at night --neg blurry"}',
                "max_frames": max_frames,
                "positive": "photo of",
                "negative": "text",
                "s_value": 0,
                "fps": 15.0,
            },
        },
    }
    if not with_prompts:
        del prompt["3"]
    return prompt


def fetch_preview(server: ComfyServer, ui_images: list[dict[str, str]]) -> Image.Image:
    """Download the single preview image a node reported, as the frontend's preview does."""
    assert len(ui_images) == 1, ui_images
    (image,) = ui_images
    data = server.client.view(image["filename"], image.get("subfolder", ""), image["type"])
    return Image.open(io.BytesIO(data))


def test_pack_imports_without_errors(comfyui_server: ComfyServer) -> None:
    log = comfyui_server.log_text()
    failures = [
        line for line in log.splitlines()
        if ("IMPORT FAILED" in line or "Cannot import" in line) and PACK_FOLDER_NAME in line
    ]  # fmt: skip
    assert failures == [], comfyui_server.log_tail()
    import_lines = [
        line for line in log.splitlines() if "seconds" in line and PACK_FOLDER_NAME in line
    ]
    assert import_lines, f"no import time reported for the pack:\n{log}"


def test_object_info_lists_every_node(
    comfyui_server: ComfyServer, object_info: dict, pack: Any
) -> None:
    for node_id, node_class in pack.NODE_CLASS_MAPPINGS.items():
        assert node_id in object_info, f"{node_id} missing from /object_info"
        info = object_info[node_id]
        assert info["display_name"] == pack.NODE_DISPLAY_NAME_MAPPINGS[node_id]
        assert info["category"] == node_class.CATEGORY
        declared = node_class.INPUT_TYPES()
        for section in ("required", "optional"):
            assert list(info["input"].get(section, {})) == list(declared.get(section, {}))
        assert info["output"] == list(node_class.RETURN_TYPES)


def server_code(server: ComfyServer) -> str:
    """The running ComfyUI's own server.py: what its /object_info sends is read there."""
    return (server.root / "server.py").read_text(encoding="utf-8")


def test_object_info_passes_on_search_aliases_and_deprecation_where_the_server_does(
    comfyui_server: ComfyServer, object_info: dict, pack: Any
) -> None:
    """Servers that read SEARCH_ALIASES and DEPRECATED off a node class send them as
    `search_aliases` (searched by the frontend's node search) and `deprecated` (hidden from
    search, badged); older ones send neither, and the pack loads there all the same."""
    code = server_code(comfyui_server)
    sends_aliases, sends_deprecated = "SEARCH_ALIASES" in code, "DEPRECATED" in code
    if comfyui_server.generation.name == "comfyui-2025":
        assert sends_deprecated  # 0.3.75 sends deprecated (search_aliases came later)
    for node_id, node_class in pack.NODE_CLASS_MAPPINGS.items():
        info = object_info[node_id]
        if sends_aliases:
            assert info["search_aliases"] == node_class.SEARCH_ALIASES, node_id
        else:
            assert "search_aliases" not in info, node_id
        deprecated = getattr(node_class, "DEPRECATED", False)
        if sends_deprecated and deprecated:
            assert info["deprecated"] is True, node_id
        else:
            assert not info.get("deprecated", False), node_id
    assert pack.NODE_CLASS_MAPPINGS["DeforumPromptSchedule"].DEPRECATED is True


@pytest.mark.parametrize("node_id", sorted(WIDGET_ORDER))
def test_widget_order_is_the_public_contract(object_info: dict, node_id: str) -> None:
    assert list(object_info[node_id]["input"]["required"]) == WIDGET_ORDER[node_id]
    # not output nodes: a bad input anywhere refuses the whole prompt (they never run alone);
    # their summaries come from /deforum/schedule while the text is typed
    assert object_info[node_id]["output_node"] is False


def test_queued_schedule_reports_values_and_plot(comfyui_server: ComfyServer, pack: Any) -> None:
    entry = comfyui_server.client.run_prompt(schedule_prompt("0:(0), 30:(10), 60:(-10)", 61))
    outputs = entry["outputs"]

    values = outputs["1"]["values"]
    assert len(values) == 61
    for frame, (got, want) in enumerate(zip(values, expected_tri_values(), strict=True)):
        assert math.isclose(got, want, abs_tol=1e-9), (frame, got, want)
    assert "3" not in outputs  # the prompt schedule feeds nothing here, so it does not run

    preview = fetch_preview(comfyui_server, outputs["2"]["images"])
    assert preview.size == plot_size(pack)
    image = outputs["2"]["images"][0]
    saved = (
        comfyui_server.output_dir.parent / image["type"] / image["subfolder"] / image["filename"]
    )
    assert saved.is_file()


def summary_request(prompt: dict[str, Any], node_id: str) -> dict[str, Any]:
    """What the page sends to /deforum/schedule for a schedule node of an API prompt (a
    Deforum Prompts has no frame count, seed or fps: the route's defaults stand in)."""
    inputs = dict(prompt[node_id]["inputs"])
    if "s_value" in inputs:
        inputs["seed"] = inputs.pop("s_value")
    if prompt[node_id]["class_type"] == "DeforumSchedule":
        return {"text": inputs.pop("schedule"), **inputs}
    return {"kind": "prompts", "text": inputs.pop("prompts"), **inputs}


def test_the_page_gets_summaries_as_the_nodes_would_give(comfyui_server: ComfyServer) -> None:
    client = comfyui_server.client
    prompt = schedule_prompt("0:(0), 30:(10), 60:(-10)", 61)
    prompt["1"]["inputs"]["name"] = "summarized"  # a prompt of its own, not served from cache
    ran = client.run_prompt(prompt)["outputs"]["1"]["values"]

    status, schedule = client.post_json("/deforum/schedule", summary_request(prompt, "1"))
    assert status == 200 and schedule == {"values": ran, "keys": [0, 30, 60]}
    status, prompts = client.post_json("/deforum/schedule", summary_request(prompt, "3"))
    assert status == 200 and prompts["prompts"] == [
        {"frame": 0, "positive": "photo of a lake at sunrise", "negative": "text"},
        {"frame": 30, "positive": "photo of a lake at night", "negative": "blurry text"},
    ]
    status, typo = client.post_json("/deforum/schedule", {"text": "0:(1,02)", "name": "zoom"})
    assert status == 200
    assert typo == {"error": {
        "message": "decimal comma: ',' is not a decimal separator", "position": 4,
        "hint": "use '.' as the decimal separator: write 1.02", "parameter": "zoom",
    }}  # fmt: skip
    status, heavy = client.post_json("/deforum/schedule", {
        "max_frames": 100_000,
        "text": "0:(" + "+".join(f"sin(t/{k})" for k in range(1, 301)) + ")",
    })  # fmt: skip
    assert status == 200
    assert "more than the 25 million a render may spend" in heavy["error"]["message"]
    assert client.post_json("/deforum/schedule", {"kind": "video"})[1]["error"]["parameter"] == (
        "kind"
    )


def only_error(body: dict[str, Any], node_id: str) -> dict[str, Any]:
    """The one error entry ComfyUI lists for a node of a refused prompt."""
    (error,) = body["node_errors"][node_id]["errors"]
    return error


def test_invalid_schedule_is_rejected_at_queue_time(comfyui_server: ComfyServer) -> None:
    client = comfyui_server.client
    history_before = client.get_json("/history")

    status, body = client.queue_prompt(schedule_prompt("0:(1,02)", 61, with_prompts=False))

    assert status == 400, body
    assert "prompt_id" not in body
    error = only_error(body, "1")
    assert error["extra_info"]["input_name"] == "schedule"
    assert error["message"] == "schedule: decimal comma: ',' is not a decimal separator"
    assert error["details"] == (
        "in '0:(1,02)' (position 4); fix: use '.' as the decimal separator: write 1.02"
    )
    assert client.get_json("/queue") == {"queue_running": [], "queue_pending": []}
    assert client.get_json("/history") == history_before


def test_an_invalid_schedule_refuses_the_whole_prompt(comfyui_server: ComfyServer) -> None:
    """With the prompt schedule beside it, nothing of the pack runs alone: HTTP 400."""
    client = comfyui_server.client
    status, body = client.queue_prompt(schedule_prompt("0:(1,02)", 61))

    assert status == 400, body
    assert list(body["node_errors"]) == ["1"]
    assert "decimal separator" in only_error(body, "1")["message"]
    assert client.get_json("/queue") == {"queue_running": [], "queue_pending": []}


def animate_prompt(
    prompts_inputs: dict[str, Any], prompts_class: str = "DeforumPromptSchedule"
) -> dict[str, Any]:
    """A motion preview fed by a prompts node, so that ComfyUI validates the prompts."""
    animate = {
        "prompts": ["3", 0], "init_image": ["4", 0], "animation_mode": "None", "max_frames": 2,
        "width": 64, "height": 64, "fps": 15.0, "base_seed": 1, "seed_behavior": "iter",
        "seed_iter_N": 1, "seed_schedule": "0:(s)", "strength_schedule": "0:(0.65)",
        "steps_schedule": "0:(25)", "cfg_schedule": "0:(7)", "diffusion_cadence": 1,
        "init_strength": 0.65, "run_name": "refused", "resume": False, "output_frames": False,
    }  # fmt: skip
    return {
        "3": {"class_type": prompts_class,
              "inputs": {name: prompts_inputs[name] for name in WIDGET_ORDER[prompts_class]}},
        "4": {"class_type": "EmptyImage",
              "inputs": {"width": 64, "height": 64, "batch_size": 1, "color": 0}},
        "5": {"class_type": "DeforumAnimate", "inputs": animate},
    }  # fmt: skip


@pytest.mark.parametrize("prompts_class", ["DeforumPrompts", "DeforumPromptSchedule"])
def test_bad_global_prompt_math_and_deep_json_are_refused_at_queue_time(
    comfyui_server: ComfyServer, prompts_class: str
) -> None:
    inputs = dict(schedule_prompt("0:(1)", 61)["3"]["inputs"])
    for change, expected in (
        ({"positive": "photo of `sin(t`"}, "positive: unclosed '('"),
        ({"negative": "`max_f *`"}, "negative: expression ends too early"),
        (
            {"prompts": '{"0": ' + "[" * 30_000 + "]" * 30_000 + "}"},
            "prompts: JSON nested more than 64 levels deep",
        ),
    ):
        prompt = animate_prompt({**inputs, **change}, prompts_class)
        status, body = comfyui_server.client.queue_prompt(prompt)
        assert status == 400, body
        assert list(body["node_errors"]) == ["3"], body
        error = only_error(body, "3")
        assert error["extra_info"]["input_name"] == next(iter(change))
        assert error["message"] == expected, error


def node_id_of(prompt: dict[str, dict[str, Any]], class_type: str) -> str:
    """The id of the one node of ``class_type`` in an API prompt."""
    (node_id,) = [k for k, node in prompt.items() if node["class_type"] == class_type]
    return node_id


def test_example_workflow_runs_as_the_frontend_queues_it(
    comfyui_server: ComfyServer, object_info: dict
) -> None:
    workflow = load_workflow(SCHEDULE_WORKFLOW)
    prompt = workflow_to_api_prompt(workflow, object_info)

    outputs = comfyui_server.client.run_prompt(prompt, workflow=workflow)["outputs"]

    values = outputs[node_id_of(prompt, "DeforumSchedule")]["values"]
    assert len(values) == 120
    assert values[0] == pytest.approx(1.0025)  # sin(0) = 0
    assert all(1.0005 - 1e-9 <= value <= 1.0045 + 1e-9 for value in values)
    assert len(outputs[node_id_of(prompt, "PreviewImage")]["images"]) == 1
    # The frontend rewrites multiline text with {a|b} "dynamic prompts" unless the input says
    # dynamicPrompts: False; Deforum's JSON prompts must arrive as written. The prompt
    # schedule feeds no output here, so it does not run: its summary is what the page shows.
    prompts_id = node_id_of(prompt, "DeforumPrompts")
    assert prompts_id not in outputs
    request = summary_request(prompt, prompts_id)
    assert comfyui_server.client.post_json("/deforum/schedule", request)[1]["prompts"][0] == {
        "frame": 0,
        "positive": "a lake by a mountain at sunrise",
        "negative": "",
    }


def test_workflow_file_is_ui_format() -> None:
    """The example is saved as the frontend saves workflows, not in the API format."""
    workflow = json.loads(Path(SCHEDULE_WORKFLOW).read_text(encoding="utf-8"))
    assert workflow["version"] == 0.4
    assert {"last_node_id", "last_link_id", "nodes", "links", "groups", "config", "extra"} <= set(
        workflow
    )
    for node in workflow["nodes"]:
        assert node["properties"]["Node name for S&R"] == node["type"]


def test_a_typo_in_a_linked_motion_is_one_refusal_naming_its_input(
    comfyui_server: ComfyServer,
) -> None:
    """Both servers refuse the prompt when it is queued, though the 2024 one does not check
    nodes behind optional inputs itself, with one entry, filed under the wrong input (ComfyUI
    alone files a VALIDATE_INPUTS failure under each of the node's nine schedules)."""
    prompts = dict(schedule_prompt("0:(1)", 61)["3"]["inputs"])
    prompt = animate_prompt(prompts)
    motion = {name: "0:(0)" for name in ("angle", "translation_x", "translation_y",
                                         "perspective_flip_theta", "perspective_flip_phi",
                                         "perspective_flip_gamma")}  # fmt: skip
    motion.update(zoom="0:(1,02)", transform_center_x="0:(0.5)", transform_center_y="0:(0.5)",
                  perspective_flip_fv="0:(53)", border="replicate", sampling="bicubic",
                  enable_perspective_flip=False)  # fmt: skip
    prompt["6"] = {"class_type": "DeforumMotion2D", "inputs": motion}
    prompt["5"]["inputs"].update(motion=["6", 0], animation_mode="2D", run_name="typo")
    status, body = comfyui_server.client.queue_prompt(prompt)
    assert status == 400, body
    assert list(body["node_errors"]) == ["6"]
    assert body["node_errors"]["6"]["dependent_outputs"] == ["5"]
    error = only_error(body, "6")
    assert error["extra_info"]["input_name"] == "zoom"
    assert error["extra_info"]["received_value"] == "0:(1,02)"
    assert error["message"].startswith("zoom: decimal comma")


def test_a_typo_in_a_shipped_workflows_animate_schedule_is_one_refusal(
    comfyui_server: ComfyServer, object_info: dict
) -> None:
    """The 2D example queued as the page queues it, with a decimal comma in Animate's
    strength: HTTP 400 with one entry, on Animate, under strength_schedule, in the pack's
    words (ComfyUI alone files Animate's check once under each of its schedules)."""
    workflow = load_workflow(WORKFLOW_2D)
    set_widgets(workflow, object_info, "DeforumAnimate", strength_schedule="0: (0,65)")
    prompt = workflow_to_api_prompt(workflow, object_info)
    with pytest.raises(DeforumError) as typo:
        parse_schedule("0: (0,65)", name="strength_schedule")

    status, body = comfyui_server.client.queue_prompt(prompt, workflow)

    assert status == 400, body
    animate = node_id_of(prompt, "DeforumAnimate")
    assert list(body["node_errors"]) == [animate]
    assert body["node_errors"][animate]["class_type"] == "DeforumAnimate"
    error = only_error(body, animate)
    assert error["extra_info"]["input_name"] == "strength_schedule"
    assert error["extra_info"]["received_value"] == "0: (0,65)"
    assert error["message"] == str(typo.value).splitlines()[0]
    assert error["message"] == "strength_schedule: decimal comma: ',' is not a decimal separator"
    fix = "fix: use '.' as the decimal separator: write 0.65"
    assert error["details"] == f"in '0: (0,65)' (position 5); {fix}"
    assert comfyui_server.client.get_json("/queue") == {"queue_running": [], "queue_pending": []}


@pytest.mark.parametrize(
    ("class_type", "socket", "change", "message"),
    [
        ("DeforumNoise", "noise", {"perlin_octaves": 999}, "Value 999 bigger than max of 256"),
        ("DeforumNoise", "noise", {"perlin_persistence": -1}, "Value -1.0 smaller than min of 0.0"),
        ("DeforumNoise", "noise", {"noise_type": "pink"}, "Value not in list"),
        ("DeforumMask", "mask", {"mask_expression": "{init_mask} &"},
         "mask_expression: the expression ends where a mask is expected"),
    ],
)  # fmt: skip
def test_a_bad_value_behind_an_optional_input_is_refused_when_queued(
    comfyui_server: ComfyServer, class_type: str, socket: str, change: dict, message: str
) -> None:
    """The 2024 server does not validate nodes reached through optional inputs (it queued
    these, and they failed when they ran): the pack checks its own nodes' widgets as ComfyUI
    would, and both servers refuse the prompt naming the node and the input."""
    settings = {"DeforumNoise": NoiseStage, "DeforumMask": MaskStage}[class_type]
    prompt = animate_prompt(dict(schedule_prompt("0:(1)", 61)["3"]["inputs"]), "DeforumPrompts")
    stage = {declared.name: declared.default for declared in params_of(settings)}
    prompt["7"] = {"class_type": class_type, "inputs": {**stage, **change}}
    prompt["5"]["inputs"].update({socket: ["7", 0], "run_name": "optional"})

    status, body = comfyui_server.client.queue_prompt(prompt)

    assert status == 400, body
    assert list(body["node_errors"]) == ["7"]
    assert body["node_errors"]["7"]["class_type"] == class_type
    assert body["node_errors"]["7"]["dependent_outputs"] == ["5"]
    error = only_error(body, "7")
    assert error["extra_info"]["input_name"] == next(iter(change))
    assert error["message"] == message
