"""The run's record (settings.json): built from explicit data, it names what makes frames
differ (backend, sampler, scheduler, model file and fingerprint, depth model and weights),
so a resume with any of them changed is refused, while moving a model to another device is
not a change."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
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
