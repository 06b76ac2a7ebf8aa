"""Deforum settings files (the notebook's, run.py's and sd-webui-deforum's): read them, import
them as the pack's settings and stages with a report of every key, and find the files they
name."""

from __future__ import annotations

from pathlib import Path

from .importer import ImportedSettings, import_settings
from .reading import MAX_SETTINGS_CHARS, SettingsFileError, parse_settings_text
from .references import FileReference, resolve_reference
from .report import ReportLine, format_report


def read_settings_file(path: Path) -> ImportedSettings:
    """Read and import a settings file; errors name the file by its name only."""
    path = Path(path)
    try:
        size = path.stat().st_size
        if size > MAX_SETTINGS_CHARS * 4:
            raise SettingsFileError(f"{path.name} is {size:,} bytes, too large for settings")
        text = path.read_bytes().decode("utf-8-sig")
    except OSError as error:
        reason = error.strerror or type(error).__name__
        raise SettingsFileError(f"cannot read {path.name}: {reason}") from None
    except UnicodeDecodeError:
        raise SettingsFileError(
            f"{path.name} is not UTF-8 text", hint="save the settings file as UTF-8 text"
        ) from None
    return import_settings(parse_settings_text(text, path.name), path.name, path.parent)


__all__ = [
    "FileReference",
    "ImportedSettings",
    "ReportLine",
    "SettingsFileError",
    "format_report",
    "import_settings",
    "parse_settings_text",
    "read_settings_file",
    "resolve_reference",
]
