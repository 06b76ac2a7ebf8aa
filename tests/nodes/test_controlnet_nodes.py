"""Deforum ControlNet and Deforum ControlNet Loader called as ComfyUI calls them, the units
on Animate (linked, and from a settings file), and the ComfyUI backend's conditioning with
stand-ins for comfy.sample and ComfyUI's ControlNet (the same calls ComfyUI's Apply
ControlNet (Advanced) node makes: copy, set_cond_hint, set_previous_controlnet)."""

from __future__ import annotations

import contextlib
import importlib
import sys
import types

import pytest
import torch
from fake_comfy import FakeFolderPaths
from recording_backend import RecordingBackend
from tiny_depth import tiny_depth_estimator

from deforum_core.controlnet import ControlHint, ControlUnit
from deforum_core.diffusion import DiffusionError, DiffusionRequest, FrameText
from deforum_core.errors import DeforumError, ScheduleError
from deforum_core.params import params_of
from deforum_core.prompts import parse_prompt_schedule
from deforum_core.settings_file import import_settings
from deforum_core.settings_file.loaded import LoadedSettings


@pytest.fixture
def nodes(pack):
    return importlib.import_module(f"{pack.__name__}.nodes.controlnet_nodes")


def widget_defaults(node_class) -> dict:
    required = node_class.INPUT_TYPES()["required"].items()
    return {name: spec[1]["default"] for name, spec in required if "default" in spec[1]}


def build(nodes, **changes):
    node = nodes.DeforumControlNet
    return node().build(**{"control_net": "cn", **widget_defaults(node), **changes})[0]


def test_the_node_is_the_unit_table_in_order_with_tooltips(pack, nodes):
    types_ = nodes.DeforumControlNet.INPUT_TYPES()
    assert list(types_["required"]) == ["control_net", *[p.name for p in params_of(ControlUnit)]]
    assert list(types_["optional"]) == ["video", "images", "depth_model", "previous"]
    assert types_["required"]["hint_source"][0] == ["video", "images", "image", "loopback"]
    assert types_["required"]["weight"][1]["deforum_schedule"] is True
    for node_id in ("DeforumControlNet", "DeforumControlNetLoader"):
        node = pack.NODE_CLASS_MAPPINGS[node_id]
        inputs = node.INPUT_TYPES()
        for section in ("required", "optional"):
            for name, spec in inputs.get(section, {}).items():
                assert spec[1].get("tooltip"), f"{node_id}.{name}"
        assert node.DESCRIPTION and node.OUTPUT_TOOLTIPS and "controlnet" in node.SEARCH_ALIASES
    assert pack.NODE_DISPLAY_NAME_MAPPINGS["DeforumControlNet"] == "Deforum ControlNet"
    animate = pack.NODE_CLASS_MAPPINGS["DeforumAnimate"].INPUT_TYPES()["optional"]
    assert list(animate)[-1] == "controlnet"  # appended: saved workflows keep their links
    assert animate["controlnet"][0] == "DEFORUM_CONTROLNET"


def test_units_chain_through_previous_and_keep_their_sources(nodes):
    first = build(nodes, control_net="a")
    images = torch.rand(2, 8, 8, 3)
    both = build(nodes, control_net="b", hint_source="images", images=images, previous=first,
                 weight="0:(0.5)", control_mode="controlnet")  # fmt: skip
    assert [unit.model for unit in both] == ["a", "b"]
    assert both[0] is first[0] and both[1].images is images
    assert both[1].weight.text == "0:(0.5)" and both[1].control_mode == "controlnet"


@pytest.mark.parametrize(
    ("changes", "parameter"),
    [({"hint_source": "video"}, "video"), ({"hint_source": "image"}, "images"),
     ({"preprocessor": "depth"}, "depth_model")],
)  # fmt: skip
def test_a_source_the_hint_needs_is_asked_for_by_name(nodes, changes, parameter):
    with pytest.raises(ScheduleError) as caught:
        build(nodes, **changes)
    assert caught.value.parameter == parameter and caught.value.hint


def test_schedules_are_checked_when_queued(nodes):
    validate = nodes.DeforumControlNet.VALIDATE_INPUTS
    assert validate(weight="0:(1)", guidance_start="0:(0)", guidance_end="0:(1)") is True
    refusal = validate(weight="0:(1,5)")
    assert isinstance(refusal, str) and refusal.startswith("weight:")


