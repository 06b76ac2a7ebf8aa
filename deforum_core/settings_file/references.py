"""Files a settings file names (init image, colour image, soundtrack, videos), found in the
folders the user allows and nowhere else.

Real files name them as URLs, Windows paths, other machines' absolute paths and relative
paths. Nothing is downloaded and no path is followed outside the allowed folders: a relative
path is looked up inside each folder, and a URL or an absolute path by its file name, so a
user who copies the pictures next to the settings (or into ComfyUI's input folder) gets them
used. An error names the key and the value as the file wrote it, never a real path outside.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from urllib.parse import unquote, urlsplit

from .reading import SettingsFileError

_URL = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*://")
_WINDOWS_ABSOLUTE = re.compile(r"^([a-zA-Z]:[\\/]|\\\\)")


@dataclass(frozen=True)
class FileReference:
    """A file the render needs: the settings key naming it, the value as written, and what
    it is for (for messages)."""

    key: str
    value: str
    purpose: str

    @property
    def file_name(self) -> str:
        """The last part of the path or URL."""
        return self._parts()[-1] if self._parts() else ""

    def _parts(self) -> list[str]:
        value = self.value.strip()
        if _URL.match(value):
            value = unquote(urlsplit(value).path)
        return [part for part in re.split(r"[\\/]+", value) if part not in ("", ".")]

    def candidates(self) -> list[PurePosixPath]:
        """Relative paths to look for inside an allowed folder, most specific first."""
        parts = self._parts()
        if not parts:
            return []
        names = [PurePosixPath(parts[-1])]
        is_absolute = _URL.match(self.value.strip()) or _WINDOWS_ABSOLUTE.match(self.value)
        if not is_absolute and not self.value.strip().startswith("/") and ".." not in parts:
            names.insert(0, PurePosixPath(*parts))
        return list(dict.fromkeys(names))


def resolve_reference(reference: FileReference, folders: Sequence[Path], where: str) -> Path:
    """The file inside one of the folders, or a SettingsFileError naming the key, the value
    and where to put the file (`where` describes the folders to the user)."""
    for folder in folders:
        root = folder.resolve()
        for candidate in reference.candidates():
            path = (root / candidate).resolve()
            if path.is_relative_to(root) and path.is_file():
                return path
    name = reference.file_name or "the file"
    downloaded = " (URLs are not downloaded)" if _URL.match(reference.value.strip()) else ""
    raise SettingsFileError(
        f"the {reference.purpose} {reference.value!r} is not in {where}{downloaded}",
        parameter=reference.key,
        hint=f"put {name} into {where}, or turn the setting off in the file",
    )
