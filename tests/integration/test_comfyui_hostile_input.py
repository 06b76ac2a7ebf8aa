"""A shared workflow is untrusted input: on both real ComfyUI servers, model paths outside
ComfyUI's folders are refused with one message that tells nothing about the file, and names
that are not plain names are refused by the node and input they belong to."""

from __future__ import annotations

import time
from typing import Any

import pytest
from comfyui_harness import ComfyServer

pytestmark = pytest.mark.comfyui


def execution_error(server: ComfyServer, prompt: dict[str, Any]) -> dict[str, Any]:
    """Queue a prompt that passes validation and fails while running; its error report."""
    status, body = server.client.queue_prompt(prompt)
    assert status == 200, body
    entry = server.client.wait_for_history(body["prompt_id"])
    errors = [data for kind, data in entry["status"]["messages"] if kind == "execution_error"]
    assert errors, entry["status"]
    return errors[0]


def depth_prompt(path: str) -> dict[str, Any]:
    loader = {"model_type": "Depth-Anything-V2-Small", "model_file": "(official file name)",
              "path": path, "input_size": 0}  # fmt: skip
    return {
        "1": {"class_type": "LoadImage", "inputs": {"image": "example.png"}},
        "2": {"class_type": "DeforumDepthModel", "inputs": loader},
        "3": {"class_type": "DeforumEstimateDepth",
              "inputs": {"image": ["1", 0], "depth_model": ["2", 0], "normalization": "min-max"}},
        "4": {"class_type": "PreviewImage", "inputs": {"images": ["3", 0]}},
    }  # fmt: skip


@pytest.fixture(scope="module")
def example_image(comfyui_server: ComfyServer) -> None:
    import cv2
    import numpy as np

    cv2.imwrite(str(comfyui_server.input_dir / "example.png"), np.zeros((32, 32, 3), np.uint8))


def test_outside_model_paths_are_refused_alike(
    comfyui_server: ComfyServer, example_image: None, tmp_path
) -> None:
    secret = tmp_path / "secret.pth"
    secret.write_bytes(b"SECRET CONTENT")
    reports = {
        path: execution_error(comfyui_server, depth_prompt(path))
        for path in (str(secret), str(tmp_path / "absent.pth"), "/etc/hostname", "../../x.pth")
    }
    messages = {
        path: report["exception_message"].replace(repr(path), "<path>")
        for path, report in reports.items()
    }
    assert len(set(messages.values())) == 1, messages
    (message,) = set(messages.values())
    assert message.startswith("path: <path> is not in ComfyUI's model or input folders")
    assert all(report["node_type"] == "DeforumDepthModel" for report in reports.values())
    assert "SECRET" not in str(reports)


def test_names_with_control_characters_are_refused_by_their_input(
    comfyui_server: ComfyServer, example_image: None
) -> None:
    prompts = {
        "a": {"class_type": "DeforumPromptSchedule",
              "inputs": {"prompts": "0: a lake", "max_frames": 2, "positive": "",
                         "negative": "", "s_value": 0, "fps": 15.0}},
        "b": {"class_type": "LoadImage", "inputs": {"image": "example.png"}},
        "c": {"class_type": "DeforumAnimate",
              "inputs": {"prompts": ["a", 0], "init_image": ["b", 0], "animation_mode": "None",
                         "max_frames": 2, "width": 64, "height": 64, "fps": 15.0,
                         "base_seed": 1, "seed_behavior": "iter", "seed_iter_N": 1,
                         "seed_schedule": "0:(s)", "strength_schedule": "0:(0.65)",
                         "steps_schedule": "0:(25)", "cfg_schedule": "0:(7)",
                         "diffusion_cadence": 1, "init_strength": 0.65, "run_name": "x\n",
                         "resume": False, "output_frames": False}},
    }  # fmt: skip
    report = execution_error(comfyui_server, prompts)
    assert report["node_type"] == "DeforumAnimate"
    assert report["exception_message"].startswith(
        "run_name: 'x\\n' contains the control character '\\n'"
    )
    assert not list((comfyui_server.output_dir / "deforum").glob("x*"))


def heavy_render(prompts: str, max_frames: int) -> dict[str, Any]:
    """Deforum Prompts feeding a motion preview of max_frames frames."""
    animate = {
        "prompts": ["a", 0], "init_image": ["b", 0], "animation_mode": "2D",
        "max_frames": max_frames, "width": 64, "height": 64, "fps": 15.0, "base_seed": 1,
        "seed_behavior": "iter", "seed_iter_N": 1, "seed_schedule": "0:(s)",
        "strength_schedule": "0:(0.65)", "steps_schedule": "0:(25)", "cfg_schedule": "0:(7)",
        "diffusion_cadence": 1, "init_strength": 0.65, "run_name": "heavy", "resume": False,
        "output_frames": False,
    }  # fmt: skip
    return {
        "a": {"class_type": "DeforumPrompts",
              "inputs": {"prompts": prompts, "positive": "", "negative": ""}},
        "b": {"class_type": "EmptyImage",
              "inputs": {"width": 64, "height": 64, "batch_size": 1, "color": 0}},
        "c": {"class_type": "DeforumAnimate", "inputs": animate},
    }  # fmt: skip


def test_a_render_whose_prompt_math_is_too_heavy_is_refused_when_queued(
    comfyui_server: ComfyServer,
) -> None:
    """A legal 64 KB prompt schedule over 100,000 frames held the queue for about 45 minutes:
    Deforum Prompts has no frame count, so Animate's is used to cost it when it is queued."""
    math = " ".join("`" + "+".join(["t"] * 200) + "`" for _ in range(5))  # 995 operations
    prompts = "\n".join(f"{frame}: a lake {math}" for frame in range(0, 100_000, 3_125))
    assert 60_000 < len(prompts) <= 65_536  # as long as a prompt schedule may be
    started = time.perf_counter()

    status, body = comfyui_server.client.queue_prompt(heavy_render(prompts, 100_000))

    assert time.perf_counter() - started < 3.0
    assert status == 400, body
    assert list(body["node_errors"]) == ["a"]
    assert body["node_errors"]["a"]["dependent_outputs"] == ["c"]
    (error,) = body["node_errors"]["a"]["errors"]
    assert error["extra_info"]["input_name"] == "prompts"
    assert error["message"].startswith(
        "prompts: working out the schedules for 100000 frames would take about "
    )
    assert error["message"].endswith("more than the 25 million a render may spend")
    assert comfyui_server.client.get_json("/queue") == {"queue_running": [], "queue_pending": []}
