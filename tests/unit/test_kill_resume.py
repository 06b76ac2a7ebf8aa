"""kill -9 at a random frame, then resume: the run is byte-identical to an uninterrupted one,
and what the killed process was writing is cleaned up."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

from digests import frames_digest

REPO_ROOT = Path(__file__).resolve().parents[2]
COMMAND = Path(sys.executable).with_name("deforum-comfy")
FRAMES = 48


def workflow(folder: Path, *, resume: bool) -> Path:
    twin = json.loads((REPO_ROOT / "workflows/headless/deforum_2d.json").read_text())
    for node in twin.values():
        if node["class_type"] == "DeforumAnimate":
            node["inputs"].update(width=64, height=64, max_frames=FRAMES, diffusion_cadence=2,
                                  run_name="killed", resume=resume)  # fmt: skip
    path = folder / f"twin_{resume}.json"
    path.write_text(json.dumps(twin), encoding="utf-8")
    return path


def render(path: Path, out: Path) -> subprocess.Popen:
    command = [str(COMMAND), "render", str(path), "--preview", "--out", str(out)]
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def test_kill_9_at_a_random_frame_then_resume_is_byte_identical(tmp_path):
    seed = random.randrange(1 << 30)
    stop_at = random.Random(seed).randrange(4, FRAMES - 4)
    whole = render(workflow(tmp_path, resume=False), tmp_path / "whole")
    assert whole.wait(timeout=120) == 0, whole.stderr.read()

    cut = render(workflow(tmp_path, resume=False), tmp_path / "cut")
    run = tmp_path / "cut" / "deforum" / "killed_0001"
    deadline = time.monotonic() + 120
    while len(list(run.glob("frame_*.png"))) < stop_at and cut.poll() is None:
        assert time.monotonic() < deadline, f"no frames (random seed {seed})"
        time.sleep(0.002)
    os.kill(cut.pid, signal.SIGKILL)
    cut.wait(timeout=30)
    written = len(list(run.glob("frame_*.png")))
    assert written < FRAMES, f"the render finished before the kill (random seed {seed})"

    resumed = render(workflow(tmp_path, resume=True), tmp_path / "cut")
    assert resumed.wait(timeout=120) == 0, resumed.stderr.read()
    whole_run = tmp_path / "whole" / "deforum" / "killed_0001"
    assert frames_digest(run) == frames_digest(whole_run), f"killed after {written} frames"
    assert list(run.glob(".*.partial*")) == []
