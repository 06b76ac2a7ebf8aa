"""Stand-ins for the parts of ComfyUI the nodes call, for node tests without a server."""

from __future__ import annotations

import os
import types
from pathlib import Path


class FakeFolderPaths(types.ModuleType):
    """The part of ComfyUI's folder_paths the depth nodes use."""

    def __init__(self, models_dir: Path) -> None:
        super().__init__("folder_paths")
        self.models_dir = str(models_dir)
        self.folder_names_and_paths = {
            "checkpoints": ([str(models_dir / "checkpoints")], {".safetensors"})
        }

    def get_input_directory(self):
        return str(Path(self.models_dir).parent / "input")

    def get_output_directory(self):
        return str(Path(self.models_dir).parent / "output")

    def get_folder_paths(self, name):
        return self.folder_names_and_paths[name][0]

    def get_filename_list(self, name):
        folders, extensions = self.folder_names_and_paths[name]
        names = []
        for folder in folders:
            for root, _, files in os.walk(folder):
                for file in files:
                    if os.path.splitext(file)[1].lower() in extensions:
                        names.append(os.path.relpath(os.path.join(root, file), folder))
        return sorted(names)

    def get_full_path(self, name, filename):
        for folder in self.folder_names_and_paths[name][0]:
            candidate = os.path.join(folder, filename)
            if os.path.isfile(candidate):
                return candidate
        return None
