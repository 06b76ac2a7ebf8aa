"""Model paths typed into a workflow stay inside ComfyUI's folders: anything else is refused
with one message that tells nothing about the file, unless the server owner allows it."""

from __future__ import annotations

import importlib
import sys

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
