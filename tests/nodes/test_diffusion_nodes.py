"""The diffusion nodes called as ComfyUI calls them, with a recording backend or diffusers."""

from __future__ import annotations

import importlib
import types

import pytest
import torch
from tiny_models import tiny_sd_pipeline

WIDGETS = {
    "DeforumDiffuser": ["model", "clip", "vae", "sampler_name", "scheduler"],
    "DeforumDiffusersLoader": ["ckpt_name", "path", "sampler", "config"],
    "DeforumImg2Img": [
        "diffuser", "prompt", "negative", "strength", "steps", "cfg", "seed", "width", "height",
        "image", "prompts", "frame", "max_frames",
    ],
}  # fmt: skip


@pytest.fixture(scope="module")
def nodes(pack):
    return pack.NODE_CLASS_MAPPINGS


@pytest.fixture(scope="module")
def backend_module(pack):
    return importlib.import_module("deforum_core.diffusion.backend")


class RecordingBackend:
    """Returns the input (or grey) and remembers each request."""

    name = "recording"

    def __init__(self, result_type):
        self.requests = []
        self.result_type = result_type

    def diffuse(self, request):
        self.requests.append(request)
        width, height = request.size
        image = (
            request.image if request.image is not None else torch.full((1, height, width, 3), 0.5)
        )
        return self.result_type(image, request.steps - request.start)


def run(nodes, backend, **overrides):
    inputs = dict(
        diffuser=backend, prompt="a cat", negative="blurry", strength=0.5, steps=10,
        cfg=7.0, seed=3, width=64, height=32,
    )  # fmt: skip
    inputs.update(overrides)
    with torch.inference_mode():
        return nodes["DeforumImg2Img"]().diffuse(**inputs)


def test_widget_order_is_the_saved_workflow_contract(nodes):
    for node_id, names in WIDGETS.items():
        declared = nodes[node_id].INPUT_TYPES()
        assert [*declared["required"], *declared.get("optional", {})] == names, node_id


def test_every_input_has_a_tooltip(nodes):
    for node_id in WIDGETS:
        node = nodes[node_id]
        declared = node.INPUT_TYPES()
        for section in declared.values():
            for name, spec in section.items():
                assert spec[1].get("tooltip"), f"{node_id}.{name}"
        assert len(node.OUTPUT_TOOLTIPS) == len(node.RETURN_TYPES)
        assert node.DESCRIPTION and node.CATEGORY == "Deforum/diffusion"


def test_img2img_passes_the_frame_to_the_backend_and_reports_steps(nodes, backend_module):
    backend = RecordingBackend(backend_module.DiffusionResult)
    image = torch.rand(1, 32, 64, 3)
    output = run(nodes, backend, image=image, strength=0.3)
    (request,) = backend.requests
    assert request.text == backend_module.FrameText("a cat", "blurry")
    assert (request.strength, request.steps, request.cfg, request.seed) == (0.3, 10, 7.0, 3)
    assert output["ui"] == {"steps_run": [7]}
    assert output["result"][0] is image


def test_img2img_takes_the_frame_prompts_and_blend_from_a_schedule(pack, nodes, backend_module):
    prompts = importlib.import_module("deforum_core.prompts")
    schedule = prompts.parse_prompt_schedule('{"0": "a cat", "20": "a dog --neg dark"}')
    backend = RecordingBackend(backend_module.DiffusionResult)
    run(nodes, backend, prompts=schedule, frame=5, max_frames=30)
    text = backend.requests[0].text
    assert (text.positive, text.next_positive, text.next_negative) == ("a cat", "a dog", "dark")
    assert text.blend == pytest.approx(0.25)
    with pytest.raises(ValueError, match="frame 30 is past the last frame 29"):
        run(nodes, backend, prompts=schedule, frame=30, max_frames=30)


def test_sizes_are_checked_at_queue_time(nodes):
    validate = nodes["DeforumImg2Img"].VALIDATE_INPUTS
    assert validate(width=64, height=512) is True
    message = validate(width=60, height=64)
    assert message.startswith("width: 60 is not a multiple of 8")
    assert "fix: use 56 or 64" in message
    assert validate(width=64, height=8200).startswith("height: must be at most 8192")
    assert validate(width=["5", 0], height=64) is True  # linked: checked when it runs


def test_backend_errors_name_the_node(nodes, backend_module):
    backend = RecordingBackend(backend_module.DiffusionResult)
    backend.diffuse = lambda request: backend_module.check_request(request)
    with pytest.raises(backend_module.DiffusionError) as caught:
        run(nodes, backend, image=torch.rand(1, 30, 64, 3))
    assert str(caught.value).startswith("Deforum Img2Img: image is 64x30 pixels")


def test_comfy_diffuser_offers_fallback_lists_outside_comfyui(nodes):
    required = nodes["DeforumDiffuser"].INPUT_TYPES()["required"]
    assert "euler_ancestral" in required["sampler_name"][0]
    assert required["sampler_name"][1]["default"] == "euler_ancestral"


def test_diffusers_loader_loads_a_folder_and_diffuses(nodes, tmp_path):
    folder = tmp_path / "tiny-sd"
    tiny_sd_pipeline(tmp_path).save_pretrained(folder)
    loader = nodes["DeforumDiffusersLoader"]()
    with torch.inference_mode():
        (diffuser,) = loader.load("(use path)", str(folder), "euler", "")
    output = run(nodes, diffuser, image=torch.rand(1, 32, 32, 3), strength=0.5, steps=4)
    assert output["ui"] == {"steps_run": [2]}
    assert output["result"][0].shape == (1, 32, 32, 3)
    with pytest.raises(ValueError, match="no model chosen"):
        loader.load("(use path)", "  ", "euler", "")


class FakePatcher:
    """The part of ComfyUI's ModelPatcher the record reads: the module and its patches."""

    def __init__(self, module: torch.nn.Module, patches: dict | None = None) -> None:
        self.model = module
        self.patches = patches or {}


def test_comfyui_backend_record_tells_models_and_loras_apart(pack):
    comfy_backend = importlib.import_module(f"{pack.__name__}.nodes.comfy_backend")

    def described(model_seed: int, patches: dict | None = None) -> dict:
        torch.manual_seed(model_seed)
        model = FakePatcher(torch.nn.Linear(4, 4), patches)
        clip = types.SimpleNamespace(patcher=FakePatcher(torch.nn.Linear(2, 2)))
        vae = types.SimpleNamespace(first_stage_model=torch.nn.Conv2d(3, 4, 1))
        return comfy_backend.ComfyBackend(model, clip, vae, "euler", "karras").describe()

    lora = {"weight": [(1.0, (torch.ones(4, 4), torch.ones(4)), 1.0, None, None)]}
    weaker = {"weight": [(0.5, (torch.ones(4, 4), torch.ones(4)), 1.0, None, None)]}
    plain = described(0)
    assert plain == described(0)
    assert {k: plain[k] for k in ("backend", "sampler", "scheduler", "model_file")} == {
        "backend": "comfyui", "sampler": "euler", "scheduler": "karras", "model_file": None,
    }  # fmt: skip
    fingerprints = {
        described(0)["model_fingerprint"],
        described(1)["model_fingerprint"],
        described(0, lora)["model_fingerprint"],
        described(0, weaker)["model_fingerprint"],
    }
    assert len(fingerprints) == 4
