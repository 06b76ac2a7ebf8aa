"""What the nodes need from their host: folders, progress, previews and cancel.

Inside ComfyUI these come from ComfyUI's own modules (imported when first used, so the pack
loads in any ComfyUI version); when the command line runs the nodes without ComfyUI, the
same calls go to a headless host that writes under the --out folder and prints progress.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from deforum_core.errors import DeforumError


class HeadlessHost:
    """Folders and progress for running the nodes without ComfyUI."""

    # Off a terminal (a log, a pipe) a bar is one line at its start, its end and at most
    # one per this many seconds between, rather than a redraw per frame.
    LOG_INTERVAL_S = 10.0

    def __init__(self) -> None:
        self.output = Path.cwd() / "output"
        self.input = Path.cwd() / "input"
        self.quiet = False
        self._bar = None  # the job's tqdm bar, one job at a time
        self._label = ""

    def report(self, done: int, total: int, label: str = "frames") -> None:
        """A labelled tqdm bar on stderr: a new one when a job starts (another label or
        total, or a count that went back), closed when done reaches total."""
        if self.quiet:
            return
        bar = self._bar
        if bar is None or label != self._label or total != bar.total or done < bar.n:
            self.finish()
            bar = self._bar = _new_bar(label, total, self.LOG_INTERVAL_S)
            self._label = label
        bar.update(done - bar.n)
        if done >= total:
            self.finish()

    def finish(self) -> None:
        """Close the open bar, if any (a job that stopped early keeps its last count)."""
        bar, self._bar = self._bar, None
        if bar is not None:
            bar.close()


def _new_bar(label: str, total: int, log_interval: float):
    """A tqdm bar on stderr: redrawn in place on a terminal, as plain lines in a log. Rows
    are given because a pseudo-terminal of size 0 would otherwise hide it; a fixed miniters
    keeps tqdm's monitor thread from adding redraws between the time-limited ones."""
    from tqdm import tqdm

    if sys.stderr.isatty():
        stream, columns, interval = sys.stderr, _columns(), 0.1
    else:
        stream, columns, interval = _LogLines(sys.stderr), 80, log_interval
    return tqdm(total=total, desc=label, unit="frame", file=stream, ncols=columns, nrows=20,
                mininterval=interval, miniters=1, leave=True)  # fmt: skip


def _columns() -> int:
    """The terminal's width, or 80 where it reports none (a pseudo-terminal of size 0)."""
    try:
        return os.get_terminal_size(sys.stderr.fileno()).columns or 80
    except (OSError, ValueError, AttributeError):
        return 80


class _LogLines:
    """A stream for tqdm off a terminal: each redraw of the bar becomes a line of its own."""

    def __init__(self, stream) -> None:
        self.stream = stream

    def write(self, text: str) -> None:
        line = text.replace("\r", "").rstrip()
        if line:
            self.stream.write(line + "\n")

    def flush(self) -> None:
        self.stream.flush()


HEADLESS = HeadlessHost()


def folder_paths_module():
    """ComfyUI's folder_paths module, or None when the nodes run without ComfyUI."""
    try:
        import folder_paths
    except ImportError:
        return None
    return folder_paths


def output_directory() -> Path:
    folders = folder_paths_module()
    return Path(folders.get_output_directory()) if folders else HEADLESS.output


def input_directory() -> Path:
    folders = folder_paths_module()
    return Path(folders.get_input_directory()) if folders else HEADLESS.input


def input_files(suffixes: tuple[str, ...]) -> list[str]:
    """The files with these suffixes in ComfyUI's input folder and its subfolders, as the
    names a combo lists (relative, with forward slashes)."""
    root = input_directory()
    if not root.is_dir():
        return []
    found = (p for p in root.rglob("*") if p.suffix.lower() in suffixes and p.is_file())
    return sorted(p.relative_to(root).as_posix() for p in found)


def resolve_input_file(name: str, *, parameter: str) -> Path:
    """A file named by a workflow, which must lie inside the input folder."""
    base = input_directory().resolve()
    if "\x00" in name or any(ord(c) < 32 for c in name):
        raise DeforumError(
            f"{name!r} contains a control character", parameter=parameter,
            hint="give the name of a file in ComfyUI's input folder",
        )  # fmt: skip
    path = (base / name).resolve()
    if base not in path.parents:
        raise DeforumError(
            f"{name!r} is outside the input folder", parameter=parameter,
            hint="use a file inside ComfyUI's input folder",
        )  # fmt: skip
    if path.is_dir():
        raise DeforumError(
            f"{name!r} is a folder, not a file", parameter=parameter,
            hint="give the name of a file in ComfyUI's input folder",
        )  # fmt: skip
    if not path.is_file():
        raise DeforumError(
            f"{name!r} was not found in the input folder", parameter=parameter,
            hint="copy the file into ComfyUI's input folder",
        )  # fmt: skip
    return path


def check_interrupt() -> None:
    """Stop between frames when the user cancelled the prompt in ComfyUI."""
    try:
        import comfy.model_management
    except ImportError:
        return
    comfy.model_management.throw_exception_if_processing_interrupted()
