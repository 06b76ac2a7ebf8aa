"""The Deforum loop inside both real ComfyUIs (March 2024 and late 2025): the example workflows
queued as the frontend sends them, rendered with a tiny SD1.5 checkpoint, repeated, interrupted
and resumed.

The render settings are shrunk (64x64, few frames, few steps) through the workflow's own
widgets, so what runs is the shipped graph, converted by the harness like graphToPrompt does.
Tests that share the tiny model keep its loader and diffuser at the same node ids, so ComfyUI
keeps them cached between prompts instead of loading the checkpoint again.
"""

from __future__ import annotations

import copy
import json
import re
import time
import urllib.request
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import av
import cv2
import numpy as np
import pytest
from comfyui_harness import (
    REPO_ROOT,
    ComfyClient,
    ComfyServer,
    load_workflow,
    node_of,
    set_widgets,
    settings_by_type,
    widget_values,
    workflow_to_api_prompt,
)
from PIL import Image
from tiny_models import TINY_CHECKPOINT

from deforum_core.render.frame_writer import QUEUE_LENGTH

pytestmark = pytest.mark.comfyui

WORKFLOW_2D = REPO_ROOT / "workflows" / "deforum_2d.json"
WORKFLOW_STILL = REPO_ROOT / "workflows" / "deforum_still.json"
HEADLESS = REPO_ROOT / "workflows" / "headless"
SIZE = 64
FRAMES_2D = 12
TINY = {"width": SIZE, "height": SIZE, "steps_schedule": "0:(2)"}
INTERRUPT_FRAMES = 80


# -- helpers ----------------------------------------------------------------------------------


def shrunk_workflow(
    path: Path, object_info: Mapping[str, Any], run_name: str, **animate: Any
) -> dict[str, Any]:
    """The example workflow with the tiny checkpoint and a small, fast render."""
    workflow = load_workflow(path)
    set_widgets(workflow, object_info, "CheckpointLoaderSimple", ckpt_name=TINY_CHECKPOINT)
    set_widgets(workflow, object_info, "DeforumAnimate", run_name=run_name, **TINY, **animate)
    return workflow


def queue_workflow(
    server: ComfyServer, workflow: dict[str, Any], object_info: Mapping[str, Any]
) -> dict[str, Any]:
    """Convert like the frontend, queue with the workflow attached, wait for success."""
    prompt = workflow_to_api_prompt(workflow, object_info)
    return server.client.run_prompt(prompt, workflow, timeout_s=180)


def run_folder(server: ComfyServer, animate_ui: Mapping[str, Any]) -> Path:
    (subfolder,) = animate_ui["run_dir"]
    return server.output_dir / subfolder


def frame_bytes(folder: Path) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in sorted(folder.glob("frame_*.png"))}


def frame_names(count: int) -> list[str]:
    return [f"frame_{index:05d}.png" for index in range(count)]


def saved_settings(folder: Path) -> dict[str, Any]:
    return json.loads((folder / "settings.json").read_text(encoding="utf-8"))


def cached_nodes(entry: Mapping[str, Any]) -> set[str]:
    """Nodes whose outputs ComfyUI reused instead of running them (its execution_cached
    message, which both generations record in the history entry)."""
    (nodes,) = [data["nodes"] for event, data in entry["status"]["messages"]
                if event == "execution_cached"]  # fmt: skip
    return set(nodes)


def file_version(path: Path) -> tuple[int, bytes]:
    return path.stat().st_mtime_ns, path.read_bytes()


def decoded_video(path: Path) -> list[np.ndarray]:
    with av.open(str(path)) as container:
        return [frame.to_ndarray(format="rgb24") for frame in container.decode(video=0)]


def post(client: ComfyClient, path: str, body: bytes = b"", content_type: str = "") -> bytes:
    headers = {"Content-Type": content_type} if content_type else {}
    request = urllib.request.Request(client._url(path), data=body, headers=headers, method="POST")
    with urllib.request.urlopen(request, timeout=30) as response:
        return response.read()


