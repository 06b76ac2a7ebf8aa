"""The diffusion nodes inside both real ComfyUIs (March 2024 and late 2025): a tiny SD1.5
checkpoint loaded by CheckpointLoaderSimple, sampled by ComfyUI's own sampler through
DeforumDiffuser/Img2Img."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from comfyui_harness import ComfyServer
from PIL import Image

pytestmark = pytest.mark.comfyui

SIZE = 64
WIDGET_ORDER = {
    "DeforumDiffuser": ["sampler_name", "scheduler"],
    "DeforumDiffusersLoader": ["ckpt_name", "path", "sampler", "config"],
    "DeforumImg2Img": [
        "prompt", "negative", "strength", "steps", "cfg", "seed", "width", "height",
        "frame", "max_frames",
    ],
}  # fmt: skip


@pytest.fixture(scope="module")
def input_images(comfyui_server: ComfyServer) -> tuple[str, str]:
    """Two different 64x64 pictures in the server's input folder."""
    rng = np.random.default_rng(3)
    names = ("deforum_first.png", "deforum_second.png")
    for name in names:
        pixels = rng.integers(0, 256, (SIZE, SIZE, 3), dtype=np.uint8)
        Image.fromarray(pixels).save(comfyui_server.input_dir / name)
    return names


def diffuser_nodes(checkpoint: str) -> dict[str, dict[str, Any]]:
    """Node 1 loads the checkpoint, node 2 turns it into a DEFORUM_DIFFUSER."""
    loaded = {"model": ["1", 0], "clip": ["1", 1], "vae": ["1", 2]}
    return {
        "1": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": checkpoint}},
        "2": {
            "class_type": "DeforumDiffuser",
            "inputs": {**loaded, "sampler_name": "euler", "scheduler": "normal"},
        },
    }


def img2img(image: list | None, strength: float, steps: int, seed: int = 5) -> dict[str, Any]:
    inputs: dict[str, Any] = {
        "diffuser": ["2", 0], "prompt": "a lake at sunrise", "negative": "blurry",
        "strength": strength, "steps": steps, "cfg": 7.0, "seed": seed,
        "width": SIZE, "height": SIZE,
    }  # fmt: skip
    if image is not None:
        inputs["image"] = image
    return {"class_type": "DeforumImg2Img", "inputs": inputs}


def save(source: str, prefix: str) -> dict[str, Any]:
    return {"class_type": "SaveImage", "inputs": {"images": [source, 0], "filename_prefix": prefix}}


def saved_pixels(server: ComfyServer, output: dict[str, Any]) -> np.ndarray:
    (image,) = output["images"]
    data = server.client.view(image["filename"], image.get("subfolder", ""), image["type"])
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))


def test_diffusion_nodes_keep_their_widget_order(object_info: dict) -> None:
    for node_id, widgets in WIDGET_ORDER.items():
        info = object_info[node_id]["input"]
        names = [*info["required"], *info.get("optional", {})]
        assert [name for name in names if name in widgets] == widgets, node_id
    samplers = object_info["DeforumDiffuser"]["input"]["required"]["sampler_name"][0]
    assert {"euler", "euler_ancestral", "dpmpp_2m"} <= set(samplers)  # ComfyUI's own list


def test_img2img_in_comfyui_follows_deforum_strength(
    comfyui_server: ComfyServer, checkpoint: str, input_images: tuple[str, str]
) -> None:
    first, second = input_images
    prompt = {
        **diffuser_nodes(checkpoint),
        "3": {"class_type": "LoadImage", "inputs": {"image": first}},
        "4": {"class_type": "LoadImage", "inputs": {"image": second}},
        "10": img2img(["3", 0], strength=1.0, steps=4),
        "11": save("10", "kept"),
        "12": save("3", "original"),
        "20": img2img(["3", 0], strength=0.0, steps=3),
        "21": save("20", "ignored_first"),
        "22": img2img(["4", 0], strength=0.0, steps=3),
        "23": save("22", "ignored_second"),
        "30": img2img(["3", 0], strength=0.5, steps=4),
        "31": save("30", "half"),
        "40": img2img(None, strength=0.5, steps=3),
        "41": save("40", "txt2img"),
    }
    outputs = comfyui_server.client.run_prompt(prompt)["outputs"]

    assert outputs["10"]["steps_run"] == [0]
    assert outputs["20"]["steps_run"] == [3]
    assert outputs["30"]["steps_run"] == [2]  # steps 4, strength 0.5: start at step 2
    assert outputs["40"]["steps_run"] == [3]  # txt2img runs every step

    original = saved_pixels(comfyui_server, outputs["12"])
    assert np.array_equal(saved_pixels(comfyui_server, outputs["11"]), original)
    ignored = saved_pixels(comfyui_server, outputs["21"])
    assert np.array_equal(ignored, saved_pixels(comfyui_server, outputs["23"]))
    assert ignored.shape == (SIZE, SIZE, 3) and not np.array_equal(ignored, original)
    half = saved_pixels(comfyui_server, outputs["31"])
    assert not np.array_equal(half, original) and not np.array_equal(half, ignored)
    assert saved_pixels(comfyui_server, outputs["41"]).shape == (SIZE, SIZE, 3)


def test_bad_size_is_rejected_at_queue_time(comfyui_server: ComfyServer, checkpoint: str) -> None:
    prompt = {
        **diffuser_nodes(checkpoint),
        "3": img2img(None, strength=0.0, steps=2),
        "4": save("3", "bad"),
    }
    prompt["3"]["inputs"]["width"] = 60
    status, body = comfyui_server.client.queue_prompt(prompt)
    assert status == 400, body
    assert "width: 60 is not a multiple of 8" in json.dumps(body["node_errors"]["3"])
    assert "use 56 or 64" in json.dumps(body["node_errors"]["3"])


def test_checkpoint_file_stays_small(checkpoint: str, comfyui_server: ComfyServer) -> None:
    path = Path(comfyui_server.root) / "models" / "checkpoints" / checkpoint
    assert path.stat().st_size < 4 * 2**20
