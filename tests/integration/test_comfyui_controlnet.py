"""Deforum ControlNet inside both real ComfyUIs: workflows/deforum_controlnet.json, with the tiny
checkpoint and the tiny LDM ControlNet in ComfyUI's models/controlnet, renders its frames; at
weight 0 they are the very pixels the workflow renders with the unit unlinked, and at its own
weight the frames the unit controls change (not frame 0, whose loopback hint does not exist
yet). The UI workflow and its headless twin differ only in the loaders; the twin renders with
the command line through a diffusers ControlNet, and previews without any weights. A ControlNet
from Deforum ControlNet Loader linked into ComfyUI's own Apply ControlNet fails with words that
say which loader that node needs.
"""

from __future__ import annotations

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
    comparable_links,
    load_workflow,
    node_of,
    set_widgets,
    settings_by_type,
    widget_values,
    workflow_to_api_prompt,
)
from tiny_models import TINY_CONTROLNET, write_tiny_controlnet

pytestmark = pytest.mark.comfyui

WORKFLOW = REPO_ROOT / "workflows" / "deforum_controlnet.json"
TWIN = REPO_ROOT / "workflows" / "headless" / "deforum_controlnet.json"
FRAMES = 4  # cadence 2: keys 0 and 2, frame 1 between them, frame 3 after the last key
# at strength 0.2 three of the four steps run, noisy enough for the tiny ControlNet to show
SMALL = {"width": 64, "height": 64, "max_frames": FRAMES, "steps_schedule": "0:(4)",
         "strength_schedule": "0:(0.2)"}  # fmt: skip
SHIPPED_MODEL = "control_v11p_sd15_canny_fp16.safetensors"


@pytest.fixture(scope="module")
def controlnet(comfyui_server: ComfyServer) -> str:
    """The tiny ControlNet in the server's controlnet folder (listed again on its next
    change, as the checkpoints folder is)."""
    write_tiny_controlnet(comfyui_server.root / "models" / "controlnet" / TINY_CONTROLNET)
    return TINY_CONTROLNET


def unlink_the_unit(workflow: dict[str, Any]) -> None:
    """Remove the link from Deforum ControlNet to Animate, as a user drags it off the socket:
    the nodes stay on the canvas, linked to nothing."""
    unit, animate = node_of(workflow, "DeforumControlNet"), node_of(workflow, "DeforumAnimate")
    (link,) = unit["outputs"][0]["links"]
    unit["outputs"][0]["links"] = []
    (socket,) = [socket for socket in animate["inputs"] if socket["link"] == link]
    socket["link"] = None
    workflow["links"] = [entry for entry in workflow["links"] if entry[0] != link]


def render(
    server: ComfyServer, object_info: dict, models: tuple[str, str], run_name: str, **unit: Any
) -> tuple[list[np.ndarray], dict[str, Any]]:
    """The shipped workflow shrunk, with `unit`'s widgets (linked=False unlinks it); its
    frames as decoded pixels and its settings.json."""
    checkpoint, control_net = models
    workflow = load_workflow(WORKFLOW)
    set_widgets(workflow, object_info, "CheckpointLoaderSimple", ckpt_name=checkpoint)
    set_widgets(workflow, object_info, "ControlNetLoader", control_net_name=control_net)
    set_widgets(workflow, object_info, "DeforumAnimate", run_name=run_name, **SMALL)
    if not unit.pop("linked", True):
        unlink_the_unit(workflow)
    set_widgets(workflow, object_info, "DeforumControlNet", **unit)
    prompt = workflow_to_api_prompt(workflow, object_info)
    outputs = server.client.run_prompt(prompt, workflow, timeout_s=240)["outputs"]
    (run_dir,) = outputs[str(node_of(workflow, "DeforumAnimate")["id"])]["run_dir"]
    folder = server.output_dir / run_dir
    frames = [cv2.imread(str(path)) for path in sorted(folder.glob("frame_*.png"))]
    return frames, json.loads((folder / "settings.json").read_text(encoding="utf-8"))


