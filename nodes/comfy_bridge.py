"""What the nodes need from their host: folders, progress, previews and cancel.

Inside ComfyUI these come from ComfyUI's own modules (imported when first used, so the pack
loads in any ComfyUI version); when the command line runs the nodes without ComfyUI, the
same calls go to a headless host that writes under the --out folder and prints progress.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import torch

from deforum_core.errors import DeforumError

PREVIEW_SIZE = 512


class HeadlessHost:
    """Folders and progress for running the nodes without ComfyUI."""

    def __init__(self) -> None:
        self.output = Path.cwd() / "output"
        self.input = Path.cwd() / "input"
        self.quiet = False

    def report(self, done: int, total: int) -> None:
        """A redrawn bar on a terminal; a line per tenth of the frames in a log."""
        if self.quiet:
            return
        if sys.stderr.isatty():
            filled = 30 * done // max(total, 1)
            bar = "#" * filled + "-" * (30 - filled)
            print(f"\r[{bar}] {done}/{total}", end="\n" if done >= total else "", file=sys.stderr)
        elif done == total or done % max(1, total // 10) == 0:
            print(f"{done}/{total} frames", file=sys.stderr)


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


def progress_reporter(total: int) -> Callable[[int, int, torch.Tensor | None], None]:
    """on_frame(index, total, frame): ComfyUI's progress bar with a preview, or a text bar."""
    try:
        import comfy.utils
    except ImportError:
        return lambda index, total, frame: HEADLESS.report(index + 1, total)
    bar = comfy.utils.ProgressBar(total)

    def report(index: int, total: int, frame: torch.Tensor | None) -> None:
        preview = None if frame is None else ("JPEG", _preview_image(frame), PREVIEW_SIZE)
        bar.update_absolute(index + 1, total, preview)

    return report


def _preview_image(frame: torch.Tensor):
    from PIL import Image

    pixels = frame[0] if frame.dim() == 4 else frame
    array = pixels.clamp(0, 1).mul(255).round().to("cpu", torch.uint8).numpy()
    return Image.fromarray(array)
