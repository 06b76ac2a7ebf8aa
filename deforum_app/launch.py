"""The `deforum-comfy` command's entry point: settles how the process starts and ends around
the command line (cli.py), for a render's sake.

- OpenMP's worker threads spin after each parallel region by default, taking the cores the
  background writer (PNG and video encoding) needs; told to sleep (OMP_WAIT_POLICY=PASSIVE,
  read once when torch loads) the main job renders about 15 % sooner on two cores. A value
  set by the user is kept.
- Loading torch makes some 200,000 objects that live as long as the process; the garbage
  collector would scan them over and over while they load (0.18 s of the main job), so it
  is paused until the command line has loaded, and what loaded is left out of later scans
  (gc.freeze).
- When the command has finished, every file it wrote is closed; tearing the interpreter down
  (torch's modules and libraries) took another 0.5 s, so the process ends at once instead,
  after flushing its output, with the command's exit status.
"""

from __future__ import annotations

import gc
import os
import sys
from contextlib import suppress


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    gc.disable()
    try:
        from .cli import main as command_line  # loads torch
    finally:
        gc.freeze()
        gc.enable()
    status = command_line(argv)
    end_process(status)
    return status


def end_process(status: int) -> None:
    """Exit with status now, without the interpreter's teardown, once the output is out."""
    for stream in (sys.stdout, sys.stderr):
        with suppress(OSError, ValueError):  # a closed pipe or stream: nothing more to say
            stream.flush()
    os._exit(status)
