"""The `deforum-comfy` launcher (deforum_app/launch.py): OpenMP's threads told to sleep, the
garbage collector paused while torch loads, and the process ended at once when the command
is done, with all of its output out and its exit status kept."""

from __future__ import annotations

import gc
import os
import subprocess
import sys
from pathlib import Path

import pytest

from deforum_app import launch

SCRIPT = Path(sys.executable).with_name("deforum-comfy")


def test_every_line_reaches_a_pipe_before_the_process_ends() -> None:
    """Printed into a pipe, the output is block-buffered; ending without the interpreter's
    teardown must not lose what is still in the buffer."""
    frames = 20_000
    environment = {name: value for name, value in os.environ.items()
                   if name != "PYTHONUNBUFFERED"}  # fmt: skip
    command = [str(SCRIPT), "schedule", "0:(t)", "--frames", str(frames)]
    result = subprocess.run(command, capture_output=True, text=True, check=False, env=environment)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == frames
    assert lines[-1] == f"{frames - 1}\t{frames - 1:.1f}"


def test_the_exit_status_of_a_refused_command_is_kept() -> None:
    result = subprocess.run([str(SCRIPT), "schedule", "0:(t", "--frames", "3"],
                            capture_output=True, text=True, check=False)  # fmt: skip
    assert result.returncode == 2
    assert result.stderr.startswith("error: ") and result.stdout == ""


def test_collection_resumes_after_loading_with_what_loaded_frozen(monkeypatch) -> None:
    ended: list[int] = []
    monkeypatch.setattr(launch.os, "_exit", ended.append)
    monkeypatch.delenv("OMP_WAIT_POLICY", raising=False)
    try:
        status = launch.main(["schedule", "0:(1)", "--frames", "2"])
        assert ended == [status] == [0]
        assert gc.isenabled()
        assert gc.get_freeze_count() > 0
        assert launch.os.environ["OMP_WAIT_POLICY"] == "PASSIVE"
    finally:
        gc.unfreeze()


@pytest.mark.parametrize("policy", ["ACTIVE", "PASSIVE"])
def test_a_wait_policy_the_user_set_is_kept(monkeypatch, policy: str) -> None:
    monkeypatch.setattr(launch.os, "_exit", lambda status: None)
    monkeypatch.setenv("OMP_WAIT_POLICY", policy)
    try:
        launch.main(["schedule", "0:(1)", "--frames", "2"])
    finally:
        gc.unfreeze()
    assert launch.os.environ["OMP_WAIT_POLICY"] == policy


FAULTS_PER_ROUND = """
import resource, sys
import numpy as np
if sys.argv[1] == "keep":
    from deforum_app.launch import keep_freed_memory
    assert keep_freed_memory()
def faults():
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(3):  # settled first
    frame, copy = np.ones(3 << 20, np.uint8), np.ones(3 << 20, np.uint8)
    del frame, copy
before = faults()
for _ in range(40):  # two 3 MB frames a round, as a render's buffers come and go
    frame, copy = np.ones(3 << 20, np.uint8), np.ones(3 << 20, np.uint8)
    del frame, copy
print((faults() - before) / 40)
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's malloc only")
def test_freed_frames_are_reused_without_faulting_their_pages_in_again() -> None:
    """Two 3 MB blocks are 1,536 pages; glibc's defaults fault each of them in every round."""

    def faults_per_round(mode: str) -> float:
        command = [sys.executable, "-c", FAULTS_PER_ROUND, mode]
        return float(subprocess.run(command, capture_output=True, text=True, check=True).stdout)

    default, kept = faults_per_round("default"), faults_per_round("keep")
    assert default > 1000, "glibc's defaults no longer fault frames in: recheck the launcher"
    assert kept < 100
