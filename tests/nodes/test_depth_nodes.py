"""The depth nodes called as ComfyUI calls them, with tiny depth models written by the tests,
and with stand-ins for ComfyUI's folder_paths and model management where they matter."""

from __future__ import annotations

import importlib
import os
import sys
import types

import pytest
import tiny_depth
import torch
from fake_comfy import FakeFolderPaths

WIDGETS = {
    "DeforumDepthModel": ["model_type", "model_file", "path", "input_size"],
    "DeforumEstimateDepth": ["image", "depth_model", "normalization"],
}
SMALL = "Depth-Anything-V2-Small"


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """One intra-op thread (see tests/unit/test_depth.py)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def depth_nodes(pack):
    return importlib.import_module(f"{pack.__name__}.nodes.depth_nodes")


@pytest.fixture(scope="module")
def depth(pack):
    return importlib.import_module("deforum_core.depth")


@pytest.fixture
def tiny_file(tmp_path, depth):
    return tiny_depth.write_tiny_depth_file(tmp_path / "tiny_small.safetensors", SMALL, seed=1)


class FakeModelManagement(types.ModuleType):
    """comfy.model_management's calls, recorded."""

    def __init__(self) -> None:
        super().__init__("comfy.model_management")
        self.events = []

    def get_torch_device(self):
        return torch.device("cpu")

    def unet_offload_device(self):
        return torch.device("cpu")

    def free_memory(self, memory_required, device, keep_loaded=()):
        self.events.append(("free_memory", memory_required, device))

    def soft_empty_cache(self, force=False):
        self.events.append(("soft_empty_cache",))


@pytest.fixture
def comfy_folders(tmp_path, monkeypatch, depth_nodes):
    fake = FakeFolderPaths(tmp_path / "models")
    monkeypatch.setitem(sys.modules, "folder_paths", fake)
    depth_nodes.register_depth_folder()
    return fake


@pytest.fixture
def model_management(monkeypatch):
    management = FakeModelManagement()
    comfy = types.ModuleType("comfy")
    comfy.model_management = management
    monkeypatch.setitem(sys.modules, "comfy", comfy)
    monkeypatch.setitem(sys.modules, "comfy.model_management", management)
    return management


def load(depth_nodes, **overrides):
    inputs = dict(model_type=SMALL, model_file=depth_nodes.OFFICIAL_FILE, path="", input_size=28)
    inputs.update(overrides)
    with torch.inference_mode():
        return depth_nodes.DeforumDepthModel().load(**inputs)[0]


def estimate(depth_nodes, image, model, normalization="min-max"):
    with torch.inference_mode():
        return depth_nodes.DeforumEstimateDepth().estimate(image, model, normalization)[0]


def test_widget_order_tooltips_and_registration(pack, depth_nodes):
    for node_id, names in WIDGETS.items():
        node = getattr(depth_nodes, node_id)
        inputs = node.INPUT_TYPES()["required"]
        assert list(inputs) == names
        assert all(options.get("tooltip") for _, options in inputs.values())
        assert len(node.OUTPUT_TOOLTIPS) == len(node.RETURN_TYPES) and node.DESCRIPTION
        assert pack.NODE_CLASS_MAPPINGS[node_id] is node
        assert pack.NODE_DISPLAY_NAME_MAPPINGS[node_id].startswith("Deforum")
    assert depth_nodes.DeforumDepthModel.RETURN_TYPES == ("DEFORUM_DEPTH_MODEL",)
    types_ = depth_nodes.DeforumDepthModel.INPUT_TYPES()["required"]["model_type"][0]
    assert "Midas-3-Hybrid" in types_ and SMALL in types_


