"""The pack's own model folders in ComfyUI (models/depth, models/optical_flow): registered
with ComfyUI's folder_paths so their files are listed in the loaders and their paths allowed.

Extra locations can be added in extra_model_paths.yaml under the folder's name. Without
ComfyUI (the command line) nothing is registered and the lists are empty.
"""

from __future__ import annotations

import os
from collections.abc import Iterable

from .comfy_bridge import folder_paths_module


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
