"""One atomic-write helper: whole files or none, temporary names unique per process and call,
the temporary removed when the write fails, the message naming the file."""

from __future__ import annotations

import inspect
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

import deforum_core
from deforum_core.errors import DeforumError, ScheduleError
from deforum_core.files import (
    FileWriteError,
    atomic_output,
    atomic_write,
    remove_stale_temporaries,
    temporary_name,
)


def test_a_write_replaces_the_file_whole(tmp_path):
    target = tmp_path / "state.json"
    target.write_text("old")
    atomic_write(target, b"new")
    assert target.read_bytes() == b"new" and [p.name for p in tmp_path.iterdir()] == ["state.json"]


def test_temporary_names_are_unique_hidden_and_keep_the_suffix(tmp_path):
    target = tmp_path / "deforum.mp4"
    names = {temporary_name(target) for _ in range(50)}
    assert len(names) == 50
    assert all(n.name.startswith(".deforum.") and n.suffix == ".mp4" for n in names)
    assert all(str(os.getpid()) in n.name for n in names)


def test_a_failed_writer_leaves_the_old_file_and_no_temporary(tmp_path):
    target = tmp_path / "frame_00001.png"
    target.write_bytes(b"whole")
    with pytest.raises(RuntimeError), atomic_output(target) as temporary:
        temporary.write_bytes(b"half")
        raise RuntimeError("encoder failed")
    assert target.read_bytes() == b"whole" and [p.name for p in tmp_path.iterdir()] == [target.name]


def test_a_write_into_a_missing_folder_names_the_file(tmp_path):
    target = tmp_path / "missing" / "frame.png"
    with pytest.raises(FileWriteError, match=r"could not write .*missing/frame.png: No such file"):
        atomic_write(target, b"x")


def engine_error_types() -> list[type]:
    import importlib
    import pkgutil

    found = []
    for info in pkgutil.walk_packages(deforum_core.__path__, "deforum_core."):
        module = importlib.import_module(info.name)
        for _, value in inspect.getmembers(module, inspect.isclass):
            if issubclass(value, Exception) and value.__module__ == module.__name__:
                found.append(value)
    return found


def test_every_engine_error_is_a_deforum_error():
    errors = engine_error_types()
    assert {error.__name__ for error in errors} >= {"ScheduleError", "DiffusionError",
                                                   "DepthModelError", "VideoError"}  # fmt: skip
    internal = {"RenderCancelled", "EvaluationFailure"}  # control flow, never shown to users
    stray = [e.__name__ for e in errors if not issubclass(e, DeforumError) and e.__name__
             not in internal]  # fmt: skip
    assert stray == []
    assert issubclass(ScheduleError, DeforumError) and issubclass(DeforumError, ValueError)


def test_the_base_error_carries_parameter_frame_position_and_fix():
    error = DeforumError("bad value", parameter="zoom", frame=3, text="0:(1,02)", position=4,
                         hint="use '.'")  # fmt: skip
    assert str(error).splitlines() == [
        "zoom: bad value at frame 3", "  in '0:(1,02)' (position 4)", "          ^",
        "  fix: use '.'",
    ]  # fmt: skip
    assert (error.parameter, error.frame, error.position) == ("zoom", 3, 4)
    assert str(DeforumError("plain")) == "plain"
    assert Path(inspect.getfile(DeforumError)).name == "errors.py"


def test_what_a_killed_writer_left_is_removed_and_a_live_one_kept(tmp_path):
    killed = subprocess.Popen([sys.executable, "-c", "pass"])
    killed.wait()
    stale = tmp_path / f".frame_00003.{killed.pid}-0123abcd.partial.png"
    live = temporary_name(tmp_path / "frame_00004.png")  # this process's own
    other = tmp_path / ".hidden.partial-notes"  # not one of ours
    for path in (stale, live, other):
        path.write_bytes(b"x")
    assert remove_stale_temporaries(tmp_path) == [stale]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([live.name, other.name])


def test_frames_skip_the_flush_to_disk_and_the_run_records_keep_it(tmp_path, monkeypatch):
    """A frame is checked whole by a resume (it decodes every frame up to the last key), so
    it is renamed into place without its own fsync; state.json, which a resume trusts, is
    flushed before its rename."""
    from deforum_core.render.rundir import STATE_FILE, RunDirectory, encode_png

    flushed = []
    real_fsync = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: flushed.append(fd) or real_fsync(fd))
    run = RunDirectory(tmp_path)
    run.write_png(0, encode_png(torch.zeros(8, 8, 3)))
    assert flushed == [] and run.frame_path(0).is_file()
    run.write_json(STATE_FILE, {"last_key_frame": 0})
    assert len(flushed) == 1
    atomic_write(tmp_path / "any.bin", b"data")
    assert len(flushed) == 2
    atomic_write(tmp_path / "quick.bin", b"data", durable=False)
    assert len(flushed) == 2 and (tmp_path / "quick.bin").read_bytes() == b"data"
