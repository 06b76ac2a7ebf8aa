"""Interpolation mode inside both real ComfyUIs: the example workflow with the tiny checkpoint
renders a 7-frame morph between its three prompts into 7 PNGs and an MP4 of 7 frames, a key
frame is the picture its prompt alone gives with its seed, and the headless twin renders the
same morph with the command line."""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import av
import cv2
import numpy as np
import pytest
from comfyui_harness import (
    REPO_ROOT,
    ComfyServer,
    load_workflow,
    node_of,
    set_widgets,
    widget_values,
    workflow_to_api_prompt,
)
from tiny_models import TINY_CHECKPOINT

pytestmark = pytest.mark.comfyui

WORKFLOW = REPO_ROOT / "workflows" / "deforum_interpolation.json"
TWIN = REPO_ROOT / "workflows" / "headless" / "deforum_interpolation.json"
SMALL = {"width": 64, "height": 64, "steps_schedule": "0:(2)"}
SEVEN = {"interpolate_key_frames": False, "interpolate_x_frames": 2}  # 3 prompts: 2 x 3 + 1


def pixels(path: Path) -> np.ndarray:
    return cv2.imread(str(path))[..., ::-1].astype(int)


def test_the_interpolation_workflow_renders_7_frames_into_pngs_and_an_mp4(
    comfyui_server: ComfyServer, object_info: dict, checkpoint: str
) -> None:
    workflow = load_workflow(WORKFLOW)
    set_widgets(workflow, object_info, "CheckpointLoaderSimple", ckpt_name=TINY_CHECKPOINT)
    set_widgets(workflow, object_info, "DeforumAnimate", run_name="interpolation", **SMALL)
    set_widgets(workflow, object_info, "DeforumInterpolation", **SEVEN)
    animate = widget_values(workflow, object_info, "DeforumAnimate")
    assert animate["animation_mode"] == "Interpolation"

    prompt = workflow_to_api_prompt(workflow, object_info)
    outputs = comfyui_server.client.run_prompt(prompt, workflow, timeout_s=240)["outputs"]

    (run_dir,) = outputs[str(node_of(workflow, "DeforumAnimate")["id"])]["run_dir"]
    folder = comfyui_server.output_dir / run_dir
    frames = sorted(folder.glob("frame_*.png"))
    assert len(frames) == 7
    with av.open(str(folder / "deforum.mp4")) as container:
        assert sum(1 for _ in container.decode(video=0)) == 7
    record = json.loads((folder / "settings.json").read_text(encoding="utf-8"))
    assert record["animation_mode"] == "Interpolation" and record["max_frames"] == 7
    assert record["stages"]["interpolation"] == {**SEVEN, "conditioning": "spherical",
                                                 "interpolate_noise": True}  # fmt: skip
    pictures = [pixels(path) for path in frames]
    steps = [np.abs(a - b).mean() for a, b in itertools.pairwise(pictures)]
    assert min(steps) > 0  # every frame moves on

    # key frame 3 (the second prompt, seed 1234 + 3 by iter) is that prompt's own picture
    key_prompt = prompt_of_one_still(prompt, frame=3, key_text=second_prompt(workflow))
    still = comfyui_server.client.run_prompt(key_prompt, timeout_s=240)["outputs"]
    (still_dir,) = still[str(node_of(workflow, "DeforumAnimate")["id"])]["run_dir"]
    (alone,) = sorted((comfyui_server.output_dir / still_dir).glob("frame_*.png"))
    assert np.array_equal(pixels(alone), pictures[3])


def second_prompt(workflow: dict[str, Any]) -> str:
    text = node_of(workflow, "DeforumPrompts")["widgets_values"][0]
    return text.splitlines()[1].split(":", 1)[1].strip()


def prompt_of_one_still(prompt: dict[str, Any], *, frame: int, key_text: str) -> dict[str, Any]:
    """The queued prompt as a one-frame still (mode None) of `key_text` at the key's seed."""
    still = json.loads(json.dumps(prompt))
    for node in still.values():
        inputs = node["inputs"]
        if node["class_type"] == "DeforumPrompts":
            inputs["prompts"] = f"0: {key_text}"
        if node["class_type"] == "DeforumAnimate":
            inputs.update(animation_mode="None", max_frames=1, run_name="interpolation_key",
                          base_seed=inputs["base_seed"] + frame)  # fmt: skip
            inputs.pop("interpolation")
    return {key: node for key, node in still.items() if node["class_type"] != "DeforumVideo"
            and node["class_type"] != "DeforumInterpolation"}  # fmt: skip


def test_the_workflow_matches_its_headless_twin(object_info: dict) -> None:
    """Only the model loader (and so the diffuser) differs between the two."""
    ours: dict[str, list[dict]] = {}
    for node in workflow_to_api_prompt(load_workflow(WORKFLOW), object_info).values():
        values = {k: v for k, v in node["inputs"].items() if not isinstance(v, list)}
        ours.setdefault(node["class_type"], []).append(values)
    twin = json.loads(TWIN.read_text(encoding="utf-8"))
    for node in twin.values():
        if node["class_type"] != "DeforumDiffusersLoader":
            values = {k: v for k, v in node["inputs"].items() if not isinstance(v, list)}
            assert ours[node["class_type"]] == [values], node["class_type"]
    assert ours["DeforumDiffuser"] == [{"sampler_name": "euler_ancestral", "scheduler": "normal"}]


def test_the_headless_twin_renders_the_morph_with_the_command_line(tmp_path: Path) -> None:
    from tiny_models import tiny_sd_pipeline

    tiny_sd_pipeline(tmp_path / "scratch").save_pretrained(tmp_path / "tiny-sd")
    twin = json.loads(TWIN.read_text(encoding="utf-8"))
    for node in twin.values():
        if node["class_type"] == "DeforumDiffusersLoader":
            node["inputs"]["path"] = str(tmp_path / "tiny-sd")
        if node["class_type"] == "DeforumAnimate":
            node["inputs"].update(SMALL)
        if node["class_type"] == "DeforumInterpolation":
            node["inputs"].update(SEVEN)
    path = tmp_path / "twin.json"
    path.write_text(json.dumps(twin), encoding="utf-8")
    command = Path(sys.executable).with_name("deforum-comfy")
    result = subprocess.run(
        [str(command), "render", str(path), "--out", str(tmp_path / "out")],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    (folder,) = (tmp_path / "out" / "deforum").iterdir()
    assert len(list(folder.glob("frame_*.png"))) == 7
    with av.open(str(folder / "deforum.mp4")) as container:
        assert sum(1 for _ in container.decode(video=0)) == 7
