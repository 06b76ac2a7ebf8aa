"""Every shipped workflow renders the very frames recorded in tests/golden/render_digests.json.

The digests guard every
change that should not alter a picture: the UI workflows queued in each real ComfyUI as the
frontend sends them (each generation samples in its own way, so each has its own digests),
and their headless twins run by the `deforum-comfy` command, with the tiny models, shrunk
through the workflows' own widgets. Each frame (and depth map) is compared by the SHA-256 of
its decoded pixels, so a single changed level fails, while a PNG encoder that packs the same
pixels differently does not.

The renders run with numerics pinned (tests/reproducible/reproducible_numerics.py, loaded by
conftest.py) and with the package versions of .ci/constraints.txt, which .ci/setup installs.
A CPU of another maker still differs in the last bits of a float, which the renders carry
into the pictures: measured on 2026-12-04 and again on 2026-12-07, an Intel Xeon (Sapphire
Rapids) and an AMD EPYC differ in every img2img frame and in the 2D motion preview. So the
digests are recorded per CPU maker (machine_kind(): the vendor of /proc/cpuinfo and the
architecture), one set for each kind CI runs on, and a render is compared with its own kind's.
Run with DEFORUM_RECORD_DIGESTS=1 to record this machine's kind anew; do that only for a
change that is meant to alter the pictures (on every kind), and say so in the commit.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import subprocess
import sys
from collections.abc import Mapping
from contextlib import suppress
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
from clips import write_clip
from comfyui_harness import (
    REPO_ROOT,
    ComfyServer,
    load_workflow,
    node_of,
    set_widgets,
    widget_values,
    workflow_to_api_prompt,
)
from tiny_depth import write_tiny_depth_file
from tiny_models import TINY_CHECKPOINT, tiny_sd_pipeline

from deforum_core import parse_schedule
from deforum_core.plot import plot_schedule

GOLDEN = REPO_ROOT / "tests" / "golden" / "render_digests.json"
CONSTRAINTS = REPO_ROOT / ".ci" / "constraints.txt"
RECORD = os.environ.get("DEFORUM_RECORD_DIGESTS") == "1"
WORKFLOWS = REPO_ROOT / "workflows"
HEADLESS = WORKFLOWS / "headless"
DEPTH_FILE = "deforum_tiny_depth_anything_v2_vits.safetensors"
DEPTH_TYPE = "Depth-Anything-V2-Small"
SIZE = 64
DEFORUM_COMFY = Path(sys.executable).with_name("deforum-comfy")
CLIP = "deforum_clip.mp4"  # the clip deforum_video_input.json and deforum_hybrid.json name


def write_test_clip(folder: Path) -> Path:
    """The video input's clip: 12 frames of a moving square, lossless so decoding is exact."""
    return write_clip(folder / CLIP, frames=12, size=(SIZE, SIZE), codec="libx264rgb")


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:16]


def pixels_digest(path: Path) -> str:
    """The digest of a picture file's pixels, with their shape and depth (8 or 16 bits)."""
    pixels = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    assert pixels is not None, f"{path.name} is not a readable picture"
    return digest(f"{pixels.shape} {pixels.dtype}".encode() + pixels.tobytes())


def run_digests(folder: Path) -> dict[str, str]:
    """The pixel digest of every frame and depth map of a run folder, by file name."""
    files = sorted([*folder.glob("frame_*.png"), *folder.glob("depth_*.png")])
    return {path.name: pixels_digest(path) for path in files}


def machine_kind() -> str:
    """What the digests are recorded by: the CPU's maker and the architecture."""
    vendor = "unknown vendor"
    with suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("vendor_id"):
                vendor = line.split(":", 1)[1].strip()
                break
    return f"{vendor} {platform.machine()}"


