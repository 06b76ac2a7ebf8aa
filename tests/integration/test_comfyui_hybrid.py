"""Hybrid video inside both real ComfyUIs: workflows/deforum_hybrid.json, with a clip uploaded as
the frontend uploads it and the tiny checkpoint, restyles an 8-frame clip in 2D mode into 8 PNGs
and an MP4 of 8 frames (the frame count follows the video, not Animate's max_frames), with the
hybrid video and optical flow stages recorded in settings.json; the UI workflow and its headless
twin differ only in the model loader, and the twin renders the same clip with the command line.
"""

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
    comparable_links,
    load_workflow,
    node_of,
    set_widgets,
    settings_by_type,
    widget_values,
    workflow_to_api_prompt,
)
from tiny_models import TINY_CHECKPOINT

pytestmark = pytest.mark.comfyui

WORKFLOW = REPO_ROOT / "workflows" / "deforum_hybrid.json"
TWIN = REPO_ROOT / "workflows" / "headless" / "deforum_hybrid.json"
CLIP = "deforum_clip.mp4"  # the name the workflow's Deforum Video Input names
FRAMES = 8
SMALL = {"width": 64, "height": 64, "steps_schedule": "0:(2)"}


def test_the_hybrid_workflow_restyles_the_clip_into_pngs_and_an_mp4(
    comfyui_server: ComfyServer, object_info: dict, checkpoint: str, tmp_path: Path
) -> None:
    clip = write_clip(tmp_path / CLIP, frames=FRAMES, size=(64, 64), codec="libx264")
    assert comfyui_server.client.upload(CLIP, clip.read_bytes(), "video/mp4") == CLIP
    workflow = load_workflow(WORKFLOW)
    set_widgets(workflow, object_info, "CheckpointLoaderSimple", ckpt_name=TINY_CHECKPOINT)
    set_widgets(workflow, object_info, "DeforumAnimate", run_name="hybrid", **SMALL)
    animate = widget_values(workflow, object_info, "DeforumAnimate")
    assert animate["animation_mode"] == "2D" and animate["diffusion_cadence"] == 2
    assert animate["max_frames"] != FRAMES  # the clip decides the length
    hybrid = widget_values(workflow, object_info, "DeforumHybridVideo")
    flow = widget_values(workflow, object_info, "DeforumOpticalFlow")
    assert hybrid["composite"] == "Normal" and hybrid["motion"] == "Optical Flow"
    assert flow["optical_flow_cadence"] == "DIS Medium"

    prompt = workflow_to_api_prompt(workflow, object_info)
    outputs = comfyui_server.client.run_prompt(prompt, workflow, timeout_s=240)["outputs"]

    video_ui = outputs[str(node_of(workflow, "DeforumVideoInput")["id"])]
    assert video_ui["report"] == [f"{CLIP}: {FRAMES} frames selected, 64x64, 24 fps"]
    (run_dir,) = outputs[str(node_of(workflow, "DeforumAnimate")["id"])]["run_dir"]
    folder = comfyui_server.output_dir / run_dir
    assert len(list(folder.glob("frame_*.png"))) == FRAMES
    with av.open(str(folder / "deforum.mp4")) as container:
        assert sum(1 for _ in container.decode(video=0)) == FRAMES
    record = json.loads((folder / "settings.json").read_text(encoding="utf-8"))
    assert record["animation_mode"] == "2D" and record["max_frames"] == FRAMES
    stages = record["stages"]
    recorded_video = stages["hybrid"].pop("video")
    assert stages["hybrid"] == hybrid
    assert recorded_video["file"] == CLIP and recorded_video["frames"] == FRAMES
    assert stages["optical_flow"] == flow
    assert stages["color_coherence"]["color_coherence"] == "Video Input"


def test_the_workflow_matches_its_headless_twin(object_info: dict) -> None:
    """The twin renders what the UI workflow renders: only the model loader (and so the
    diffuser) differs, every other node has the same settings and the same links."""
    prompt = workflow_to_api_prompt(load_workflow(WORKFLOW), object_info)
    twin = json.loads(TWIN.read_text(encoding="utf-8"))
    ours, theirs = settings_by_type(prompt), settings_by_type(twin)

    assert set(ours) - set(theirs) == {"CheckpointLoaderSimple", "DeforumDiffuser"}
    assert set(theirs) - set(ours) == {"DeforumDiffusersLoader"}
    for node_type, settings in theirs.items():
        if node_type != "DeforumDiffusersLoader":
            assert ours[node_type] == settings, node_type
    (loader,) = theirs["DeforumDiffusersLoader"]
    assert loader["path"] == "models/stable-diffusion-v1-5" and loader["sampler"] == "euler_a"
    assert ours["DeforumDiffuser"] == [{"sampler_name": "euler_ancestral", "scheduler": "normal"}]

    ui_links, twin_links = comparable_links(prompt, twin)
    assert twin_links == ui_links
    assert ("DeforumHybridVideo", "video", "DeforumVideoInput") in ui_links
    assert ("DeforumAnimate", "optical_flow", "DeforumOpticalFlow") in ui_links


def test_the_headless_twin_restyles_the_clip_with_the_command_line(tmp_path: Path) -> None:
    from tiny_models import tiny_sd_pipeline

    (tmp_path / "input").mkdir()
    write_clip(tmp_path / "input" / CLIP, frames=FRAMES, size=(64, 64), codec="libx264")
    tiny_sd_pipeline(tmp_path / "scratch").save_pretrained(tmp_path / "tiny-sd")
    twin = json.loads(TWIN.read_text(encoding="utf-8"))
    for node in twin.values():
        if node["class_type"] == "DeforumDiffusersLoader":
            node["inputs"]["path"] = str(tmp_path / "tiny-sd")
        if node["class_type"] == "DeforumAnimate":
            node["inputs"].update(SMALL)
    path = tmp_path / "twin.json"
    path.write_text(json.dumps(twin), encoding="utf-8")
    command = Path(sys.executable).with_name("deforum-comfy")
    result = subprocess.run(
        [str(command), "render", str(path), "--out", str(tmp_path / "out"), "--input",
         str(tmp_path / "input")], capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    (folder,) = (tmp_path / "out" / "deforum").iterdir()
    assert len(list(folder.glob("frame_*.png"))) == FRAMES
    with av.open(str(folder / "deforum.mp4")) as container:
        assert sum(1 for _ in container.decode(video=0)) == FRAMES
    record = json.loads((folder / "settings.json").read_text(encoding="utf-8"))
    assert record["max_frames"] == FRAMES
    assert {"hybrid", "optical_flow"} <= {k for k, v in record["stages"].items() if v}
