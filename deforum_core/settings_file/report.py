"""The import report: one line per key of a settings file, saying what became of it."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from ..files import atomic_write

TAKEN = "taken"  # used as written
MAPPED = "mapped"  # used under a new name or a new value (the detail says which)
DEFAULTED = "default"  # absent from the file: the dialect's (or the pack's) default applies
IGNORED = "ignored"  # has no effect in the pack (the detail says why)
UNSUPPORTED = "not supported yet"  # changes Deforum's render, but the pack cannot do it yet
STATUSES = (TAKEN, MAPPED, DEFAULTED, IGNORED, UNSUPPORTED)
REPORT_FILE = "import_report.txt"  # in the run folder of a render of a settings file


@dataclass(frozen=True)
class ReportLine:
    key: str
    status: str
    detail: str = ""

    def __str__(self) -> str:
        detail = f": {self.detail}" if self.detail else ""
        return f"{self.status:<17} {self.key}{detail}"


def format_report(lines: Iterable[ReportLine]) -> str:
    """The report as text, grouped by status in STATUSES order, keys in file order."""
    lines = list(lines)
    return "\n".join(str(line) for status in STATUSES for line in lines if line.status == status)


def write_report(run_dir: Path, lines: Iterable[ReportLine]) -> None:
    """Save the report of the settings a run renders beside its frames."""
    atomic_write(Path(run_dir) / REPORT_FILE, (format_report(lines) + "\n").encode("utf-8"))


def count_by_status(lines: Iterable[ReportLine]) -> dict[str, int]:
    counts = dict.fromkeys(STATUSES, 0)
    for line in lines:
        counts[line.status] += 1
    return counts
