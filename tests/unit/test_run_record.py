"""The run's record (settings.json): built from explicit data, it names what makes frames
differ (backend, sampler, scheduler, model file and fingerprint, depth model and weights),
so a resume with any of them changed is refused, while moving a model to another device is
not a change."""

from __future__ import annotations

import importlib
import json
import shutil
import sys
import types
from pathlib import Path

import pytest
import torch
from tiny_depth import tiny_depth_estimator, write_tiny_depth_file

from deforum_core.depth import DepthEstimator
from deforum_core.diffusion import DiffusersBackend, load_diffusers_backend
from deforum_core.prompts import parse_prompt_schedule
from deforum_core.render import (
    AnimationSettings,
    RenderCallbacks,
    RenderCancelled,
    RunDirectoryError,
    Stages,
    render_animation,
)
from deforum_core.stages import Motion3DStage

PROMPTS = parse_prompt_schedule("0: a lake")
SMALL = "Depth-Anything-V2-Small"


def settings(**overrides) -> AnimationSettings:
    values = {"animation_mode": "3D", "max_frames": 4, "width": 64, "height": 64,
              "base_seed": 3, "diffusion_cadence": 2, "steps_schedule": "0:(2)"}  # fmt: skip
    return AnimationSettings(**{**values, **overrides})


def stages(depth) -> Stages:
    return Stages(PROMPTS, Motion3DStage(translation_z="0:(5)"), depth_model=depth)


def stop_after_first_frame() -> RenderCallbacks:
    written = []

    def check_cancel():
        if written:
            raise RenderCancelled()

    return RenderCallbacks(on_frame=lambda *frame: written.append(frame), check_cancel=check_cancel)