def test_the_unit_changes_the_frames_it_controls_and_at_weight_0_none(
    comfyui_server: ComfyServer, object_info: dict, checkpoint: str, controlnet: str
) -> None:
    workflow = load_workflow(WORKFLOW)
    unit = widget_values(workflow, object_info, "DeforumControlNet")
    assert (unit["hint_source"], unit["preprocessor"], unit["guidance_end"]) == (
        "loopback", "canny", "0:(0.8)",
    )  # fmt: skip
    animate = widget_values(workflow, object_info, "DeforumAnimate")
    assert animate["diffusion_cadence"] == 2 and animate["animation_mode"] == "2D"
    models = (checkpoint, controlnet)

    unlinked, unlinked_record = render(comfyui_server, object_info, models, "cn_off",
                                       linked=False)  # fmt: skip
    silent, _ = render(comfyui_server, object_info, models, "cn_zero", weight="0:(0)")
    controlled, record = render(comfyui_server, object_info, models, "cn_on")

    assert len(unlinked) == len(silent) == len(controlled) == FRAMES
    assert "controlnet" not in unlinked_record["stages"]
    assert all(np.array_equal(a, b) for a, b in zip(silent, unlinked, strict=True))
    # frame 0 has no loopback hint (no init image); key 2 is controlled, and the frames
    # made from it with it
    assert np.array_equal(controlled[0], unlinked[0])
    for index in range(1, FRAMES):
        difference = np.abs(controlled[index].astype(int) - unlinked[index].astype(int))
        assert difference.max() > 3 and difference.mean() > 0.05, index
    (recorded,) = record["stages"]["controlnet"]
    model = recorded.pop("model")
    assert {key: recorded[key] for key in unit} == unit
    assert len(model["weights_fingerprint"]) == 16  # ComfyUI's ControlNet, by its weights


def test_the_workflow_matches_its_headless_twin(object_info: dict) -> None:
    """Only the loaders differ: ComfyUI's checkpoint and ControlNet loaders (and so the
    diffuser) in the UI, the pack's diffusers loaders in the twin; every other node has the
    same settings and the same links."""
    prompt = workflow_to_api_prompt(load_workflow(WORKFLOW), object_info)
    twin = json.loads(TWIN.read_text(encoding="utf-8"))
    ours, theirs = settings_by_type(prompt), settings_by_type(twin)

    assert set(ours) - set(theirs) == {"CheckpointLoaderSimple", "DeforumDiffuser",
                                       "ControlNetLoader", "PreviewImage"}  # fmt: skip
    assert set(theirs) - set(ours) == {"DeforumDiffusersLoader", "DeforumControlNetLoader"}
    for node_type, settings in theirs.items():
        if node_type not in ("DeforumDiffusersLoader", "DeforumControlNetLoader"):
            assert ours[node_type] == settings, node_type
    assert ours["ControlNetLoader"] == [{"control_net_name": SHIPPED_MODEL}]
    assert theirs["DeforumControlNetLoader"] == [{
        "control_net_name": "(use path)", "path": "models/controlnet/control_v11p_sd15_canny",
        "config": "",
    }]  # fmt: skip

    ui_links, twin_links = comparable_links(prompt, twin)
    assert twin_links == ui_links
    assert ("DeforumAnimate", "controlnet", "DeforumControlNet") in ui_links


def test_the_controlnet_loader_offers_the_shipped_models_download() -> None:
    """The missing-model panel's entry: the file the loader names, from Hugging Face, into
    models/controlnet."""
    workflow = load_workflow(WORKFLOW)
    loader = node_of(workflow, "ControlNetLoader")
    assert loader["widgets_values"] == [SHIPPED_MODEL]
    assert loader["properties"]["models"] == [{
        "name": SHIPPED_MODEL,
        "url": "https://huggingface.co/comfyanonymous/ControlNet-v1-1_fp16_safetensors/"
        f"resolve/main/{SHIPPED_MODEL}",
        "directory": "controlnet",
    }]  # fmt: skip


def save_diffusers_controlnet(folder: Path, scratch: Path) -> Path:
    """A diffusers ControlNet made from the tiny pipeline's UNet (saved beside it in
    `folder`/tiny-sd), in `folder`/controlnet; its hint encoder halves the picture once, as
    the tiny VAE does."""
    from tiny_models import tiny_diffusers_controlnet, tiny_sd_pipeline

    pipeline = tiny_sd_pipeline(scratch)
    pipeline.save_pretrained(folder / "tiny-sd")
    tiny_diffusers_controlnet(pipeline.unet).save_pretrained(folder / "controlnet")
    return folder


