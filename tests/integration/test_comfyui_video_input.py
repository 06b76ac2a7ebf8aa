"""Video Input mode inside both real ComfyUIs: the example workflow, with a clip uploaded as the
frontend uploads it and the tiny checkpoint, renders every other frame of a 24-frame clip into
12 PNGs and an MP4 of 12 frames, and its headless twin renders the same frames."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import av
import pytest
from clips import write_clip
from comfyui_harness import (
    REPO_ROOT,
    ComfyServer,
    load_workflow,
    node_of,
    set_widgets,
    widget_layout,
    workflow_to_api_prompt,
)
from tiny_models import TINY_CHECKPOINT

pytestmark = pytest.mark.comfyui

WORKFLOW = REPO_ROOT / "workflows" / "deforum_video_input.json"
CLIP = "deforum_clip.mp4"  # the name the workflow's Deforum Video Input names
SMALL = {"width": 64, "height": 64, "steps_schedule": "0:(2)"}


def test_the_video_input_workflow_renders_every_other_frame_into_pngs_and_an_mp4(
    comfyui_server: ComfyServer, object_info: dict, checkpoint: str, tmp_path: Path
) -> None:
    clip = write_clip(tmp_path / CLIP, frames=24, size=(64, 64), codec="libx264")
    assert comfyui_server.client.upload(CLIP, clip.read_bytes(), "video/mp4") == CLIP
    workflow = load_workflow(WORKFLOW)
    set_widgets(workflow, object_info, "CheckpointLoaderSimple", ckpt_name=TINY_CHECKPOINT)
    set_widgets(workflow, object_info, "DeforumAnimate", run_name="video_input", **SMALL)
    (video_node,) = [n for n in workflow["nodes"]
                     if n["type"] == "DeforumVideoInput" and n["mode"] == 0]  # fmt: skip
    names = [slot.name for slot in widget_layout(object_info["DeforumVideoInput"])]
    assert names == ["video", "extract_nth_frame", "extract_from_frame", "extract_to_frame"]
    video_node["widgets_values"][names.index("extract_nth_frame")] = 2
    muted = [n["type"] for n in workflow["nodes"] if n["mode"] == 2]
    assert muted == ["DeforumVideoInput", "DeforumMask"]  # the mask option, off as shipped

    prompt = workflow_to_api_prompt(workflow, object_info)
    outputs = comfyui_server.client.run_prompt(prompt, workflow, timeout_s=240)["outputs"]

    video_ui = outputs[str(video_node["id"])]
    assert video_ui["report"] == [f"{CLIP}: 12 frames selected, 64x64, 12 fps"]
    (run_dir,) = outputs[str(node_of(workflow, "DeforumAnimate")["id"])]["run_dir"]
    folder = comfyui_server.output_dir / run_dir
    assert len(list(folder.glob("frame_*.png"))) == 12
    with av.open(str(folder / "deforum.mp4")) as container:
        assert sum(1 for _ in container.decode(video=0)) == 12
    record = json.loads((folder / "settings.json").read_text(encoding="utf-8"))
    assert record["animation_mode"] == "Video Input" and record["max_frames"] == 12


def test_the_headless_twin_renders_the_clip_with_the_command_line(tmp_path: Path) -> None:
    from tiny_models import tiny_sd_pipeline

    (tmp_path / "input").mkdir()
    write_clip(tmp_path / "input" / CLIP, frames=24, size=(64, 64), codec="libx264")
    tiny_sd_pipeline(tmp_path / "scratch").save_pretrained(tmp_path / "tiny-sd")
    twin = json.loads((REPO_ROOT / "workflows" / "headless" / "deforum_video_input.json")
                      .read_text(encoding="utf-8"))  # fmt: skip
    for node in twin.values():
        if node["class_type"] == "DeforumDiffusersLoader":
            node["inputs"]["path"] = str(tmp_path / "tiny-sd")
        if node["class_type"] == "DeforumAnimate":
            node["inputs"].update(SMALL)
        if node["class_type"] == "DeforumVideoInput":
            node["inputs"]["extract_nth_frame"] = 2
    path = tmp_path / "twin.json"
    path.write_text(json.dumps(twin), encoding="utf-8")
    command = Path(sys.executable).with_name("deforum-comfy")
    result = subprocess.run(
        [str(command), "render", str(path), "--out", str(tmp_path / "out"), "--input",
         str(tmp_path / "input")], capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    (folder,) = (tmp_path / "out" / "deforum").iterdir()
    assert len(list(folder.glob("frame_*.png"))) == 12
    assert (folder / "deforum.mp4").is_file()


def masked_prompt(run_name: str, seed: int, overlay: bool) -> dict:
    """Video Input with Deforum Mask (the left half of half_mask.png kept) in an API prompt."""
    animate = {
        "prompts": ["12", 0], "diffuser": ["11", 0], "video": ["13", 0], "mask": ["15", 0],
        "animation_mode": "Video Input", "max_frames": 1, "width": 64, "height": 64,
        "fps": 24.0, "base_seed": seed, "seed_behavior": "iter", "seed_iter_N": 1,
        "seed_schedule": "0:(s)", "strength_schedule": "0:(0.2)", "steps_schedule": "0:(2)",
        "cfg_schedule": "0:(7)", "diffusion_cadence": 1, "init_strength": 0.65,
        "run_name": run_name, "resume": False, "output_frames": False,
    }  # fmt: skip
    return {
        "10": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": TINY_CHECKPOINT}},
        "11": {"class_type": "DeforumDiffuser", "inputs": {
            "model": ["10", 0], "clip": ["10", 1], "vae": ["10", 2],
            "sampler_name": "euler", "scheduler": "normal"}},
        "12": {"class_type": "DeforumPromptSchedule", "inputs": {
            "prompts": "0: a river", "max_frames": 6, "positive": "", "negative": "",
            "s_value": 0, "fps": 24.0}},
        "13": {"class_type": "DeforumVideoInput", "inputs": {
            "video": "masked_clip.mov", "extract_nth_frame": 1, "extract_from_frame": 0,
            "extract_to_frame": -1}},
        "14": {"class_type": "LoadImage", "inputs": {"image": "half_mask.png"}},
        "15": {"class_type": "DeforumMask", "inputs": {
            "image": ["14", 0], "invert_mask": False, "mask_brightness_adjust": 1.0,
            "mask_contrast_adjust": 1.0, "overlay_mask": overlay, "mask_overlay_blur": 4,
            "use_noise_mask": False, "mask_expression": ""}},
        "16": {"class_type": "DeforumAnimate", "inputs": animate},
    }  # fmt: skip


def test_a_masked_video_render_keeps_the_white_area_exact_and_changes_the_black(
    comfyui_server: ComfyServer, checkpoint: str, tmp_path: Path
) -> None:
    import cv2
    import numpy as np
    import torch
    from clips import clip_frames

    client = comfyui_server.client
    clip = write_clip(tmp_path / "masked_clip.mov", frames=6, size=(64, 64), codec="png")
    assert client.upload("masked_clip.mov", clip.read_bytes(), "video/quicktime")
    mask = np.zeros((64, 64, 3), np.uint8)
    mask[:, :32] = 255  # the left half is kept
    assert client.upload("half_mask.png", cv2.imencode(".png", mask)[1].tobytes())

    outputs = client.run_prompt(masked_prompt("masked_video", 4, True), timeout_s=240)
    (run_dir,) = outputs["outputs"]["16"]["run_dir"]
    paths = sorted((comfyui_server.output_dir / run_dir).glob("frame_*.png"))
    frames = [cv2.imread(str(path))[..., ::-1].astype(int) for path in paths]
    drawn = (clip_frames(6, (64, 64)) * 255).round().to(torch.uint8).numpy().astype(int)
    assert len(frames) == 6
    for index, pixels in enumerate(frames):
        assert np.array_equal(pixels[:, :24], drawn[index][:, :24])  # kept, pixel-exact
        assert np.abs(pixels[:, 40:] - drawn[index][:, 40:]).mean() > 2  # diffused