# -- fixtures ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def init_image(comfyui_server: ComfyServer) -> str:
    """A 64x64 picture with structure (so motion shows), uploaded like the frontend does."""
    y, x = np.mgrid[0:SIZE, 0:SIZE]
    pixels = np.stack([x * 4, y * 4, ((x // 8 + y // 8) % 2) * 255], axis=-1).astype(np.uint8)
    encoded = cv2.imencode(".png", pixels)[1].tobytes()
    return comfyui_server.client.upload("deforum_init.png", encoded)


@pytest.fixture(scope="module")
def first_2d_run(
    comfyui_server: ComfyServer, object_info: dict, checkpoint: str
) -> tuple[dict[str, Any], dict[str, Any]]:
    """workflows/deforum_2d.json with the tiny model: (workflow queued, history entry)."""
    workflow = shrunk_workflow(
        WORKFLOW_2D, object_info, "anim_2d", max_frames=FRAMES_2D, diffusion_cadence=3
    )
    return workflow, queue_workflow(comfyui_server, workflow, object_info)


# -- interrupt and resume ---------------------------------------------------------------------


def motion_preview_prompt(init_image: str, run_name: str, resume: bool) -> dict[str, Any]:
    """An Animate loop without a diffuser: motion, colour coherence and noise on the init image.

    Node ids stay clear of the example workflows' so the tiny model's cached loader survives.
    """
    animate = {
        "prompts": ["102", 0], "animation_mode": "2D", "max_frames": INTERRUPT_FRAMES,
        "width": SIZE, "height": SIZE, "fps": 15.0, "base_seed": 77, "seed_behavior": "iter",
        "seed_iter_N": 1, "seed_schedule": "0:(s)", "strength_schedule": "0:(0.65)",
        "steps_schedule": "0:(25)", "cfg_schedule": "0:(7)", "diffusion_cadence": 2,
        "init_strength": 0.65, "run_name": run_name, "resume": resume, "output_frames": False,
        "motion": ["103", 0], "color_coherence": ["104", 0], "noise": ["105", 0],
        "init_image": ["101", 0],
    }  # fmt: skip
    motion = {
        "angle": "0:(0.5)", "zoom": "0:(1.01)", "translation_x": "0:(0.3*sin(t/5))",
        "translation_y": "0:(0)", "transform_center_x": "0:(0.5)", "transform_center_y": "0:(0.5)",
        "border": "replicate", "sampling": "bicubic", "enable_perspective_flip": False,
        "perspective_flip_theta": "0:(0)", "perspective_flip_phi": "0:(0)",
        "perspective_flip_gamma": "0:(0)", "perspective_flip_fv": "0:(53)",
    }  # fmt: skip
    noise = {
        "noise": "0:(0.02)", "noise_type": "gaussian", "perlin_scale_x": 8, "perlin_scale_y": 8,
        "perlin_octaves": 4, "perlin_persistence": 0.5,
    }  # fmt: skip
    prompts = {
        "prompts": "0: a lake", "max_frames": INTERRUPT_FRAMES, "positive": "", "negative": "",
        "s_value": 0, "fps": 15.0,
    }  # fmt: skip
    return {
        "101": {"class_type": "LoadImage", "inputs": {"image": init_image}},
        "102": {"class_type": "DeforumPromptSchedule", "inputs": prompts},
        "103": {"class_type": "DeforumMotion2D", "inputs": motion},
        "104": {
            "class_type": "DeforumColorCoherence",
            "inputs": {"color_coherence": "LAB", "refresh_every": 0, "force_grayscale": False},
        },
        "105": {"class_type": "DeforumNoise", "inputs": noise},
        "106": {"class_type": "DeforumAnimate", "inputs": animate},
    }


def wait_for_frames(folder_glob: str, root: Path, count: int, timeout_s: float = 60.0) -> Path:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        for folder in root.glob(folder_glob):
            if len(list(folder.glob("frame_*.png"))) >= count:
                return folder
        time.sleep(0.005)
    raise AssertionError(f"no {folder_glob} folder with {count} frames in {root}")


def test_interrupt_stops_within_a_frame_and_resume_completes_the_run(
    comfyui_server: ComfyServer, init_image: str
) -> None:
    client = comfyui_server.client
    runs = comfyui_server.output_dir / "deforum"
    status, body = client.queue_prompt(motion_preview_prompt(init_image, "anim_cut", False))
    assert status == 200, body

    folder = wait_for_frames("anim_cut_*", runs, 6)
    before = len(list(folder.glob("frame_*.png")))
    post(client, "/interrupt")
    after_answer = len(list(folder.glob("frame_*.png")))
    entry = client.wait_for_history(body["prompt_id"])
    final = sorted(folder.glob("frame_*.png"))

    assert entry["status"]["status_str"] == "error"
    assert "execution_interrupted" in [message[0] for message in entry["status"]["messages"]]
    # the work stops at once; the writer then finishes only what was handed to it: the
    # frame it is writing and those in its queue
    assert before <= after_answer <= len(final) <= after_answer + 1 + QUEUE_LENGTH
    assert len(final) < INTERRUPT_FRAMES
    assert [path.name for path in final] == frame_names(len(final))
    assert all(cv2.imread(str(path)) is not None for path in final)
    assert list(folder.glob(".*.partial*")) == []
    assert json.loads((folder / "state.json").read_text(encoding="utf-8"))["complete"] is False
    settings = file_version(folder / "settings.json")

    resumed = client.run_prompt(motion_preview_prompt(init_image, "anim_cut", True))
    assert run_folder(comfyui_server, resumed["outputs"]["106"]) == folder
    assert file_version(folder / "settings.json") == settings  # a resume never rewrites it
    whole = client.run_prompt(motion_preview_prompt(init_image, "anim_whole", False))

    assert list(frame_bytes(folder)) == frame_names(INTERRUPT_FRAMES)
    assert frame_bytes(folder) == frame_bytes(run_folder(comfyui_server, whole["outputs"]["106"]))
    assert list(folder.glob(".*.partial*")) == []


# -- the shipped workflows --------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        "deforum_2d",
        "deforum_still",
        "deforum_settings_file",
        "deforum_video_input",
        "deforum_audio",
    ],
)
def test_workflows_match_their_headless_twins(name: str, object_info: dict) -> None:
    """The UI workflow renders what its headless twin renders; only the model loader (the
    checkpoint loader and ComfyUI's sampler instead of diffusers) and the video node differ."""
    workflow = load_workflow(REPO_ROOT / "workflows" / f"{name}.json")
    twin = json.loads((HEADLESS / f"{name}.json").read_text(encoding="utf-8"))

    ours = settings_by_type(workflow_to_api_prompt(workflow, object_info))
    theirs = settings_by_type(twin)

    assert {"CheckpointLoaderSimple", "DeforumDiffuser", "DeforumVideo"} <= set(ours)
    for node_type, settings in theirs.items():
        if node_type != "DeforumDiffusersLoader":
            assert ours[node_type] == settings, node_type
    assert ours["DeforumDiffuser"] == [{"sampler_name": "euler_ancestral", "scheduler": "normal"}]
    assert [s["sampler"] for s in theirs["DeforumDiffusersLoader"]] == ["euler_a"]


@pytest.mark.parametrize(
    "path", sorted((REPO_ROOT / "workflows").glob("*.json")), ids=lambda p: p.name
)
def test_workflow_nodes_do_not_overlap(path: Path) -> None:
    """Every node box, its title bar included, is clear of the others on the canvas."""
    title = 30  # LiteGraph.NODE_TITLE_HEIGHT: the title sits above pos
    boxes = [
        (node["pos"][0], node["pos"][1] - title, node["size"][0], node["size"][1] + title)
        for node in load_workflow(path)["nodes"]
    ]
    for index, (x, y, width, height) in enumerate(boxes):
        for other_x, other_y, other_width, other_height in boxes[index + 1 :]:
            apart_x = x + width <= other_x or other_x + other_width <= x
            apart_y = y + height <= other_y or other_y + other_height <= y
            assert apart_x or apart_y, (path.name, (x, y), (other_x, other_y))


def test_2d_workflow_renders_frames_settings_and_video(
    comfyui_server: ComfyServer, object_info: dict, first_2d_run: tuple
) -> None:
    workflow, entry = first_2d_run
    outputs = entry["outputs"]
    animate_id = str(node_of(workflow, "DeforumAnimate")["id"])
    video_id = str(node_of(workflow, "DeforumVideo")["id"])
    preview_id = str(node_of(workflow, "PreviewImage")["id"])

    animate_ui = outputs[animate_id]
    folder = run_folder(comfyui_server, animate_ui)
    assert re.fullmatch(r"anim_2d_\d{4}", folder.name), folder
    assert folder.parent == comfyui_server.output_dir / "deforum"
    assert list(frame_bytes(folder)) == frame_names(FRAMES_2D)
    assert animate_ui["images"] == [
        {"filename": frame_names(FRAMES_2D)[-1], "subfolder": animate_ui["run_dir"][0],
         "type": "output"},
    ]  # fmt: skip
    settings = saved_settings(folder)
    assert animate_ui["seed"] == [settings["base_seed"]] == [1234]
    assert settings["diffusion_cadence"] == 3 and settings["max_frames"] == FRAMES_2D
    diffuser = settings["diffuser"]
    assert (diffuser["backend"], diffuser["sampler"], diffuser["scheduler"]) == (
        "comfyui", "euler_ancestral", "normal",
    )  # fmt: skip
    assert len(diffuser["model_fingerprint"]) == 16
    assert json.loads((folder / "state.json").read_text(encoding="utf-8"))["complete"] is True

    (video,) = outputs[video_id]["deforum_video"]
    assert video == {
        "filename": "deforum.mp4", "subfolder": animate_ui["run_dir"][0], "type": "output",
        "format": "mp4",
    }  # fmt: skip
    frames = decoded_video(folder / video["filename"])
    assert len(frames) == FRAMES_2D
    assert {frame.shape for frame in frames} == {(SIZE, SIZE, 3)}
    served = comfyui_server.client.view(video["filename"], video["subfolder"], video["type"])
    assert served == (folder / video["filename"]).read_bytes()
    assert len(outputs[preview_id]["images"]) == 1  # last_frame -> core PreviewImage


def test_2d_workflow_renders_the_same_frames_again(
    comfyui_server: ComfyServer, object_info: dict, first_2d_run: tuple
) -> None:
    workflow, entry = first_2d_run
    animate_id = str(node_of(workflow, "DeforumAnimate")["id"])
    again = copy.deepcopy(workflow)
    set_widgets(again, object_info, "DeforumAnimate", run_name="anim_2d_again")

    outputs = queue_workflow(comfyui_server, again, object_info)["outputs"]

    first = frame_bytes(run_folder(comfyui_server, entry["outputs"][animate_id]))
    second = frame_bytes(run_folder(comfyui_server, outputs[animate_id]))
    assert list(second) == frame_names(FRAMES_2D)
    assert second == first
    assert len(set(first.values())) == FRAMES_2D  # a real animation, not one frame repeated


def test_seed_minus_one_is_a_new_run_per_queue_and_a_fixed_seed_stays_cached(
    comfyui_server: ComfyServer, object_info: dict, checkpoint: str
) -> None:
    """base_seed -1 draws a seed on every queue of the same prompt, shown on the node and
    recorded in settings.json; a fixed seed is cached like any ComfyUI node (issue 12)."""
    runs = comfyui_server.output_dir / "deforum"
    drawn = shrunk_workflow(WORKFLOW_2D, object_info, "anim_drawn", max_frames=2, base_seed=-1)
    animate_id = str(node_of(drawn, "DeforumAnimate")["id"])

    entries = [queue_workflow(comfyui_server, drawn, object_info) for _ in range(2)]

    uis = [entry["outputs"][animate_id] for entry in entries]
    folders = [run_folder(comfyui_server, ui) for ui in uis]
    assert sorted(runs.glob("anim_drawn_*")) == folders  # two runs, one folder each
    seeds = [saved_settings(folder)["base_seed"] for folder in folders]
    assert [ui["seed"] for ui in uis] == [[seed] for seed in seeds]
    assert all(0 <= seed < 2**32 for seed in seeds)  # the drawn seed is recorded, not -1
    assert seeds[0] != seeds[1]  # secrets.randbelow(2**32): a repeat is a 1 in 4e9 chance
    assert animate_id not in cached_nodes(entries[1])

    fixed = copy.deepcopy(drawn)
    set_widgets(fixed, object_info, "DeforumAnimate", run_name="anim_fixed", base_seed=1234)
    first = queue_workflow(comfyui_server, fixed, object_info)
    (folder,) = runs.glob("anim_fixed_*")
    settings = file_version(folder / "settings.json")
    again = queue_workflow(comfyui_server, fixed, object_info)

    assert animate_id not in cached_nodes(first)
    assert animate_id in cached_nodes(again)  # not run again: no new folder, same files
    assert list(runs.glob("anim_fixed_*")) == [folder]
    assert file_version(folder / "settings.json") == settings
    assert saved_settings(folder)["base_seed"] == 1234
    assert first["outputs"][animate_id]["seed"] == [1234]
    assert again["outputs"][animate_id] == first["outputs"][animate_id]  # the node still shows it


def test_still_workflow_writes_four_frames_and_a_gif(
    comfyui_server: ComfyServer, object_info: dict, checkpoint: str
) -> None:
    workflow = shrunk_workflow(WORKFLOW_STILL, object_info, "anim_still")
    assert widget_values(workflow, object_info, "DeforumAnimate")["animation_mode"] == "None"

    outputs = queue_workflow(comfyui_server, workflow, object_info)["outputs"]

    animate_ui = outputs[str(node_of(workflow, "DeforumAnimate")["id"])]
    folder = run_folder(comfyui_server, animate_ui)
    assert list(frame_bytes(folder)) == frame_names(4)
    (video,) = outputs[str(node_of(workflow, "DeforumVideo")["id"])]["deforum_video"]
    assert video["filename"] == "deforum.gif" and video["format"] == "gif"
    with Image.open(folder / "deforum.gif") as gif:
        assert gif.n_frames == 4 and gif.size == (SIZE, SIZE)


# -- progress of a diffusing render -----------------------------------------------------------

PROGRESS_FRAMES = 4
PROGRESS_STEPS = 6  # at strength 0.65 an img2img key runs 6 - round(0.65 * 6) = 2 of them


def test_a_diffusing_render_moves_one_bar_forward_on_animate(
    comfyui_server: ComfyServer, object_info: dict, checkpoint: str
) -> None:
    """What the page hears while the 2D workflow diffuses (cadence 1, a sampler run per
    frame): progress on the Animate node alone, on one scale (frames, in hundredths), the
    sampler's steps folded in between frame boundaries, never moving back, ending full.
    ComfyUI's own sampler callback would start a 0..steps bar on every sampling instead."""
    workflow = shrunk_workflow(
        WORKFLOW_2D, object_info, "anim_progress", max_frames=PROGRESS_FRAMES, diffusion_cadence=1
    )
    set_widgets(workflow, object_info, "DeforumAnimate", steps_schedule=f"0:({PROGRESS_STEPS})")
    prompt = workflow_to_api_prompt(workflow, object_info)
    for node_type in ("DeforumVideo", "PreviewImage"):  # their own jobs: only Animate's here
        del prompt[str(node_of(workflow, node_type)["id"])]
    animate = str(node_of(workflow, "DeforumAnimate")["id"])
    client = comfyui_server.client

    with client.listen() as messages:
        status, body = client.queue_prompt(prompt, workflow)
        assert status == 200, body
        messages.wait_until_done(body["prompt_id"])
        heard = messages.of_type("progress")
    entry = client.wait_for_history(body["prompt_id"])

    assert entry["status"]["status_str"] == "success", entry["status"]
    assert animate not in cached_nodes(entry)
    assert heard and all(data["prompt_id"] == body["prompt_id"] for data in heard)
    assert {data["node"] for data in heard} == {animate}  # no bar on any other node
    assert {data["max"] for data in heard} == {PROGRESS_FRAMES * 100}  # one scale throughout
    values = [data["value"] for data in heard]
    assert values == sorted(values), values  # never back
    assert values[-1] == PROGRESS_FRAMES * 100
    between = [value for value in values if value % 100]  # sampler steps inside a frame
    assert len(values) > PROGRESS_FRAMES and between, values
    # every frame's steps: the first key's 6 (txt2img) and 2 on each later one
    assert sorted({value // 100 for value in between}) == list(range(PROGRESS_FRAMES)), values
