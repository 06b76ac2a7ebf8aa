"""Model paths typed into a workflow stay inside ComfyUI's folders.

A shared workflow is untrusted input: a `path` widget must not make the server open any file
it can read, nor tell its sender whether a file exists or what it starts with. Inside
ComfyUI a typed path is taken only when it lies in ComfyUI's model folders (models/ and
every folder extra_model_paths.yaml registers) or its input folder; anything else is
refused, before the file is touched, with one message that says nothing about the file.
A server owner who wants other folders sets DEFORUM_ALLOW_OUTSIDE_PATHS=1. Without ComfyUI
(the command line, run by the user on their own files) every path is taken.
"""

from __future__ import annotations

import os
from pathlib import Path

from deforum_core.errors import DeforumError

from .comfy_bridge import folder_paths_module, input_directory

OUTSIDE_VARIABLE = "DEFORUM_ALLOW_OUTSIDE_PATHS"


def allowed_roots() -> list[Path] | None:
    """The folders a typed path may lie in; None when every path is allowed."""
    folders = folder_paths_module()
    if folders is None or os.environ.get(OUTSIDE_VARIABLE) == "1":
        return None
    roots = [folders.models_dir, str(input_directory())]
    for entry in folders.folder_names_and_paths.values():
        roots.extend(entry[0])
    return [Path(os.path.abspath(root)) for root in roots]


def typed_model_path(text: str, *, parameter: str) -> Path:
    """The path a `path` or `config` widget names, if it may be used (see the module
    docstring); relative paths are taken from ComfyUI's models folder."""
    roots = allowed_roots()
    given = Path(text.strip()).expanduser()
    if roots is None:
        return given
    if "\x00" in text:
        raise _outside(text, parameter)
    base = Path(folder_paths_module().models_dir)
    path = Path(os.path.abspath(given if given.is_absolute() else base / given))
    if not any(path == root or root in path.parents for root in roots):
        raise _outside(text, parameter)
    return path


def _outside(text: str, parameter: str) -> DeforumError:
    return DeforumError(
        f"{text.strip()!r} is not in ComfyUI's model or input folders",
        parameter=parameter,
        hint="put the model into ComfyUI's models folder (models/checkpoints, models/depth, "
        "...) and pick it from the list, or give a path inside that folder; a server owner "
        f"can allow other folders by starting ComfyUI with {OUTSIDE_VARIABLE}=1",
    )
