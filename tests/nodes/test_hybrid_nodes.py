"""Deforum Hybrid Video, Deforum Optical Flow and Deforum RAFT Model as ComfyUI runs them:
their widgets are the engine's parameters, they build the stages the loop takes, and the RAFT
model loads from ComfyUI's models/optical_flow folder or a path inside the model folders."""

from __future__ import annotations

import importlib
import os
import sys

import pytest
import torch
from fake_comfy import FakeFolderPaths
from moving_pictures import panning_video
from safetensors.torch import save_file

from deforum_core.errors import DeforumError
from deforum_core.flow.raft import build_raft
from deforum_core.hybrid.stage import HybridStage
from deforum_core.params import params_of
from deforum_core.stages.optical_flow import OpticalFlowStage


@pytest.fixture
def flow_nodes(pack):
    return importlib.import_module(f"{pack.__name__}.nodes.flow_nodes")


@pytest.fixture
def hybrid_nodes(pack):
    return importlib.import_module(f"{pack.__name__}.nodes.hybrid_nodes")


@pytest.fixture
def model_folders(tmp_path, monkeypatch, flow_nodes):
    fake = FakeFolderPaths(tmp_path / "models")
    monkeypatch.setitem(sys.modules, "folder_paths", fake)
    flow_nodes.register_model_folder(flow_nodes.FLOW_FOLDER, flow_nodes.RAFT_EXTENSIONS)
    return fake


def test_the_widgets_are_the_parameter_tables_in_order(pack, flow_nodes, hybrid_nodes) -> None:
    hybrid = hybrid_nodes.DeforumHybridVideo.INPUT_TYPES()
    assert list(hybrid["required"]) == ["video", *[p.name for p in params_of(HybridStage)]]
    assert list(hybrid["optional"]) == ["depth_model", "raft_model"]
    flow = flow_nodes.DeforumOpticalFlow.INPUT_TYPES()
    assert list(flow["required"]) == [p.name for p in params_of(OpticalFlowStage)]
    for node_id in ("DeforumHybridVideo", "DeforumOpticalFlow", "DeforumRaftModel"):
        assert node_id in pack.NODE_CLASS_MAPPINGS and node_id in pack.NODE_DISPLAY_NAME_MAPPINGS
    animate = pack.NODE_CLASS_MAPPINGS["DeforumAnimate"].INPUT_TYPES()["optional"]
    names = list(animate)  # appended after interpolation: saved workflows load
    after = names.index("interpolation") + 1
    assert names[after : after + 2] == ["hybrid", "optical_flow"]


def defaults(node) -> dict:
    return {name: spec[1]["default"] if len(spec) > 1 and "default" in spec[1] else spec[0][0]
            for name, spec in node.INPUT_TYPES()["required"].items()
            if name != "video"}  # fmt: skip


def test_the_hybrid_node_builds_the_stage_with_its_video(hybrid_nodes) -> None:
    node = hybrid_nodes.DeforumHybridVideo
    video = panning_video((1, 0))
    values = {**defaults(node), "motion": "Affine", "comp_alpha_schedule": "0:(0.25)"}
    (stage,) = node().build(video=video, **values)
    assert isinstance(stage, HybridStage) and stage.video is video
    assert stage.motion == "Affine" and stage.comp_alpha_schedule.text == "0:(0.25)"
    assert node.VALIDATE_INPUTS(comp_alpha_schedule="0:(0,5)") != True  # noqa: E712
    with pytest.raises(DeforumError, match="needs a RAFT model"):
        node().build(video=video, **{**values, "motion": "Optical Flow", "flow_method": "RAFT"})


def test_the_optical_flow_node_builds_the_stage(flow_nodes) -> None:
    node = flow_nodes.DeforumOpticalFlow
    values = {**defaults(node), "optical_flow_cadence": "DIS Medium", "diffusion_redo": 1}
    (stage,) = node().build(**values)
    assert isinstance(stage, OpticalFlowStage) and stage.optical_flow_cadence == "DIS Medium"
    assert stage.diffusion_redo == 1


def raft_state() -> dict[str, torch.Tensor]:
    torch.manual_seed(0)
    return {key: value.contiguous() for key, value in build_raft("small").state_dict().items()}


def test_raft_loads_from_the_optical_flow_folder_or_a_path(flow_nodes, model_folders) -> None:
    folder = model_folders.get_folder_paths(flow_nodes.FLOW_FOLDER)[0]
    os.makedirs(folder, exist_ok=True)
    save_file(raft_state(), os.path.join(folder, "raft_small.safetensors"))
    choices = flow_nodes.DeforumRaftModel.INPUT_TYPES()["required"]["model_file"][0]
    assert choices == [flow_nodes.USE_PATH, "raft_small.safetensors"]
    (model,) = flow_nodes.DeforumRaftModel().load("raft_small.safetensors", "")
    assert model.describe()["model"] == "RAFT small"
    assert model.describe()["weights_file"] == "raft_small.safetensors"
    (by_path,) = flow_nodes.DeforumRaftModel().load(
        flow_nodes.USE_PATH, "optical_flow/raft_small.safetensors"
    )
    assert by_path.describe() == model.describe()


def test_raft_errors_name_the_input_and_never_the_files_content(flow_nodes, model_folders):
    folder = model_folders.get_folder_paths(flow_nodes.FLOW_FOLDER)[0]
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, "notes.pth"), "w", encoding="utf-8") as handle:
        handle.write("SECRET words")
    with pytest.raises(DeforumError) as caught:
        flow_nodes.DeforumRaftModel().load(flow_nodes.USE_PATH, "optical_flow/notes.pth")
    assert str(caught.value).startswith("path: ") and "SECRET" not in str(caught.value)
    with pytest.raises(DeforumError, match="model_file: no RAFT weights chosen"):
        flow_nodes.DeforumRaftModel().load(flow_nodes.USE_PATH, "")
    with pytest.raises(DeforumError, match="path: '/etc/passwd' is not in ComfyUI's model"):
        flow_nodes.DeforumRaftModel().load(flow_nodes.USE_PATH, "/etc/passwd")