def check(name: str, found: Mapping[str, str]) -> None:
    """Compare with this machine kind's recorded digests (or record them when
    DEFORUM_RECORD_DIGESTS=1)."""
    every_kind = json.loads(GOLDEN.read_text(encoding="utf-8")) if GOLDEN.is_file() else {}
    kind = machine_kind()
    recorded = every_kind.setdefault(kind, {})
    if RECORD:
        recorded[name] = dict(found)
        GOLDEN.parent.mkdir(parents=True, exist_ok=True)
        GOLDEN.write_text(json.dumps(every_kind, indent=1, sort_keys=True) + "\n",
                          encoding="utf-8")  # fmt: skip
        return
    assert name in recorded, (
        f"no digests recorded for {name} on a {kind} machine (recorded for: "
        f"{', '.join(sorted(every_kind))}); see the module docstring"
    )
    expected = recorded[name]
    assert list(found) == list(expected), name
    changed = [file for file in expected if found[file] != expected[file]]
    assert changed == [], f"{name}: these files differ from the recorded render: {changed}"


def test_every_process_renders_with_the_pinned_numerics() -> None:
    """The digests hold only with tests/reproducible's kernels, in this process and in those
    it starts (the command line, the ComfyUI servers): each kernel choice alone moves frames."""
    import torch

    probe = ("import torch; print(torch.backends.mkldnn.enabled, torch.get_num_threads(), "
             "torch.backends.cpu.get_cpu_capability())")  # fmt: skip
    started = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                             check=True).stdout.split()  # fmt: skip
    here = [str(torch.backends.mkldnn.enabled), str(torch.get_num_threads()),
            torch.backends.cpu.get_cpu_capability()]  # fmt: skip
    assert started == here == ["False", "1", "DEFAULT"]
    assert os.environ["MKL_CBWR"] == "COMPATIBLE"


def test_the_packages_are_the_recorded_versions() -> None:
    """A package release that changes a picture (OpenCV 5.1 drew lines anew) must not turn the
    digests red on its own: the tests run with the versions of .ci/constraints.txt."""
    from importlib.metadata import version

    pins = dict(line.split("==") for line in CONSTRAINTS.read_text(encoding="utf-8").split()
                if "==" in line)  # fmt: skip
    for package in ("torch", "numpy", "opencv-python", "diffusers", "transformers", "safetensors"):
        assert version(package) == pins[package], f"{package}: run bash .ci/setup"


# -- headless twins, through the command line -------------------------------------------------