def test_loads_from_a_path_and_estimates_grey_depth_images(depth_nodes, tiny_file):
    model = load(depth_nodes, path=str(tiny_file))
    image = torch.rand(2, 30, 44, 3)
    result = estimate(depth_nodes, image, model)
    assert result.shape == (2, 30, 44, 3) and result.dtype == torch.float32
    assert torch.equal(result[..., 0], result[..., 1]) and torch.equal(
        result[..., 0], result[..., 2]
    )
    for index in range(2):
        assert result[index].min() == 0.0 and result[index].max() == 1.0
    near = model.predict(image)[0].argmax()
    assert result[0, ..., 0].flatten()[near] == 1.0  # near is bright
    equalized = estimate(depth_nodes, image, model, "equalized (Deforum 3D)")
    z = model(image)
    assert torch.allclose(equalized[..., 0], 2.0 - z, atol=1e-6)


def test_model_folder_registration_listing_and_official_names(
    depth_nodes, depth, comfy_folders, tmp_path
):
    folder = tmp_path / "models" / "depth"
    paths, extensions = comfy_folders.folder_names_and_paths["depth"]
    assert paths == [str(folder)] and {".safetensors", ".pth", ".pt"} <= extensions
    depth_nodes.register_depth_folder()  # twice is harmless
    assert comfy_folders.folder_names_and_paths["depth"][0] == [str(folder)]

    with pytest.raises(depth.DepthModelFileNotFound) as caught:
        load(depth_nodes)
    text = str(caught.value)
    assert str(folder) in text and "depth_anything_v2_vits.pth" in text
    assert "huggingface.co/depth-anything/Depth-Anything-V2-Small" in text

    tiny_depth.write_tiny_depth_file(folder / "depth_anything_v2_vits.safetensors", SMALL, seed=2)
    tiny_depth.write_tiny_depth_file(folder / "sub" / "mine.safetensors", SMALL, seed=3)
    listed = depth_nodes.DeforumDepthModel.INPUT_TYPES()["required"]["model_file"][0]
    assert listed[0] == depth_nodes.OFFICIAL_FILE
    assert set(listed[1:]) == {
        "depth_anything_v2_vits.safetensors",
        os.path.join("sub", "mine.safetensors"),
    }
    official = load(depth_nodes)
    chosen = load(depth_nodes, model_file=os.path.join("sub", "mine.safetensors"))
    image = torch.rand(1, 28, 28, 3)
    assert torch.equal(
        official.predict(image), tiny_depth.tiny_depth_estimator(SMALL, 2, 28).predict(image)
    )
    assert not torch.equal(official.predict(image), chosen.predict(image))
    with pytest.raises(depth.DepthModelMismatch, match="set model_type to Depth-Anything-V2-Small"):
        load(
            depth_nodes,
            model_type="Depth-Anything-V2-Base",
            model_file="depth_anything_v2_vits.safetensors",
        )
    with pytest.raises(depth.DepthModelFileNotFound, match=r"gone\.pth"):
        load(depth_nodes, path=str(tmp_path / "models" / "depth" / "gone.pth"))


def test_follows_comfyui_memory_management(depth_nodes, tiny_file, model_management):
    model = load(depth_nodes, path=str(tiny_file))
    estimate(depth_nodes, torch.rand(3, 24, 32, 3), model)
    kinds = [event[0] for event in model_management.events]
    assert kinds == ["free_memory", "soft_empty_cache"]
    _, needed, device = model_management.events[0]
    assert needed > model.weight_bytes() > 0 and device == torch.device("cpu")
    assert model.device == torch.device("cpu")


def test_the_model_loads_once_for_many_estimates(depth_nodes, tiny_file, monkeypatch, pack):
    estimator_module = importlib.import_module("deforum_core.depth.estimator")
    loads = []
    original = estimator_module.load_depth_network
    monkeypatch.setattr(
        estimator_module,
        "load_depth_network",
        lambda *args, **kwargs: loads.append(args) or original(*args, **kwargs),
    )
    model = load(depth_nodes, path=str(tiny_file))
    for _ in range(3):
        estimate(depth_nodes, torch.rand(2, 20, 20, 3), model)
    assert len(loads) == 1 and model.calls == 6
    model.to("cpu")  # moved outside inference mode, as the loop may
    depth = model(torch.rand(1, 20, 20, 3))
    assert depth.shape == (1, 20, 20) and not depth.is_inference()
    depth.add_(1.0)  # an ordinary tensor: in-place updates work outside inference mode