def test_animate_hands_each_key_its_controls(pack, host, nodes):
    backend = RecordingBackend()
    units = build(nodes, control_net="model", hint_source="image", images=torch.ones(1, 8, 8, 3))
    node_class = pack.NODE_CLASS_MAPPINGS["DeforumAnimate"]
    defaults = widget_defaults(node_class)
    inputs = {**defaults, "max_frames": 3, "width": 64, "height": 64, "base_seed": 1,
              "diffusion_cadence": 1}  # fmt: skip
    with torch.inference_mode():
        node_class().animate(prompts=parse_prompt_schedule("0: a lake"), diffuser=backend,
                             controlnet=units, **inputs)  # fmt: skip
    assert len(backend.requests) == 3
    for sent in backend.requests:
        (control,) = sent.control
        assert control.model == "model" and torch.equal(control.image, torch.ones(1, 64, 64, 3))


# ---------------------------------------------------------------------------------------------
# A settings file's units on Animate, with ComfyUI's model folder and loader standing in
# ---------------------------------------------------------------------------------------------

SETTINGS = {
    "animation_mode": "2D", "max_frames": 2, "W": 64, "H": 64, "diffusion_cadence": 1,
    "prompts": {"0": "a lake"}, "motion_preview_mode": False,
    "cn_1_enabled": True, "cn_1_model": "control_v11p_sd15_canny [d14c016b]",
    "cn_1_module": "canny", "cn_1_threshold_a": 50, "cn_1_threshold_b": 150,
    "cn_1_weight": "0:(0.7)", "cn_1_loopback_mode": True,
    "cn_2_enabled": True, "cn_2_model": "control_v11f1p_sd15_depth [cbe4e6ee]",
    "cn_2_module": "none", "cn_2_vid_path": "", "cn_2_loopback_mode": False,
    "cn_3_enabled": False, "cn_3_model": "None",
}  # fmt: skip


@pytest.fixture
def comfy_folders(tmp_path, monkeypatch):
    """folder_paths with a models/controlnet holding one file, and comfy.controlnet's loader."""
    fake = FakeFolderPaths(tmp_path / "models")
    folder = tmp_path / "models" / "controlnet"
    folder.mkdir(parents=True)
    (folder / "control_v11p_sd15_canny.pth").write_bytes(b"weights")
    fake.folder_names_and_paths["controlnet"] = ([str(folder)], {".pth", ".safetensors"})
    (tmp_path / "input").mkdir()
    loaded: list[str] = []
    comfy = types.ModuleType("comfy")
    comfy.controlnet = types.SimpleNamespace(
        load_controlnet=lambda path: loaded.append(path) or f"CONTROL_NET {path}"
    )
    monkeypatch.setitem(sys.modules, "folder_paths", fake)
    monkeypatch.setitem(sys.modules, "comfy", comfy)
    monkeypatch.setitem(sys.modules, "comfy.controlnet", comfy.controlnet)
    return loaded


def test_a_settings_files_units_render_with_the_models_found_by_name(
    pack, nodes, comfy_folders, tmp_path
):
    settings_nodes = importlib.import_module(f"{pack.__name__}.nodes.settings_nodes")
    imported = import_settings(SETTINGS, "cn.txt")
    loaded = LoadedSettings.load(imported, [tmp_path / "input"], "the input folder")
    notes: list = []
    assert nodes.file_units(loaded, preview=True, notes=notes) == ()  # a preview diffuses none
    assert comfy_folders == [] and notes == []
    backend = RecordingBackend()
    node_class = pack.NODE_CLASS_MAPPINGS["DeforumAnimate"]
    defaults = widget_defaults(node_class)
    with torch.inference_mode():
        result = node_class().animate(
            prompts=parse_prompt_schedule("0: a lake"), diffuser=backend,
            settings=settings_nodes.DeforumSettings(loaded, use_file_sampler=False), **defaults,
        )  # fmt: skip
    (path,) = comfy_folders
    assert path.endswith("control_v11p_sd15_canny.pth")
    second = backend.requests[1]
    (control,) = second.control  # cn_2's model is not in models/controlnet
    assert control.model == f"CONTROL_NET {path}" and control.weight == pytest.approx(0.7)
    assert set(control.image.unique().tolist()) <= {0.0, 1.0}  # canny edges of the frame
    run_dir = tmp_path / "output" / result["ui"]["run_dir"][0]
    report = (run_dir / "import_report.txt").read_text(encoding="utf-8")
    assert ("cn_2: no file in models/controlnet matches control_v11f1p_sd15_depth [cbe4e6ee]: "
            "the unit is left out") in report  # fmt: skip
    assert "cn_3_model: cn_3 is off" in report


# ---------------------------------------------------------------------------------------------
# Deforum ControlNet Loader
# ---------------------------------------------------------------------------------------------


