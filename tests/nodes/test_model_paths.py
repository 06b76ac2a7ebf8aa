"""Model paths typed into a workflow stay inside ComfyUI's folders: anything else is refused
with one message that tells nothing about the file, unless the server owner allows it."""

from __future__ import annotations

import importlib
import json
import random
import re
import sys
from pathlib import Path

import pytest
import tiny_depth
import torch
from fake_comfy import FakeFolderPaths

from deforum_core.errors import DeforumError

SMALL = "Depth-Anything-V2-Small"


@pytest.fixture
def nodes(pack, tmp_path, monkeypatch):
    """The loaders' modules with ComfyUI's folder_paths standing in, models in tmp_path."""
    fake = FakeFolderPaths(tmp_path / "comfy" / "models")
    monkeypatch.setitem(sys.modules, "folder_paths", fake)
    monkeypatch.delenv("DEFORUM_ALLOW_OUTSIDE_PATHS", raising=False)
    depth = importlib.import_module(f"{pack.__name__}.nodes.depth_nodes")
    depth.register_depth_folder()
    diffusion = importlib.import_module(f"{pack.__name__}.nodes.diffusion_nodes")
    return depth, diffusion


def load_depth(depth, path: str):
    with torch.inference_mode():
        return depth.DeforumDepthModel().load(SMALL, depth.OFFICIAL_FILE, path, 28)[0]


def refusal(call) -> str:
    with pytest.raises(DeforumError) as caught:
        call()
    return str(caught.value)


def test_outside_paths_get_one_message_whether_or_not_the_file_exists(nodes, tmp_path):
    depth, diffusion = nodes
    secret = tmp_path / "secret.pth"
    secret.write_bytes(b"SECRET")
    outside = [str(secret), str(tmp_path / "absent.pth"), "../../secret.pth", str(tmp_path)]
    messages = {
        text: refusal(lambda text=text: load_depth(depth, text)).replace(repr(text), "<path>")
        for text in outside
    }
    assert len(set(messages.values())) == 1, messages
    (message,) = set(messages.values())
    assert message.startswith("path: <path> is not in ComfyUI's model or input folders")
    assert "SECRET" not in message and "DEFORUM_ALLOW_OUTSIDE_PATHS=1" in message
    loader = diffusion.DeforumDiffusersLoader()
    for arguments in (("(use path)", str(secret), "euler_a", ""),
                      ("(use path)", "checkpoints/x.ckpt", "euler_a", str(tmp_path))):  # fmt: skip
        with pytest.raises(DeforumError, match="is not in ComfyUI's model or input folders"):
            loader.load(*arguments)


def test_paths_inside_the_model_folders_load(nodes, tmp_path):
    depth, _ = nodes
    models = tmp_path / "comfy" / "models"
    tiny_depth.write_tiny_depth_file(models / "depth" / "mine.safetensors", SMALL)
    assert load_depth(depth, "depth/mine.safetensors").source.endswith("mine.safetensors")
    assert load_depth(depth, str(models / "depth" / "mine.safetensors")) is not None
    (models / "depth" / "a_folder").mkdir()
    message = refusal(lambda: load_depth(depth, "depth/a_folder"))
    assert message.startswith("path: 'depth/a_folder' is a folder, not a weights file")


def test_the_server_owner_may_allow_other_folders(nodes, tmp_path, monkeypatch):
    depth, _ = nodes
    outside = tiny_depth.write_tiny_depth_file(tmp_path / "elsewhere.safetensors", SMALL)
    monkeypatch.setenv("DEFORUM_ALLOW_OUTSIDE_PATHS", "1")
    assert load_depth(depth, str(outside)) is not None


# A file a workflow could point a loader at: a secret line, then bytes that are no text.
CONTENT = b"SECRET qzxj=hunter2\n" + random.Random(9).randbytes(300)