@pytest.fixture(scope="module")
def model_folder(pipeline, tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("model") / "tiny-sd"
    pipeline.save_pretrained(folder)
    return folder


@pytest.fixture(scope="module")
def depth_file(tmp_path_factory) -> Path:
    return write_tiny_depth_file(tmp_path_factory.mktemp("depth") / "tiny.safetensors", SMALL)


def cancelled_run(folder: Path, backend, depth) -> Path:
    with pytest.raises(RenderCancelled):
        render_animation(settings(), stages(depth), backend, folder,
                         callbacks=stop_after_first_frame())  # fmt: skip
    return folder


def test_the_record_names_backend_sampler_model_and_depth_weights(
    model_folder, depth_file, tmp_path
):
    backend = load_diffusers_backend(model_folder, sampler="euler_a", device="cpu")
    depth = DepthEstimator.from_file(SMALL, depth_file)
    run = cancelled_run(tmp_path / "run", backend, depth)
    record = json.loads((run / "settings.json").read_text(encoding="utf-8"))

    diffuser = record["diffuser"]
    assert diffuser["backend"] == "diffusers" and diffuser["sampler"] == "euler_a"
    assert diffuser["scheduler"] == "EulerAncestralDiscreteScheduler"
    assert diffuser["model_file"] == "tiny-sd" and len(diffuser["model_fingerprint"]) == 16
    described = record["stages"]["depth_model"]
    assert described["model_type"] == SMALL and described["weights_file"] == "tiny.safetensors"
    assert len(described["weights_fingerprint"]) == 16
    assert record["stages"]["motion"]["translation_z"] == "0:(5)"
    text = json.dumps(record)
    assert "cpu" not in text and "DepthEstimator(" not in text  # explicit data, not reprs


def test_resume_refuses_another_sampler_or_model(model_folder, pipeline, tmp_path):
    depth = tiny_depth_estimator(input_size=28)
    run = cancelled_run(tmp_path / "run", load_diffusers_backend(model_folder, device="cpu"),
                        depth)  # fmt: skip
    other_sampler = load_diffusers_backend(model_folder, sampler="euler", device="cpu")
    with pytest.raises(
        RunDirectoryError, match=r"settings differ from the saved ones \(diffuser\)"
    ):
        render_animation(settings(), stages(depth), other_sampler, run, resume=True)
    unsaved = DiffusersBackend(pipeline, "euler_a")  # the same weights, not from that folder
    with pytest.raises(RunDirectoryError, match=r"\(diffuser\)"):
        render_animation(settings(), stages(depth), unsaved, run, resume=True)


def test_resume_refuses_another_depth_model_but_not_another_device(pipeline, tmp_path):
    backend = DiffusersBackend(pipeline, "euler_a")
    depth = tiny_depth_estimator(input_size=28)
    run = cancelled_run(tmp_path / "run", backend, depth)
    with pytest.raises(RunDirectoryError, match=r"\(stages\)"):
        render_animation(settings(), stages(tiny_depth_estimator(seed=9, input_size=28)),
                         backend, run, resume=True)  # fmt: skip
    moved = tiny_depth_estimator(input_size=28).to("meta")  # the same weights, elsewhere
    assert moved.describe() == depth.describe()
    result = render_animation(settings(), stages(depth), backend, run, resume=True)
    assert result.frames_written == 4


def test_resume_refuses_another_diffusers_scheduler_config(model_folder, tmp_path):
    depth = tiny_depth_estimator(input_size=28)
    backend = load_diffusers_backend(model_folder, device="cpu")
    run = cancelled_run(tmp_path / "run", backend, depth)
    edited = tmp_path / "edited" / model_folder.name  # the same weights under the same name
    shutil.copytree(model_folder, edited)
    config_file = edited / "scheduler" / "scheduler_config.json"
    config = json.loads(config_file.read_text(encoding="utf-8"))
    config_file.write_text(json.dumps({**config, "timestep_spacing": "trailing"}))
    other = load_diffusers_backend(edited, device="cpu")
    before, after = backend.describe(), other.describe()
    assert {key for key in before if before[key] != after[key]} == {"scheduler_config"}
    with pytest.raises(RunDirectoryError, match=r"\(diffuser\)"):
        render_animation(settings(), stages(depth), other, run, resume=True)


def test_a_run_recorded_before_the_scheduler_config_resumes(model_folder, tmp_path):
    """Records written before `scheduler_config` was recorded resume with the model as it is."""
    depth = tiny_depth_estimator(input_size=28)
    backend = load_diffusers_backend(model_folder, device="cpu")
    run = cancelled_run(tmp_path / "run", backend, depth)
    record = json.loads((run / "settings.json").read_text(encoding="utf-8"))
    del record["diffuser"]["scheduler_config"]
    (run / "settings.json").write_text(json.dumps(record), encoding="utf-8")
    result = render_animation(settings(), stages(depth), backend, run, resume=True)
    assert result.frames_written == settings().max_frames


class PassThroughClip:
    """Encodes a text as its length: enough for the ComfyUI backend to condition on."""

    def tokenize(self, text: str) -> str:
        return text

    def encode_from_tokens(self, tokens: str, return_pooled: bool = False):
        return torch.full((1, 2, 3), float(len(tokens))), torch.zeros(1, 3)


class PassThroughVae:
    """A VAE whose latent is the picture itself, so frames keep their size."""

    latent_channels, downscale_ratio = 3, 1

    def encode(self, pixels: torch.Tensor) -> torch.Tensor:
        return pixels.movedim(-1, 1)

    def decode(self, samples: torch.Tensor) -> torch.Tensor:
        return samples.movedim(1, -1)


@pytest.fixture
def comfy_backend(pack, monkeypatch):
    """ComfyBackend over a stand-in comfy.sample whose sampler returns the latent it gets;
    called with a scheduler name."""
    comfy = types.ModuleType("comfy")
    comfy.sample = types.SimpleNamespace(
        prepare_noise=lambda latent, seed, noise_inds=None: torch.zeros_like(latent),
        sample=lambda model, noise, steps, cfg, sampler, scheduler, positive, negative, latent,
        **options: latent,
    )  # fmt: skip
    monkeypatch.setitem(sys.modules, "comfy", comfy)
    monkeypatch.setitem(sys.modules, "comfy.sample", comfy.sample)
    monkeypatch.setitem(sys.modules, "latent_preview", None)  # no previews outside ComfyUI
    module = importlib.import_module(f"{pack.__name__}.nodes.comfy_backend")
    model = object()  # the same MODEL, CLIP and VAE for every backend
    clip, vae = PassThroughClip(), PassThroughVae()
    return lambda scheduler: module.ComfyBackend(model, clip, vae, "euler", scheduler)


def test_resume_refuses_another_comfyui_scheduler(comfy_backend, tmp_path):
    depth = tiny_depth_estimator(input_size=28)
    run = cancelled_run(tmp_path / "run", comfy_backend("normal"), depth)
    with pytest.raises(
        RunDirectoryError, match=r"settings differ from the saved ones \(diffuser\)"
    ):
        render_animation(settings(), stages(depth), comfy_backend("karras"), run, resume=True)
    result = render_animation(settings(), stages(depth), comfy_backend("normal"), run,
                              resume=True)  # fmt: skip
    assert result.frames_written == 4