def test_the_loader_loads_a_diffusers_controlnet_and_names_its_inputs(nodes, pipeline, tmp_path):
    from tiny_models import tiny_diffusers_controlnet

    folder = tmp_path / "cn"
    tiny_diffusers_controlnet(pipeline.unet).save_pretrained(folder)
    loader = nodes.DeforumControlNetLoader()
    (loaded,) = loader.load(nodes.USE_PATH, str(folder), "")
    assert loaded.describe()["file"] == "cn"
    with pytest.raises(DiffusionError, match=r"^control_net_name: no ControlNet chosen"):
        loader.load(nodes.USE_PATH, " ", "")
    with pytest.raises(DiffusionError, match=r"^path: no ControlNet file or diffusers folder"):
        loader.load(nodes.USE_PATH, str(tmp_path / "absent"), "")


def test_the_loader_takes_paths_inside_comfys_folders_only(nodes, tmp_path, monkeypatch):
    fake = FakeFolderPaths(tmp_path / "comfy" / "models")
    fake.folder_names_and_paths["controlnet"] = (
        [str(tmp_path / "comfy" / "models" / "cn")],
        {".pth"},
    )
    monkeypatch.setitem(sys.modules, "folder_paths", fake)
    monkeypatch.delenv("DEFORUM_ALLOW_OUTSIDE_PATHS", raising=False)
    secret = tmp_path / "secret.safetensors"
    secret.write_bytes(b"SECRET")
    loader = nodes.DeforumControlNetLoader()
    for arguments in ((nodes.USE_PATH, str(secret), ""), (nodes.USE_PATH, "x", str(tmp_path))):
        with pytest.raises(DeforumError, match="is not in ComfyUI's model or input folders") as c:
            loader.load(*arguments)
        assert "SECRET" not in str(c.value)
    with pytest.raises(DiffusionError, match=r"^control_net_name: 'absent.pth' is not in models"):
        loader.load("absent.pth", "", "")


# ---------------------------------------------------------------------------------------------
# The ComfyUI backend
# ---------------------------------------------------------------------------------------------


class FakeControlNet:
    """ComfyUI's ControlNet as of March 2024: copy, set_cond_hint, set_previous_controlnet."""

    def __init__(self, name: str, log: list) -> None:
        self.name, self.log, self.previous = name, log, None

    def copy(self):
        self.log.append(("copy", self.name))
        return type(self)(self.name, self.log)

    def set_cond_hint(self, cond_hint, strength=1.0, timestep_percent_range=(0.0, 1.0)):
        self.hint, self.strength, self.range = cond_hint, strength, timestep_percent_range
        return self

    def set_previous_controlnet(self, controlnet):
        self.previous = controlnet
        return self


class FakeControlNet2025(FakeControlNet):
    """Late-2025 ComfyUI's set_cond_hint, which takes the VAE (for latent ControlNets)."""

    def set_cond_hint(self, cond_hint, strength=1.0, timestep_percent_range=(0.0, 1.0),
                      vae=None, extra_concat=()):  # fmt: skip
        self.vae = vae
        return super().set_cond_hint(cond_hint, strength, timestep_percent_range)


class FakeClip:
    def tokenize(self, text):
        return text

    def encode_from_tokens(self, tokens, return_pooled=False):
        return torch.full((1, 2, 3), float(len(tokens))), torch.zeros(1, 3)


class FakeVae:
    def encode(self, pixels):
        return torch.zeros(1, 4, 4, 4)

    def decode(self, samples):
        return torch.zeros(1, 32, 32, 3)


@pytest.fixture
def sampled(monkeypatch):
    """comfy.sample recording the conditioning it is given."""
    given: list[dict] = []

    def sample(model, noise, steps, cfg, sampler, scheduler, positive, negative, latent, **kw):
        given.append({"positive": positive, "negative": negative})
        return latent

    comfy = types.ModuleType("comfy")
    comfy.sample = types.SimpleNamespace(
        prepare_noise=lambda latent, seed, noise_inds=None: torch.zeros(latent.shape),
        sample=sample,
    )
    monkeypatch.setitem(sys.modules, "comfy", comfy)
    monkeypatch.setitem(sys.modules, "comfy.sample", comfy.sample)
    monkeypatch.setitem(sys.modules, "latent_preview", None)
    return given


@pytest.fixture
def backend(pack):
    module = importlib.import_module(f"{pack.__name__}.nodes.comfy_backend")
    return module.ComfyBackend(object(), FakeClip(), FakeVae(), "euler", "normal")


