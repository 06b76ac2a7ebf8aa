"""`deforum-comfy render`: the headless twins run without ComfyUI, with a tiny diffusers model
and as a motion preview without any model."""

import json
from pathlib import Path

import av
import pytest
from digests import frames_digest
from tiny_models import tiny_sd_pipeline

from deforum_app.cli import main
from deforum_core.render import RunDirectory

REPO_ROOT = Path(__file__).resolve().parents[2]
HEADLESS_2D = REPO_ROOT / "workflows" / "headless" / "deforum_2d.json"
HEADLESS_STILL = REPO_ROOT / "workflows" / "headless" / "deforum_still.json"


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("model") / "tiny-sd"
    tiny_sd_pipeline(tmp_path_factory.mktemp("scratch")).save_pretrained(folder)
    return folder


def small_copy(source: Path, folder: Path, model: Path | None, **animate) -> Path:
    """The workflow at 64x64 with few frames and steps, using the given model folder."""
    workflow = json.loads(source.read_text(encoding="utf-8"))
    for node in workflow.values():
        inputs = node["inputs"]
        if node["class_type"] == "DeforumDiffusersLoader" and model is not None:
            inputs["path"] = str(model)
        if node["class_type"] == "DeforumAnimate":
            inputs.update({"width": 64, "height": 64, "steps_schedule": "0:(3)", **animate})
    path = folder / source.name
    path.write_text(json.dumps(workflow), encoding="utf-8")
    return path


def video_frames(path: Path) -> int:
    with av.open(str(path)) as container:
        return sum(1 for _ in container.decode(video=0))


def only_run(out: Path) -> Path:
    (run,) = (out / "deforum").iterdir()
    return run


def test_headless_2d_renders_with_a_tiny_model_byte_identically_twice(tiny_model, tmp_path, capsys):
    workflow = small_copy(HEADLESS_2D, tmp_path, tiny_model, max_frames=7, diffusion_cadence=3)
    assert main(["render", str(workflow), "--out", str(tmp_path / "a")]) == 0
    assert main(["render", str(workflow), "--out", str(tmp_path / "b")]) == 0
    first, second = only_run(tmp_path / "a"), only_run(tmp_path / "b")
    assert len(RunDirectory(first).frame_paths()) == 7
    assert frames_digest(first) == frames_digest(second)
    assert video_frames(first / "deforum.mp4") == 7
    settings = json.loads((first / "settings.json").read_text())
    assert settings["base_seed"] == 1234 and settings["diffuser"]["backend"] == "diffusers"
    printed = capsys.readouterr().out
    assert f"video: {first / 'deforum.mp4'}" in printed


def test_motion_preview_runs_without_any_model(tmp_path):
    workflow = small_copy(HEADLESS_2D, tmp_path, None, max_frames=5)
    assert main(["render", str(workflow), "--out", str(tmp_path / "out"), "--preview"]) == 0
    run = only_run(tmp_path / "out")
    assert len(RunDirectory(run).frame_paths()) == 5
    assert video_frames(run / "deforum.mp4") == 5
    assert json.loads((run / "settings.json").read_text())["diffuser"] is None


def test_headless_still_renders_one_image_per_prompt(tiny_model, tmp_path):
    workflow = small_copy(HEADLESS_STILL, tmp_path, tiny_model)
    assert main(["render", str(workflow), "--out", str(tmp_path / "out")]) == 0
    run = only_run(tmp_path / "out")
    assert len(RunDirectory(run).frame_paths()) == 4
    assert video_frames(run / "deforum.gif") == 4


@pytest.mark.parametrize(
    ("workflow", "message"),
    [
        (REPO_ROOT / "workflows" / "deforum_schedules.json", "is a UI workflow"),
        ({"1": {"class_type": "CheckpointLoaderSimple", "inputs": {}}}, "not a node of this pack"),
        ({"1": {"class_type": "DeforumNoise", "inputs": {"noise": ["2", 0]}}}, "does not exist"),
    ],
)
def test_workflows_it_cannot_run_are_explained(tmp_path, capsys, workflow, message):
    if isinstance(workflow, dict):
        path = tmp_path / "workflow.json"
        path.write_text(json.dumps(workflow), encoding="utf-8")
        workflow = path
    assert main(["render", str(workflow), "--out", str(tmp_path / "out")]) == 2
    assert message in capsys.readouterr().err


def test_a_render_without_a_model_path_says_how_to_fix_it(tmp_path, capsys):
    workflow = small_copy(HEADLESS_2D, tmp_path, None, max_frames=2)
    data = json.loads(workflow.read_text())
    data["1"]["inputs"]["path"] = str(tmp_path / "no-such-model")
    workflow.write_text(json.dumps(data))
    assert main(["render", str(workflow), "--out", str(tmp_path / "out")]) == 2
    error = capsys.readouterr().err
    assert "no-such-model" in error
    assert not (tmp_path / "out").exists() or not list((tmp_path / "out").rglob("frame_*.png"))
