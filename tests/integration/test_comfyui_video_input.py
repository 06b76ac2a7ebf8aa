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
    widget_values,
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
    set_widgets(workflow, object_info, "DeforumVideoInput", extract_nth_frame=2)
    inputs = widget_values(workflow, object_info, "DeforumVideoInput")
    assert list(inputs) == ["video", "extract_nth_frame", "extract_from_frame", "extract_to_frame"]

    prompt = workflow_to_api_prompt(workflow, object_info)
    outputs = comfyui_server.client.run_prompt(prompt, workflow, timeout_s=240)["outputs"]

    video_ui = outputs[str(node_of(workflow, "DeforumVideoInput")["id"])]
    assert video_ui["text"] == [f"{CLIP}: 12 frames selected, 64x64, 12 fps"]
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
