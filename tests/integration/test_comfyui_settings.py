"""Deforum settings files inside both real ComfyUIs (March 2024 and late 2025): a file uploaded
as the frontend uploads it renders through Deforum Load Settings as `deforum-comfy run`
renders it, and the example workflow renders with the tiny checkpoint and the file's sampler,
then exports its settings."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
from comfyui_harness import (
    REPO_ROOT,
    ComfyServer,
    load_workflow,
    node_of,
    set_widgets,
    workflow_to_api_prompt,
)
from settings_pictures import picture_bytes, write_pictures
from tiny_models import TINY_CHECKPOINT

from deforum_app.cli import main

pytestmark = pytest.mark.comfyui

FILES = REPO_ROOT / "tests" / "settings_files"
WORKFLOW = REPO_ROOT / "workflows" / "deforum_settings_file.json"
FRAMES, SIZE = 6, 64


def frame_bytes(folder: Path) -> list[bytes]:
    return [path.read_bytes() for path in sorted(folder.glob("frame_*.png"))]


def preview_prompt(settings_file: str, run_name: str) -> dict[str, Any]:
    """Load Settings into an Animate without a diffuser: the file's motion preview. Animate's
    own widgets are left at defaults, as the settings replace them."""
    load = {"settings_file": settings_file, "settings_text": "", "max_frames": FRAMES,
            "width": SIZE, "height": SIZE, "use_file_sampler": True}  # fmt: skip
    animate = {
        "prompts": ["201", 1], "settings": ["201", 0], "animation_mode": "2D", "max_frames": 120,
        "width": 512, "height": 512, "fps": 15.0, "base_seed": 1, "seed_behavior": "iter",
        "seed_iter_N": 1, "seed_schedule": "0:(s)", "strength_schedule": "0:(0.65)",
        "steps_schedule": "0:(25)", "cfg_schedule": "0:(7)", "diffusion_cadence": 1,
        "init_strength": 0.65, "run_name": run_name, "resume": False, "output_frames": False,
    }  # fmt: skip
    return {
        "201": {"class_type": "DeforumLoadSettings", "inputs": load},
        "202": {"class_type": "DeforumAnimate", "inputs": animate},
    }


def test_an_uploaded_settings_file_renders_the_motion_preview_the_command_line_renders(
    comfyui_server: ComfyServer, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    client = comfyui_server.client
    source = FILES / "A_3d_v09.txt"
    stored = client.upload("deforum_settings_3d.txt", source.read_bytes(), "text/plain")
    palette = picture_bytes()["palette.png"]  # the file's colour image
    assert client.upload("palette.png", palette) == "palette.png"
    assert (
        stored
        in client.object_info()["DeforumLoadSettings"]["input"]["required"]["settings_file"][0]
    )

    entry = client.run_prompt(preview_prompt(stored, "from_settings"), timeout_s=180)

    report = entry["outputs"]["201"]["report"][0]
    assert "mapped            sampler: 'DPM++ 2M Karras'" in report
    assert "use_depth_warping: off: flat depth, no depth model needed" in report
    (run_dir,) = entry["outputs"]["202"]["run_dir"]
    folder = comfyui_server.output_dir / run_dir
    served = frame_bytes(folder)
    assert len(served) == FRAMES
    assert cv2.imdecode(np.frombuffer(served[0], np.uint8), cv2.IMREAD_COLOR).shape == (
        SIZE, SIZE, 3,
    )  # fmt: skip
    record = json.loads((folder / "settings.json").read_text(encoding="utf-8"))
    assert record["animation_mode"] == "3D" and record["base_seed"] == 5  # the file's
    assert record["stages"]["depth_model"] == {"type": "FlatDepth"}

    inputs = write_pictures(tmp_path / "input")
    quick_look = ["--max-frames", str(FRAMES), "--size", f"{SIZE}x{SIZE}"]
    folders = ["--input", str(inputs), "--out", str(tmp_path / "cli")]
    code = main(["run", str(source), "--preview", *quick_look, *folders])
    assert code == 0, capsys.readouterr().err
    (cli_folder,) = (tmp_path / "cli" / "deforum").iterdir()
    assert served == frame_bytes(cli_folder)  # the same render, in ComfyUI and from the CLI


def test_a_settings_file_that_is_not_one_is_refused_with_its_reason(
    comfyui_server: ComfyServer,
) -> None:
    prompt = preview_prompt("none", "refused")
    prompt["201"]["inputs"]["settings_text"] = '{"animation_mode": "Orbit"}'
    status, body = comfyui_server.client.queue_prompt(prompt)
    assert status == 400
    message = json.dumps(body["node_errors"]["201"])
    assert "unknown animation_mode 'Orbit'" in message


def test_the_example_workflow_renders_with_the_checkpoint_and_the_file_sampler(
    comfyui_server: ComfyServer, object_info: dict, checkpoint: str
) -> None:
    workflow = load_workflow(WORKFLOW)
    text = json.loads(node_of(workflow, "DeforumLoadSettings")["widgets_values"][1])
    text.update(steps=2, sampler="DPM++ 2M Karras")
    set_widgets(workflow, object_info, "CheckpointLoaderSimple", ckpt_name=TINY_CHECKPOINT)
    set_widgets(workflow, object_info, "DeforumLoadSettings", settings_text=json.dumps(text),
                max_frames=3, width=SIZE, height=SIZE)  # fmt: skip
    prompt = workflow_to_api_prompt(workflow, object_info)

    outputs = comfyui_server.client.run_prompt(prompt, workflow, timeout_s=180)["outputs"]

    animate_ui = outputs[str(node_of(workflow, "DeforumAnimate")["id"])]
    folder = comfyui_server.output_dir / animate_ui["run_dir"][0]
    assert len(frame_bytes(folder)) == 3
    record = json.loads((folder / "settings.json").read_text(encoding="utf-8"))
    diffuser = record["diffuser"]
    assert (diffuser["backend"], diffuser["sampler"], diffuser["scheduler"]) == (
        "comfyui", "dpmpp_2m", "karras",
    )  # fmt: skip
    assert (record["width"], record["steps_schedule"], record["diffusion_cadence"]) == (
        SIZE, "0:(2)", 2,
    )  # fmt: skip
    exported = json.loads((folder / "deforum_settings.txt").read_text(encoding="utf-8"))
    assert (exported["sampler_name"], exported["scheduler"]) == ("dpmpp_2m", "karras")
    assert exported["max_frames"] == 3
    export_ui = outputs[str(node_of(workflow, "DeforumExportSettings")["id"])]
    assert export_ui["report"][0].startswith("saved deforum_settings.txt in ")