def diffuse(backend, *control: ControlHint) -> None:
    backend.diffuse(DiffusionRequest(
        FrameText("a cat", "dark"), 0.5, 4, 7.0, 5, width=32, height=32,
        image=torch.rand(1, 32, 32, 3), control=control,
    ))  # fmt: skip


def test_units_are_chained_into_both_conditionings_as_comfy_does(backend, sampled):
    log: list = []
    first, second = FakeControlNet("first", log), FakeControlNet2025("second", log)
    hint = torch.rand(1, 32, 32, 3)
    diffuse(backend, ControlHint(first, hint, 0.8, 0.1, 0.9), ControlHint(second, hint, 0.5))
    (given,) = sampled
    (positive,), (negative,) = given["positive"], given["negative"]
    assert torch.equal(positive[0], torch.full((1, 2, 3), 5.0))  # the prompt, unchanged
    outer = positive[1]["control"]
    assert negative[1]["control"] is outer  # one copy per unit, shared by both
    assert positive[1]["control_apply_to_uncond"] is False
    assert (outer.name, outer.strength, outer.range) == ("second", 0.5, (0.0, 1.0))
    assert outer.vae is backend.vae  # 2025's set_cond_hint takes the VAE
    inner = outer.previous
    assert (inner.name, inner.strength, inner.range, inner.previous) == (
        "first", 0.8, (0.1, 0.9), None)  # fmt: skip
    assert torch.equal(inner.hint, hint.movedim(-1, 1))  # [B, C, H, W] in 0..1
    assert log == [("copy", "first"), ("copy", "second")]  # the user's models are not changed
    assert not hasattr(first, "hint")


def test_mode_controlnet_leaves_the_negative_without_the_unit(backend, sampled):
    unit = FakeControlNet("only", [])
    diffuse(backend, ControlHint(unit, torch.rand(1, 32, 32, 3), 1.0, mode="controlnet"))
    (given,) = sampled
    assert given["positive"][0][1]["control"].name == "only"
    assert "control" not in given["negative"][0][1]


def test_no_units_leave_the_conditioning_as_it_was(backend, sampled):
    diffuse(backend)
    (given,) = sampled
    assert given["positive"][0][1] == {"pooled_output": given["positive"][0][1]["pooled_output"]}
    assert "control" not in given["negative"][0][1]


def test_the_comfy_backend_refuses_a_diffusers_controlnet(backend, sampled):
    with pytest.raises(DiffusionError, match=r"^control_net: .*cannot run a object") as caught:
        diffuse(backend, ControlHint(object(), torch.rand(1, 32, 32, 3)))
    assert "Load ControlNet Model" in caught.value.hint and sampled == []


def test_a_unit_needs_its_model(nodes):
    with pytest.raises(ScheduleError, match=r"^control_net: a ControlNet unit needs its model"):
        ControlUnit()


def test_a_depth_units_model_is_on_the_compute_device_for_the_whole_render(
    pack, host, nodes, monkeypatch
):
    """As Animate's own depth model in 3D: put on ComfyUI's compute device once for the
    render (not per estimate, and in 2D too), every hint estimated there."""
    animation_nodes = importlib.import_module(f"{pack.__name__}.nodes.animation_nodes")
    estimator = tiny_depth_estimator()
    placed: list[object] = []
    estimates: list[bool] = []

    @contextlib.contextmanager
    def on_compute_device(model, height, width):
        placed.append(model)
        yield model
        placed.remove(model)

    original = estimator.image

    def image(picture):
        estimates.append(estimator in placed)
        return original(picture)

    monkeypatch.setattr(estimator, "image", image)
    monkeypatch.setattr(animation_nodes, "on_compute_device", on_compute_device)
    units = build(nodes, control_net="model", hint_source="image", images=torch.rand(1, 8, 8, 3),
                  preprocessor="depth", depth_model=estimator)  # fmt: skip
    units = build(nodes, control_net="other", hint_source="loopback", preprocessor="depth",
                  depth_model=estimator, previous=units)  # fmt: skip
    node_class = pack.NODE_CLASS_MAPPINGS["DeforumAnimate"]
    inputs = {**widget_defaults(node_class), "max_frames": 3, "width": 64, "height": 64,
              "base_seed": 1, "diffusion_cadence": 1, "animation_mode": "2D"}  # fmt: skip
    with torch.inference_mode():
        node_class().animate(prompts=parse_prompt_schedule("0: a lake"),
                             diffuser=RecordingBackend(), controlnet=units, **inputs)  # fmt: skip
    assert estimates == [True, True, True] and placed == []  # the image once, 2 loopbacks
