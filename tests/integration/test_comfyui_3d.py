"""3D mode inside both real ComfyUIs (March 2024 and late 2025): workflows/deforum_3d.json queued
as the frontend sends it, with a tiny SD1.5 checkpoint and a tiny Depth Anything V2 Small file
in the server's models/depth folder, picked in Deforum Depth Model's file list like a user
would.

The render is shrunk (8 frames, 64x64, 2 steps, a small depth input) through the workflow's
own widgets. The checkpoint loader and diffuser keep the ids the 2D workflow gives them, so
ComfyUI keeps the tiny model cached between prompts of the session.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import av
import cv2
import numpy as np
import pytest
from comfyui_harness import (
    REPO_ROOT,
    ComfyServer,
    comparable_links,
    links_by_type,
    load_workflow,
    node_of,
    set_widgets,
    settings_by_type,
    widget_values,
    workflow_to_api_prompt,
)
from tiny_depth import write_tiny_depth_file
from tiny_models import TINY_CHECKPOINT

from deforum_app.cli import main
from deforum_core.depth import resolve_model_type

pytestmark = pytest.mark.comfyui

DEPTH_FILE = "deforum_tiny_depth_anything_v2_vits.safetensors"
MODEL_TYPE = "Depth-Anything-V2-Small"
WORKFLOW_3D = REPO_ROOT / "workflows" / "deforum_3d.json"
HEADLESS_3D = REPO_ROOT / "workflows" / "headless" / "deforum_3d.json"
SIZE = 64
FRAMES = 8
CADENCE = 2
DIFFUSED = list(range(0, FRAMES, CADENCE))


# -- helpers ----------------------------------------------------------------------------------


def shrunk_3d_workflow(
    object_info: Mapping[str, Any], run_name: str, save_depth_maps: bool
) -> dict[str, Any]:
    """workflows/deforum_3d.json with the tiny models and a small, fast render."""
    workflow = load_workflow(WORKFLOW_3D)
    set_widgets(workflow, object_info, "CheckpointLoaderSimple", ckpt_name=TINY_CHECKPOINT)
    set_widgets(workflow, object_info, "DeforumDepthModel", model_file=DEPTH_FILE, input_size=56)
    set_widgets(workflow, object_info, "DeforumMotion3D", save_depth_maps=save_depth_maps)
    set_widgets(
        workflow, object_info, "DeforumAnimate", run_name=run_name, max_frames=FRAMES,
        width=SIZE, height=SIZE, steps_schedule="0:(2)",
    )  # fmt: skip
    return workflow


def run_3d(
    server: ComfyServer, object_info: Mapping[str, Any], run_name: str, save_depth_maps: bool
) -> tuple[dict[str, Any], dict[str, Any], Path]:
    """Queue the shrunk workflow like the frontend; (workflow, outputs, run folder)."""
    workflow = shrunk_3d_workflow(object_info, run_name, save_depth_maps)
    prompt = workflow_to_api_prompt(workflow, object_info)
    outputs = server.client.run_prompt(prompt, workflow, timeout_s=180)["outputs"]
    (subfolder,) = outputs[str(node_of(workflow, "DeforumAnimate")["id"])]["run_dir"]
    return workflow, outputs, server.output_dir / subfolder


def frame_bytes(folder: Path) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in sorted(folder.glob("frame_*.png"))}


def frame_names(count: int) -> list[str]:
    return [f"frame_{index:05d}.png" for index in range(count)]


def decoded_video(path: Path) -> list[np.ndarray]:
    with av.open(str(path)) as container:
        return [frame.to_ndarray(format="rgb24") for frame in container.decode(video=0)]


# -- fixtures ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def depth_file(comfyui_server: ComfyServer) -> str:
    """A tiny Depth Anything V2 Small in the running server's models/depth folder.

    The folder does not exist when the server starts; ComfyUI's folder_paths re-lists a model
    folder that appeared or whose modification time changed, so the file shows up in Deforum
    Depth Model's model_file list without a restart.
    """
    write_tiny_depth_file(comfyui_server.root / "models" / "depth" / DEPTH_FILE, MODEL_TYPE)
    return DEPTH_FILE


@pytest.fixture(scope="module")
def plain_run(
    comfyui_server: ComfyServer, object_info: dict, checkpoint: str, depth_file: str
) -> tuple[dict[str, Any], dict[str, Any], Path]:
    return run_3d(comfyui_server, object_info, "anim_3d", save_depth_maps=False)


# -- tests ------------------------------------------------------------------------------------


def test_the_depth_folder_lists_a_new_file_without_a_restart(
    comfyui_server: ComfyServer, depth_file: str
) -> None:
    info = comfyui_server.client.get_json("/object_info/DeforumDepthModel")["DeforumDepthModel"]
    choices = info["input"]["required"]["model_file"][0]
    assert choices == ["(official file name)", depth_file]


def test_3d_workflow_as_shipped(object_info: dict) -> None:
    workflow = load_workflow(WORKFLOW_3D)
    animate = widget_values(workflow, object_info, "DeforumAnimate")
    assert animate["animation_mode"] == "3D" and animate["max_frames"] == 120
    assert (animate["width"], animate["height"], animate["base_seed"]) == (512, 512, 1234)
    assert animate["diffusion_cadence"] == CADENCE
    depth = widget_values(workflow, object_info, "DeforumDepthModel")
    assert depth == {"model_type": MODEL_TYPE,  # the copy the missing-model panel downloads
                     "model_file": "depth_anything_v2_vits_fp32.safetensors",
                     "path": "", "input_size": 0}  # fmt: skip
    motion = widget_values(workflow, object_info, "DeforumMotion3D")
    assert motion["translation_z"] == "0:(10)" and motion["save_depth_maps"] is False
    prompt = workflow_to_api_prompt(workflow, object_info)
    assert ("DeforumAnimate", "depth_model", "DeforumDepthModel") in links_by_type(prompt)
    assert ("DeforumAnimate", "motion", "DeforumMotion3D") in links_by_type(prompt)


def test_3d_workflow_renders_frames_and_video(
    comfyui_server: ComfyServer, plain_run: tuple
) -> None:
    workflow, outputs, folder = plain_run
    assert list(frame_bytes(folder)) == frame_names(FRAMES)
    assert len(set(frame_bytes(folder).values())) == FRAMES  # the camera really moves
    assert {cv2.imread(str(path)).shape for path in folder.glob("frame_*.png")} == {(SIZE, SIZE, 3)}
    assert list(folder.glob("depth_*.png")) == []  # save_depth_maps is off as shipped
    settings = json.loads((folder / "settings.json").read_text(encoding="utf-8"))
    assert settings["animation_mode"] == "3D" and settings["max_frames"] == FRAMES
    assert json.loads((folder / "state.json").read_text(encoding="utf-8"))["complete"] is True

    (video,) = outputs[str(node_of(workflow, "DeforumVideo")["id"])]["deforum_video"]
    assert video["filename"] == "deforum.mp4" and video["format"] == "mp4"
    frames = decoded_video(folder / video["filename"])
    assert len(frames) == FRAMES and {frame.shape for frame in frames} == {(SIZE, SIZE, 3)}
    assert len(outputs[str(node_of(workflow, "PreviewImage")["id"])]["images"]) == 1


def test_3d_depth_maps_are_16_bit_and_only_for_diffused_frames(
    comfyui_server: ComfyServer, object_info: dict, plain_run: tuple
) -> None:
    _, _, plain = plain_run
    _, _, folder = run_3d(comfyui_server, object_info, "anim_3d_depth", save_depth_maps=True)

    depth_paths = sorted(folder.glob("depth_*.png"))
    assert [path.name for path in depth_paths] == [f"depth_{i:05d}.png" for i in DIFFUSED]
    for path in depth_paths:
        depth = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
        assert depth.dtype == np.uint16 and depth.shape == (SIZE, SIZE)
        assert int(depth.max()) > int(depth.min())  # a real map, not a constant
    assert frame_bytes(folder) == frame_bytes(plain)  # saving depth changes no frame


def test_3d_workflow_matches_its_headless_twin(object_info: dict) -> None:
    """The twin renders what the UI workflow renders: only the model loader differs, and the
    depth model is named by its path (the command line has no ComfyUI model folders)."""
    workflow = load_workflow(WORKFLOW_3D)
    twin = json.loads(HEADLESS_3D.read_text(encoding="utf-8"))
    prompt = workflow_to_api_prompt(workflow, object_info)
    ours, theirs = settings_by_type(prompt), settings_by_type(twin)

    assert set(ours) - set(theirs) == {"CheckpointLoaderSimple", "DeforumDiffuser", "PreviewImage"}
    assert set(theirs) - set(ours) == {"DeforumDiffusersLoader"}
    for node_type, settings in theirs.items():
        if node_type not in ("DeforumDiffusersLoader", "DeforumDepthModel"):
            assert ours[node_type] == settings, node_type
    (depth,) = theirs["DeforumDepthModel"]
    downloaded, _ = resolve_model_type(MODEL_TYPE).download()  # the file the UI one names
    assert ours["DeforumDepthModel"][0]["model_file"] == downloaded
    assert depth == {**ours["DeforumDepthModel"][0], "model_file": "(official file name)",
                     "path": f"models/depth/{downloaded}"}  # fmt: skip
    (loader,) = theirs["DeforumDiffusersLoader"]
    assert loader["path"] == "models/stable-diffusion-v1-5" and loader["sampler"] == "euler_a"
    assert ours["DeforumDiffuser"] == [{"sampler_name": "euler_ancestral", "scheduler": "normal"}]

    ui_links, twin_links = comparable_links(prompt, twin)
    assert twin_links == ui_links


def test_headless_3d_twin_runs_its_motion_preview_with_a_depth_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The twin's kind of depth path (relative to the working folder) works without ComfyUI;
    the tiny model is a .safetensors file, so only the file name differs."""
    twin = json.loads(HEADLESS_3D.read_text(encoding="utf-8"))
    write_tiny_depth_file(tmp_path / "models" / "depth" / DEPTH_FILE, MODEL_TYPE)
    for node in twin.values():
        if node["class_type"] == "DeforumDepthModel":
            node["inputs"].update(path=f"models/depth/{DEPTH_FILE}", input_size=56)
        if node["class_type"] == "DeforumAnimate":
            node["inputs"].update(width=SIZE, height=SIZE, max_frames=5)
    (tmp_path / "twin.json").write_text(json.dumps(twin), encoding="utf-8")
    monkeypatch.chdir(tmp_path)

    assert main(["render", "twin.json", "--out", "out", "--preview"]) == 0
    (run,) = (tmp_path / "out" / "deforum").iterdir()
    assert list(frame_bytes(run)) == frame_names(5)
    assert len(decoded_video(run / "deforum.mp4")) == 5
