"""A Parseq manifest: found where a settings file's parseq_manifest points, read and checked.

sd-webui-deforum takes the manifest as JSON text, or downloads it when the value starts with
"http" (usually a Firebase address whose last part is the document's id, doc-<uuid>). The
pack downloads nothing and opens nothing outside the settings file's folder: a URL is matched
to a .json file in that folder whose meta.doc_id is the id the URL names, and a path is
looked up inside that folder (references.py), so a user who saves the manifest next to the
settings gets it used. When it is not there, the caller gets the reason and the fix instead
of a manifest. Checks are stricter than Deforum's, which only warns about missing or doubled
frames and fails later on a missing value: frames must run 0..n-1 once each, every frame must
carry frame 0's fields, and every value must be a finite number (deforum_prompt a text).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .reading import MAX_SETTINGS_CHARS, SettingsFileError
from .references import FileReference, resolve_reference

KEY = "parseq_manifest"
PROMPT_FIELD = "deforum_prompt"
MAX_MANIFEST_BYTES = MAX_SETTINGS_CHARS * 4  # as read_settings_file allows a settings file
_DOC_ID = re.compile(r"doc-[0-9a-fA-F]{8}(?:-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}")
_HINT = "save the manifest Parseq renders for Deforum (a JSON object with rendered_frames)"


@dataclass(frozen=True)
class ParseqManifest:
    """A checked manifest: its rendered frames in frame order and the options Deforum reads."""

    frames: tuple[Mapping[str, Any], ...]
    fields: tuple[str, ...]  # frame 0's columns, less "frame"
    cadence: int | None  # options.cadence, when set
    fps: float | None  # options.output_fps, when set

    def column(self, field: str) -> list[Any]:
        return [frame[field] for frame in self.frames]


@dataclass(frozen=True)
class FoundManifest:
    """Where parseq_manifest led: the manifest, how to name it and its file, or else why it
    is not at hand and what to do (`problem`)."""

    named: str = ""
    manifest: ParseqManifest | None = None
    path: Path | None = None
    problem: str = ""


def _fail(source: str, reason: str, frame: int | None = None) -> SettingsFileError:
    return SettingsFileError(f"{source}: {reason}", parameter=KEY, frame=frame, hint=_HINT)


def parse_manifest(document: Any, source: str) -> ParseqManifest:
    """The manifest in a parsed Parseq document, or an error naming what is wrong."""
    if not isinstance(document, dict):
        raise _fail(source, f"a Parseq manifest is a JSON object, not {type(document).__name__}")
    rendered = document.get("rendered_frames")
    if not isinstance(rendered, list) or not rendered:
        raise _fail(source, "the manifest has no rendered_frames (a list of frames)")
    frames = sorted(_frame_entries(rendered, source), key=lambda entry: entry["frame"])
    for index, entry in enumerate(frames):
        number = entry["frame"]
        if number != index:
            problem = (
                f"frame {number} is below 0"
                if number < 0
                else f"frame {number} is there twice"
                if number < index
                else f"frame {index} is missing"
            )
            raise _fail(source, f"{problem}: rendered_frames must number the frames 0 to "
                        f"{len(frames) - 1} once each")  # fmt: skip
    fields = tuple(field for field in frames[0] if field != "frame")
    for entry in frames:
        for field in fields:
            _check_value(entry, field, source)
    options = document.get("options") or {}
    if not isinstance(options, dict):
        raise _fail(source, "options is not a JSON object")
    return ParseqManifest(
        tuple(frames),
        fields,
        _option(options, "cadence", source, whole=True),
        _option(options, "output_fps", source, whole=False),
    )


def _frame_entries(rendered: list[Any], source: str) -> list[dict[str, Any]]:
    for index, entry in enumerate(rendered):
        number = entry.get("frame") if isinstance(entry, dict) else None
        if not isinstance(number, int) or isinstance(number, bool):
            raise _fail(source, f"rendered_frames entry {index} has no whole frame number")
    return rendered


def _check_value(entry: Mapping[str, Any], field: str, source: str) -> None:
    frame = entry["frame"]
    if field not in entry:
        raise _fail(source, f"{field} is missing (frame 0 has it)", frame=frame)
    value = entry[field]
    if field == PROMPT_FIELD:
        if not isinstance(value, str):
            raise _fail(source, f"{field} is {type(value).__name__}, not text", frame=frame)
    elif not _is_number(value):
        raise _fail(source, f"{field} is {value!r}, not a number", frame=frame)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _option(options: Mapping[str, Any], name: str, source: str, *, whole: bool) -> Any:
    """A number of options, None when absent or 0 (Deforum then keeps the settings')."""
    value = options.get(name)
    if value is None or value == 0:
        return None
    if not _is_number(value) or value < 0 or (whole and value != int(value)):
        kind = "a whole number" if whole else "a number"
        raise _fail(source, f"options.{name} is {value!r}, not {kind} above 0")
    return int(value) if whole else float(value)


def locate_manifest(value: Any, folder: Path | None, source: str) -> FoundManifest:
    """The manifest parseq_manifest holds or names; folder is the settings file's (None for
    pasted settings, which can name no file)."""
    if isinstance(value, dict):  # a Parseq document given as the settings
        return FoundManifest(f"the Parseq document {source}", parse_manifest(value, source))
    if not isinstance(value, str):
        raise SettingsFileError(f"{type(value).__name__} is not a manifest, a URL or a file "
                                "name", parameter=KEY, hint=_HINT)  # fmt: skip
    text = value.strip()
    if text.startswith("{"):
        named = "the manifest written into parseq_manifest"
        return FoundManifest(named, parse_manifest(_json(text, named), named))
    if text.startswith("http"):  # as Deforum tells a URL
        return _by_url(text, folder)
    return _by_path(text, folder)


def _json(text: str, named: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise SettingsFileError(
            f"{named} is not valid JSON: {error.msg} (line {error.lineno}, column {error.colno})",
            parameter=KEY, hint=_HINT,
        ) from None  # fmt: skip
    except RecursionError:
        raise SettingsFileError(f"{named} nests JSON too deeply", parameter=KEY) from None


def _no_folder(what: str) -> FoundManifest:
    problem = (f"the {what} cannot be looked up for pasted settings: load the settings file "
               "from a folder holding the manifest, or paste the manifest's JSON into "
               "parseq_manifest")  # fmt: skip
    return FoundManifest(problem=problem)


def _by_url(url: str, folder: Path | None) -> FoundManifest:
    match = _DOC_ID.search(url)
    download = "download the manifest from that URL into the settings file's folder as a .json"
    if match is None:
        return FoundManifest(problem=(
            "URLs are not downloaded, and this one names no Parseq document (doc-...): "
            f"{download}, and set parseq_manifest to its file name"))  # fmt: skip
    doc_id = match.group(0)
    if folder is None:
        return _no_folder(f"Parseq document {doc_id}")
    found = {path: document for path in sorted(folder.glob("*.json"))
             if (document := _document(path, folder, doc_id)) is not None}  # fmt: skip
    if not found:
        return FoundManifest(problem=(
            f"no .json file next to the settings file is Parseq document {doc_id} (URLs are "
            f"not downloaded): {download}"))  # fmt: skip
    if len(found) > 1:
        names = ", ".join(path.name for path in found)
        return FoundManifest(problem=(
            f"{names} all are Parseq document {doc_id}: keep the one to render"))  # fmt: skip
    ((path, document),) = found.items()
    named = f"{path.name}, the Parseq document {doc_id} that the URL names"
    return FoundManifest(named, parse_manifest(document, path.name), path)


def _document(path: Path, folder: Path, doc_id: str) -> Any | None:
    """The JSON of a .json file inside the folder when it is the Parseq document doc_id, else
    None. The file is read once; its id's bytes are looked for before it is parsed, so a
    folder of other JSON files costs little."""
    resolved = path.resolve()
    if not resolved.is_relative_to(folder.resolve()) or not resolved.is_file():
        return None
    if resolved.stat().st_size > MAX_MANIFEST_BYTES:
        return None  # too large to be read as one
    data = _contents(path)
    if doc_id.encode() not in data:
        return None
    document = _parsed(data, path)
    meta = document.get("meta") if isinstance(document, dict) else None
    return document if isinstance(meta, dict) and meta.get("doc_id") == doc_id else None


def _by_path(text: str, folder: Path | None) -> FoundManifest:
    if folder is None:
        return _no_folder(f"Parseq manifest {text!r}")
    reference = FileReference(KEY, text, "Parseq manifest")
    try:
        path = resolve_reference(reference, [folder], "the settings file's folder")
    except SettingsFileError as error:
        return FoundManifest(problem=f"{error.reason}: {error.hint}")
    document = _parsed(_contents(path), path)
    return FoundManifest(path.name, parse_manifest(document, path.name), path)


def _contents(path: Path) -> bytes:
    """A manifest file's bytes; errors name the file by its name only."""
    try:
        if path.stat().st_size > MAX_MANIFEST_BYTES:
            raise SettingsFileError(f"{path.name} is too large for a Parseq manifest",
                                    parameter=KEY)  # fmt: skip
        return path.read_bytes()
    except OSError as error:
        reason = error.strerror or type(error).__name__
        raise SettingsFileError(f"cannot read {path.name}: {reason}", parameter=KEY) from None


def _parsed(data: bytes, path: Path) -> Any:
    """The JSON of a manifest file's bytes."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise SettingsFileError(f"{path.name} is not UTF-8 text", parameter=KEY) from None
    return _json(text, path.name)
