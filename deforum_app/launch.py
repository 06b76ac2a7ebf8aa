"""The `deforum-comfy` command's entry point: settles how the process starts and ends around
the command line (cli.py), for a render's sake.

- OpenMP's worker threads spin after each parallel region by default, taking the cores the
  background writer (PNG and video encoding) needs; told to sleep (OMP_WAIT_POLICY=PASSIVE,
  read once when torch loads) the main job renders about 15 % sooner on two cores. A value
  set by the user is kept.
- A render allocates and frees frames of a few megabytes all the time. glibc's malloc hands
  blocks that size out as fresh memory maps and gives freed heap back to the system, so
  every frame's buffers are faulted in page by page anew; told to keep them in its heap
  (keep_freed_memory), the main job takes 0.15 s less system time and renders about 3 %
  sooner, for some 15 MB more at its peak. Other C libraries are left as they are.
- Loading torch makes some 200,000 objects that live as long as the process; the garbage
  collector would scan them over and over while they load (0.18 s of the main job), so it
  is paused until the command line has loaded, and what loaded is left out of later scans
  (gc.freeze).
- When the command has finished, every file it wrote is closed; tearing the interpreter down
  (torch's modules and libraries) took another 0.5 s, so the process ends at once instead,
  after flushing its output, with the command's exit status.
"""

from __future__ import annotations

import ctypes
import gc
import os
import sys
from contextlib import suppress

_M_TRIM_THRESHOLD = -1  # mallopt's parameters, from glibc's malloc.h
_M_MMAP_THRESHOLD = -3
MAPPED_FROM = 32 << 20  # blocks at least this large still get a memory map of their own
KEPT_FREE = 64 << 20  # free memory at the heap's top beyond this goes back to the system


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    keep_freed_memory()
    gc.disable()
    try:
        from .cli import main as command_line  # loads torch
    finally:
        gc.freeze()
        gc.enable()
    status = command_line(argv)
    end_process(status)
    return status


def keep_freed_memory() -> bool:
    """Ask glibc's malloc to serve frame-sized blocks from its heap and keep what is freed
    there (up to KEPT_FREE); returns whether it could."""
    try:
        if not os.confstr("CS_GNU_LIBC_VERSION").startswith("glibc"):
            return False
    except (ValueError, OSError):  # not a glibc system
        return False
    libc = ctypes.CDLL(None)
    return bool(libc.mallopt(_M_MMAP_THRESHOLD, MAPPED_FROM)) and bool(
        libc.mallopt(_M_TRIM_THRESHOLD, KEPT_FREE)
    )


def end_process(status: int) -> None:
    """Exit with status now, without the interpreter's teardown, once the output is out."""
    for stream in (sys.stdout, sys.stderr):
        with suppress(OSError, ValueError):  # a closed pipe or stream: nothing more to say
            stream.flush()
    os._exit(status)
