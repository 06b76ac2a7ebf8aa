"""The pack's own model folders in ComfyUI (models/depth, models/optical_flow): registered
with ComfyUI's folder_paths so their files are listed in the loaders and their paths allowed.

Extra locations can be added in extra_model_paths.yaml under the folder's name. Without
ComfyUI (the command line) nothing is registered and the lists are empty.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from deforum_core.errors import DeforumError

from .comfy_bridge import folder_paths_module
from .model_paths import typed_model_path

USE_PATH = "(use path)"  # a loader's first choice: the file or folder its `path` names


def register_model_folder(name: str, extensions: Iterable[str]) -> None:
    """Add ComfyUI's models/<name> folder (with the weight extensions) to its model paths."""
    folders = folder_paths_module()
    if folders is None:
        return
    try:
        default = os.path.join(folders.models_dir, name)
        registry = folders.folder_names_and_paths
        if name not in registry:
            registry[name] = ([default], set(extensions))
            return
        paths, known = registry[name][0], registry[name][1]
        if default not in paths:
            paths.append(default)
        if isinstance(known, set) and known:
            known.update(extensions)
    except Exception:  # an unusual folder_paths: the explicit path still works
        return


def model_folders(name: str) -> list[str]:
    """Every location of a model folder, models/<name> first."""
    folders = folder_paths_module()
    if folders is None:
        return []
    try:
        return list(folders.get_folder_paths(name))
    except Exception:
        return []


def model_files(name: str) -> list[str]:
    """The files in a model folder, as the loaders list them."""
    folders = folder_paths_module()
    if folders is None:
        return []
    try:
        return list(folders.get_filename_list(name))
    except Exception:
        return []


def chosen_model(
    name: str,
    path: str,
    folder: str,
    *,
    name_input: str,
    nothing: str,
    nothing_hint: str,
    error: type[DeforumError] = DeforumError,
) -> tuple[str, str | Path]:
    """What a loader's two inputs choose: the file `name` of models/<folder>, or with
    USE_PATH the path typed into `path` (kept inside ComfyUI's folders, model_paths.py).
    Returns the input that chose it, for errors to name, and where it is; `nothing` and
    `nothing_hint` are the error when neither chooses anything."""
    if name != USE_PATH:
        folders = folder_paths_module()
        source = folders.get_full_path(folder, name) if folders else None
        if not source:
            raise error(f"{name!r} is not in models/{folder}", parameter=name_input,
                        hint="pick a file from the list")  # fmt: skip
        return name_input, source
    if path.strip():
        return "path", typed_model_path(path, parameter="path")
    raise error(nothing, parameter=name_input, hint=nothing_hint)