@pytest.fixture(scope="module")
def model_folders(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A saved tiny diffusers model, a tiny depth model file, and the input folder with the
    video input's clip."""
    root = tmp_path_factory.mktemp("models")
    tiny_sd_pipeline(root / "scratch").save_pretrained(root / "tiny-sd")
    write_tiny_depth_file(root / DEPTH_FILE, DEPTH_TYPE)
    (root / "input").mkdir()
    write_test_clip(root / "input")
    return {"diffusers": root / "tiny-sd", "depth": root / DEPTH_FILE, "input": root / "input"}


def headless_copy(
    name: str, folder: Path, models: Mapping[str, Path], animate: Mapping[str, Any],
    nodes: Mapping[str, Mapping[str, Any]],
) -> Path:  # fmt: skip
    """The headless twin with the tiny models, a small render and the given node inputs."""
    workflow = json.loads((HEADLESS / f"{name}.json").read_text(encoding="utf-8"))
    for node in workflow.values():
        inputs = node["inputs"]
        if node["class_type"] == "DeforumDiffusersLoader":
            inputs["path"] = str(models["diffusers"])
        if node["class_type"] == "DeforumDepthModel":
            inputs.update(path=str(models["depth"]), input_size=56)
        if node["class_type"] == "DeforumAnimate":
            inputs.update(animate)
        inputs.update(nodes.get(node["class_type"], {}))
    path = folder / f"{name}.json"
    path.write_text(json.dumps(workflow), encoding="utf-8")
    return path


def render(workflow: Path, out: Path, input_folder: Path, *options: str) -> Path:
    command = [str(DEFORUM_COMFY), "render", str(workflow), "--out", str(out), "--input"]
    result = subprocess.run(
        [*command, str(input_folder), *options],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    (run,) = (out / "deforum").iterdir()
    return run


TINY_RENDER = {"width": SIZE, "height": SIZE, "steps_schedule": "0:(3)"}
PINHOLE = {"DeforumMotion3D": {"camera": "pinhole"}}  # the 3D camera of the first release
# the interpolation workflow's three prompts, 2 frames apart: 7 frames
SEVEN_FRAMES = {"interpolate_key_frames": False, "interpolate_x_frames": 2}
SEVEN_MORPHS = {"DeforumInterpolation": SEVEN_FRAMES}
HEADLESS_RENDERS = {
    "cli/deforum_2d": ("deforum_2d", {**TINY_RENDER, "max_frames": 7, "diffusion_cadence": 3}, (),
                       {}),
    "cli/deforum_still": ("deforum_still", TINY_RENDER, (), {}),
    "cli/deforum_video_input": ("deforum_video_input", TINY_RENDER, (), {}),
    "cli/deforum_settings_file": ("deforum_settings_file", {}, (), {
        "DeforumLoadSettings": {"max_frames": 6, "width": SIZE, "height": SIZE}}),
    "cli/deforum_3d": ("deforum_3d", {**TINY_RENDER, "max_frames": 6}, (), {}),
    "cli/deforum_3d_pinhole": ("deforum_3d", {**TINY_RENDER, "max_frames": 6}, (), PINHOLE),
    "cli/deforum_interpolation": ("deforum_interpolation", TINY_RENDER, (), SEVEN_MORPHS),
    # the clip's 12 frames restyled in 2D, moved by its optical flow
    "cli/deforum_hybrid": ("deforum_hybrid", TINY_RENDER, (), {}),
    # the README's main job, shortened: the motion preview at the workflow's own size
    "cli/deforum_2d_preview": ("deforum_2d", {"max_frames": 12}, ("--preview",), {}),
    "cli/deforum_3d_preview": ("deforum_3d", {**TINY_RENDER, "max_frames": 7}, ("--preview",), {}),
    "cli/deforum_3d_preview_pinhole": (
        "deforum_3d", {**TINY_RENDER, "max_frames": 7}, ("--preview",), PINHOLE,
    ),
}  # fmt: skip


@pytest.mark.parametrize("name", sorted(HEADLESS_RENDERS))
def test_headless_twins_render_the_recorded_frames(
    name: str, model_folders: dict[str, Path], tmp_path: Path
) -> None:
    workflow_name, animate, options, nodes = HEADLESS_RENDERS[name]
    workflow = headless_copy(workflow_name, tmp_path, model_folders, animate, nodes)
    run = render(workflow, tmp_path / "out", model_folders["input"], *options)
    check(name, run_digests(run))


# -- UI workflows, in the real ComfyUI --------------------------------------------------------


@pytest.fixture(scope="module")
def depth_in_server(comfyui_server: ComfyServer) -> str:
    write_tiny_depth_file(comfyui_server.root / "models" / "depth" / DEPTH_FILE, DEPTH_TYPE)
    return DEPTH_FILE


SAVED_V0_1 = REPO_ROOT / "tests" / "golden" / "saved_v0_1"
UI_RENDERS = {
    "deforum_2d": (WORKFLOWS / "deforum_2d.json", {"max_frames": 12, "diffusion_cadence": 3}),
    "deforum_still": (WORKFLOWS / "deforum_still.json", {}),
    "deforum_3d": (WORKFLOWS / "deforum_3d.json", {"max_frames": 8}),
    "deforum_video_input": (WORKFLOWS / "deforum_video_input.json", {}),
    "deforum_interpolation": (WORKFLOWS / "deforum_interpolation.json", {}),
    "deforum_hybrid": (WORKFLOWS / "deforum_hybrid.json", {}),
    # the settings file's own frame count and size, shrunk by Load Settings' overrides
    "deforum_settings_file": (WORKFLOWS / "deforum_settings_file.json", {}),
    # a workflow saved before the camera input: it renders with the pinhole camera, as then
    "deforum_3d_saved_v0_1": (SAVED_V0_1 / "deforum_3d.json", {"max_frames": 8}),
}


@pytest.mark.comfyui
@pytest.mark.parametrize("name", sorted(UI_RENDERS))
def test_ui_workflows_render_the_recorded_frames_in_comfyui(
    name: str, comfyui_server: ComfyServer, object_info: dict, checkpoint: str,
    depth_in_server: str,
) -> None:  # fmt: skip
    path, animate = UI_RENDERS[name]
    workflow_name = path.stem
    workflow = load_workflow(path)
    set_widgets(workflow, object_info, "CheckpointLoaderSimple", ckpt_name=TINY_CHECKPOINT)
    if workflow_name == "deforum_3d":
        set_widgets(workflow, object_info, "DeforumDepthModel", model_file=DEPTH_FILE,
                    input_size=56)  # fmt: skip
        set_widgets(workflow, object_info, "DeforumMotion3D", save_depth_maps=True)
    if workflow_name in ("deforum_video_input", "deforum_hybrid"):
        write_test_clip(comfyui_server.input_dir)
    if workflow_name == "deforum_interpolation":
        set_widgets(workflow, object_info, "DeforumInterpolation", **SEVEN_FRAMES)
    if workflow_name == "deforum_settings_file":
        set_widgets(workflow, object_info, "DeforumLoadSettings", max_frames=6, width=SIZE,
                    height=SIZE)  # fmt: skip
    set_widgets(
        workflow, object_info, "DeforumAnimate", run_name=f"digest_{name}",
        width=SIZE, height=SIZE, steps_schedule="0:(2)", **animate,
    )  # fmt: skip
    prompt = workflow_to_api_prompt(workflow, object_info)
    outputs = comfyui_server.client.run_prompt(prompt, workflow, timeout_s=180)["outputs"]
    (subfolder,) = outputs[str(node_of(workflow, "DeforumAnimate")["id"])]["run_dir"]
    check(
        f"{comfyui_server.generation.name}/{name}",
        run_digests(comfyui_server.output_dir / subfolder),
    )


@pytest.mark.comfyui
def test_schedules_workflow_plots_the_recorded_curve_in_comfyui(
    comfyui_server: ComfyServer, object_info: dict
) -> None:
    """The schedule's values, by digest, and the plot the server shows, pixel for pixel the
    engine's plot of those values. The plot is compared with the engine's drawing rather than a
    digest because its anti-aliased lines and text are OpenCV's, which change between OpenCV
    releases (5.0 and 5.1 draw them differently); the preview file's own bytes also carry
    ComfyUI metadata."""
    workflow = load_workflow(WORKFLOWS / "deforum_schedules.json")
    prompt = workflow_to_api_prompt(workflow, object_info)
    outputs = comfyui_server.client.run_prompt(prompt, workflow, timeout_s=60)["outputs"]
    (image,) = outputs[str(node_of(workflow, "PreviewImage")["id"])]["images"]
    png = comfyui_server.client.view(image["filename"], image["subfolder"], image["type"])
    shown = cv2.cvtColor(cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_COLOR),
                         cv2.COLOR_BGR2RGB)  # fmt: skip
    values = outputs[str(node_of(workflow, "DeforumSchedule")["id"])]["values"]
    check(
        f"{comfyui_server.generation.name}/deforum_schedules",
        {"values": digest(json.dumps(values).encode())},
    )
    widgets = widget_values(workflow, object_info, "DeforumSchedule")
    parsed = parse_schedule(widgets["schedule"], name=widgets["name"],
                            interpolation=widgets["interpolation"])  # fmt: skip
    key_frames = parsed.key_frames(widgets["max_frames"], fps=widgets["fps"])
    plot = plot_schedule(values, key_frames, title=widgets["name"])
    expected = np.clip(255.0 * plot.numpy(), 0, 255).astype(np.uint8)  # as PreviewImage saves
    assert np.array_equal(shown, expected)
