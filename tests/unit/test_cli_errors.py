"""Every bad input to the command line is answered with `error: ...` naming the problem and
exit status 2, never a traceback; a workflow that fails its checks writes nothing."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from deforum_app.cli import main

REPO_ROOT = Path(__file__).resolve().parents[2]
HEADLESS = REPO_ROOT / "workflows" / "headless"


def headless(name: str) -> dict:
    return json.loads((HEADLESS / f"{name}.json").read_text(encoding="utf-8"))


def node_id(workflow: dict, class_type: str) -> str:
    (found,) = [key for key, node in workflow.items() if node["class_type"] == class_type]
    return found


def edited(name: str, class_type: str, **inputs) -> dict:
    workflow = headless(name)
    workflow[node_id(workflow, class_type)]["inputs"].update(inputs)
    return workflow


def with_depth_file(path: Path) -> dict:
    workflow = edited("deforum_3d", "DeforumDepthModel", path=str(path))
    workflow[node_id(workflow, "DeforumAnimate")]["inputs"].update(width=64, height=64)
    return workflow


def answer(capsys, *arguments: str) -> tuple[int, str]:
    code = main(list(arguments))
    return code, capsys.readouterr().err


def write(folder: Path, content) -> str:
    path = folder / "workflow.json"
    path.write_text(content if isinstance(content, str) else json.dumps(content), "utf-8")
    return str(path)


def render_answer(capsys, tmp_path: Path, content, *options: str) -> str:
    out = tmp_path / "out"
    code, error = answer(capsys, "render", write(tmp_path, content), "--out", str(out), *options)
    assert code == 2, error
    assert error.startswith("error: ") and "Traceback" not in error
    return error


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("{not json", "is not valid JSON"),
        ("5", "is not an API-format workflow"),
        (
            edited("deforum_2d", "DeforumAnimate", motion=["3", 4]),
            "motion links to output 4 of node 3, which has 1 output(s) (DEFORUM_MOTION)",
        ),
        (
            edited("deforum_2d", "DeforumAnimate", motion=["6", 0]),
            "motion takes DEFORUM_MOTION, but output 0 of node 6 gives DEFORUM_NOISE",
        ),
        (edited("deforum_2d", "DeforumMotion2D", zooom="0:(1)"), "has no input 'zooom'"),
        (edited("deforum_2d", "DeforumAnimate", max_frames="ten"), "max_frames must be int"),
        (edited("deforum_2d", "DeforumAnimate", max_frames=0), "max_frames 0 is outside 1..100000"),
        (edited("deforum_2d", "DeforumNoise", noise_type="uniform"), "noise_type 'uniform' is not"),
        (
            {**headless("deforum_2d"), "9": {"class_type": "CheckpointLoaderSimple",
                                             "inputs": {"ckpt_name": "v1-5.safetensors"}}},
            "node 9 is 'CheckpointLoaderSimple', which is not a node of this pack",
        ),
    ],
    ids=["invalid-json", "number", "missing-output", "wrong-type", "unknown-input", "ten",
         "zero-frames", "bad-choice", "comfyui-only-node"],
)  # fmt: skip
def test_a_workflow_that_cannot_run_is_refused_before_anything_is_written(
    capsys, tmp_path, content, expected
):
    error = render_answer(capsys, tmp_path, content, "--preview")
    assert expected in error
    assert not (tmp_path / "out").exists()


def test_a_depth_file_that_is_not_plain_weights_is_refused(capsys, tmp_path):
    pickled = tmp_path / "depth_anything_v2_vits.pth"
    torch.save({"model": Path.cwd}, pickled)  # a pickle that would call code when loaded
    error = render_answer(capsys, tmp_path, with_depth_file(pickled), "--preview")
    assert "depth_anything_v2_vits.pth is not a plain weights file that can be read safely" in error
    assert "weights_only` set to `False`" not in error  # never advise loading it unsafely


def test_a_truncated_safetensors_depth_file_is_refused(capsys, tmp_path):
    truncated = tmp_path / "depth.safetensors"
    truncated.write_bytes(b"\x40\x00\x00\x00\x00\x00\x00\x00" + b'{"weight": {"dtype"')
    error = render_answer(capsys, tmp_path, with_depth_file(truncated), "--preview")
    assert "node 7 (DeforumDepthModel): path: depth.safetensors is not a readable .safetensors" in (
        error
    )
    assert "truncated" in error


def test_a_missing_init_image_is_named(capsys, tmp_path):
    workflow = edited("deforum_2d", "DeforumAnimate", width=64, height=64, max_frames=2)
    error = render_answer(capsys, tmp_path, workflow, "--preview", "--init", "missing.png")
    assert "cannot read the image missing.png: there is no such file" in error


def test_a_prompts_file_that_is_missing_is_named(capsys, tmp_path):
    code, error = answer(capsys, "prompts", f"@{tmp_path / 'missing.json'}")
    assert code == 2
    assert error.startswith("error: cannot read the prompts from ")
    assert "missing.json: No such file or directory" in error


def test_the_installed_command_prints_no_traceback(tmp_path):
    script = Path(sys.executable).with_name("deforum-comfy")
    path = write(tmp_path, "5")
    result = subprocess.run(
        [str(script), "render", path, "--out", str(tmp_path / "out")],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert result.returncode == 2
    assert result.stderr.startswith("error: ") and "Traceback" not in result.stderr