def test_the_headless_twin_renders_through_a_diffusers_controlnet(tmp_path: Path) -> None:
    models = save_diffusers_controlnet(tmp_path / "models", tmp_path / "scratch")
    twin = json.loads(TWIN.read_text(encoding="utf-8"))
    for node in twin.values():
        if node["class_type"] == "DeforumDiffusersLoader":
            node["inputs"]["path"] = str(models / "tiny-sd")
        elif node["class_type"] == "DeforumControlNetLoader":
            node["inputs"]["path"] = str(models / "controlnet")
        elif node["class_type"] == "DeforumAnimate":
            node["inputs"].update(SMALL)
    path = tmp_path / "twin.json"
    path.write_text(json.dumps(twin), encoding="utf-8")
    command = Path(sys.executable).with_name("deforum-comfy")
    result = subprocess.run([str(command), "render", str(path), "--out", str(tmp_path / "out")],
                            capture_output=True, text=True, check=False)  # fmt: skip
    assert result.returncode == 0, result.stderr
    (folder,) = (tmp_path / "out" / "deforum").iterdir()
    assert len(list(folder.glob("frame_*.png"))) == FRAMES
    with av.open(str(folder / "deforum.mp4")) as container:
        assert sum(1 for _ in container.decode(video=0)) == FRAMES
    record = json.loads((folder / "settings.json").read_text(encoding="utf-8"))
    (unit,) = record["stages"]["controlnet"]
    assert (unit["model"]["type"], unit["model"]["file"]) == ("diffusers", "controlnet")
    assert (unit["hint_source"], unit["preprocessor"]) == ("loopback", "canny")


def test_the_headless_twin_previews_without_any_weights(tmp_path: Path) -> None:
    """A motion preview diffuses nothing, so it leaves the ControlNet (whose folder is not
    there) out with the diffusion."""
    from deforum_app.cli import main

    twin = json.loads(TWIN.read_text(encoding="utf-8"))
    for node in twin.values():
        if node["class_type"] == "DeforumAnimate":
            node["inputs"].update(SMALL)
    path = tmp_path / "twin.json"
    path.write_text(json.dumps(twin), encoding="utf-8")
    assert main(["render", str(path), "--preview", "--out", str(tmp_path / "out")]) == 0
    (folder,) = (tmp_path / "out" / "deforum").iterdir()
    assert len(list(folder.glob("frame_*.png"))) == FRAMES
    record = json.loads((folder / "settings.json").read_text(encoding="utf-8"))
    assert record["diffuser"] is None and "controlnet" not in record["stages"]


def test_comfyuis_apply_controlnet_refuses_a_diffusers_controlnet_in_plain_words(
    comfyui_server: ComfyServer, checkpoint: str, tmp_path: Path
) -> None:
    """Deforum ControlNet Loader's CONTROL_NET linked into ComfyUI's Apply ControlNet
    (Advanced): the run stops in that node with the pack's message, not an AttributeError."""
    save_diffusers_controlnet(comfyui_server.root / "models" / "deforum_cn_test", tmp_path)
    loader = {"control_net_name": "(use path)", "path": "deforum_cn_test/controlnet",
              "config": ""}  # fmt: skip
    prompt = {
        "1": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": checkpoint}},
        "2": {"class_type": "CLIPTextEncode", "inputs": {"text": "a cat", "clip": ["1", 1]}},
        "3": {"class_type": "EmptyImage",
              "inputs": {"width": 64, "height": 64, "batch_size": 1, "color": 0}},
        "4": {"class_type": "DeforumControlNetLoader", "inputs": loader},
        "5": {"class_type": "ControlNetApplyAdvanced",
              "inputs": {"positive": ["2", 0], "negative": ["2", 0], "control_net": ["4", 0],
                         "image": ["3", 0], "strength": 1.0, "start_percent": 0.0,
                         "end_percent": 1.0}},
        "6": {"class_type": "EmptyLatentImage",
              "inputs": {"width": 64, "height": 64, "batch_size": 1}},
        "7": {"class_type": "KSampler",
              "inputs": {"model": ["1", 0], "seed": 0, "steps": 1, "cfg": 1.0,
                         "sampler_name": "euler", "scheduler": "normal", "positive": ["5", 0],
                         "negative": ["5", 1], "latent_image": ["6", 0], "denoise": 1.0}},
        "8": {"class_type": "VAEDecode", "inputs": {"samples": ["7", 0], "vae": ["1", 2]}},
        "9": {"class_type": "PreviewImage", "inputs": {"images": ["8", 0]}},
    }  # fmt: skip
    status, body = comfyui_server.client.queue_prompt(prompt)
    assert status == 200, body
    entry = comfyui_server.client.wait_for_history(body["prompt_id"], timeout_s=120)
    errors = [data for kind, data in entry["status"]["messages"] if kind == "execution_error"]
    (error,) = errors
    assert error["node_type"] == "ControlNetApplyAdvanced"
    assert error["exception_type"].endswith("DiffusionError")
    assert error["exception_message"].startswith(
        "control_net: this ControlNet comes from Deforum ControlNet Loader (a diffusers model)"
    )
    assert "load the ControlNet with ComfyUI's Load ControlNet Model" in error["exception_message"]