def echoes(message: str, content: bytes = CONTENT) -> list[str]:
    """What of `content` the message repeats: any six characters of it, a byte of it written
    as Python or C write one (\\x83, 0x83), or torch's "Unsupported operand <byte>"."""
    text = content.decode("latin-1")
    pieces = {text[start : start + 6] for start in range(len(text) - 5)}
    pieces |= {f"\\x{byte:02x}" for byte in content} | {f"0x{byte:02x}" for byte in content}
    return sorted(piece for piece in pieces | {"SECRET", "operand"} if piece in message)


def put(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


@pytest.fixture
def unreadable_models(tmp_path) -> Path:
    """Files in the model folders that are not what the loaders expect: text and random bytes
    under checkpoint names, a model index that is no JSON, a diffusers folder whose index
    names a component after the secret, and one plain checkpoint to pair with a config."""
    from safetensors.torch import save_file

    models = tmp_path / "comfy" / "models"
    for name in ("secret.safetensors", "secret.ckpt", "secret.pth", "notes.txt"):
        put(models / "checkpoints" / name, CONTENT)
        put(models / "depth" / name, CONTENT)
    put(models / "diffusers" / "garbled" / "model_index.json", CONTENT)
    declared = {"_class_name": "StableDiffusionPipeline", "unet": ["diffusers", "SECRET_x"]}
    put(models / "diffusers" / "declared" / "model_index.json", json.dumps(declared).encode())
    put(models / "diffusers" / "declared" / "unet" / "config.json", CONTENT)
    save_file({"weight": torch.zeros(2, 2)}, str(models / "checkpoints" / "plain.safetensors"))
    return models


@pytest.mark.parametrize(
    ("path", "config", "said"),
    [
        ("checkpoints/secret.safetensors", "", "model: 'secret.safetensors' cannot be read as a"),
        ("checkpoints/secret.ckpt", "", "model: 'secret.ckpt' cannot be read as a checkpoint"),
        ("checkpoints/notes.txt", "", "model: 'notes.txt' is not a checkpoint file"),
        ("diffusers/garbled", "", "model: the model_index.json in 'garbled' is not a diffusers"),
        ("diffusers/declared", "", "model: 'declared' is not a complete diffusers folder"),
        ("checkpoints/plain.safetensors", "diffusers/declared",
         "model: could not load 'plain.safetensors' offline with the config folder 'declared'"),
        ("checkpoints/plain.safetensors", "diffusers/garbled",
         "model: could not load 'plain.safetensors' offline with the config folder 'garbled'"),
        ("checkpoints/plain.safetensors", "checkpoints/notes.txt", "notes.txt' is not a folder"),
    ],
)  # fmt: skip
def test_diffusers_loader_errors_never_echo_the_file(nodes, unreadable_models, path, config,
                                                     said):  # fmt: skip
    _, diffusion = nodes
    loader = diffusion.DeforumDiffusersLoader()
    message = refusal(lambda: loader.load("(use path)", path, "euler_a", config))
    assert echoes(message) == [], message
    assert said.replace("model: ", "path: ") in message.splitlines()[0]  # the node's input
    assert re.search(r"\n  fix: (give|use a|single-file .* pass `config`)", message), message


@pytest.mark.parametrize(
    ("name", "said"),
    [
        ("secret.pth", "secret.pth is not a plain weights file"),
        ("notes.txt", "notes.txt is not a plain weights file"),
        ("secret.safetensors", "secret.safetensors is not a readable .safetensors file"),
    ],
)
def test_depth_model_errors_never_echo_the_file(nodes, unreadable_models, name, said):
    depth, _ = nodes
    by_path = refusal(lambda: load_depth(depth, f"depth/{name}"))
    with torch.inference_mode():
        by_list = refusal(lambda: depth.DeforumDepthModel().load(SMALL, name, "", 28))
    for message, input_name in ((by_path, "path"), (by_list, "model_file")):
        assert echoes(message) == [], message
        assert message.startswith(f"{input_name}: {said}")
        assert "use the official checkpoint" in message.lower()
