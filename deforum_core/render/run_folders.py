"""Run folders by name: `<root>/<run_name>_NNNN`, each new one reserved atomically.

Two writers (two ComfyUI servers sharing an output folder, or the command line beside a
server) may start a run of the same name at the same moment: the folder is created
exclusively, so each gets its own number and no two renders ever share a folder.
"""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

from ..errors import DeforumError

_PLAIN_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9 _.-]{0,79}")
_NUMBER_DIGITS = 4
_MAX_ATTEMPTS = 10_000


def check_plain_name(name: object, *, parameter: str, what: str) -> str:
    """A name that is one plain folder or file name (letters, digits, space, _ . -), whole.

    `what` says where it is used, for the message ("the run is saved under ...").
    """
    if not isinstance(name, str):
        raise DeforumError(f"must be a text, got {name!r}", parameter=parameter)
    control = next((c for c in name if unicodedata.category(c) in ("Cc", "Cf")), None)
    if control is not None:
        raise DeforumError(
            f"{name!r} contains the control character {control!r}",
            parameter=parameter,
            hint="remove it: names are letters, digits, spaces and _ . -",
        )
    if not _PLAIN_NAME.fullmatch(name) or ".." in name or name.endswith((" ", ".")):
        raise DeforumError(
            f"{name!r} must be a plain name (letters, digits, spaces, _ . -, up to 80, starting "
            "with a letter or digit), not a path",
            parameter=parameter,
            hint=what,
        )
    return name


def _numbered(root: Path, name: str) -> list[int]:
    numbers = []
    for path in root.glob(f"{glob_escape(name)}_*"):
        suffix = path.name[len(name) + 1 :]
        if path.is_dir() and suffix.isdigit():
            numbers.append(int(suffix))
    return sorted(numbers)


def glob_escape(name: str) -> str:
    """The name with glob's special characters taken literally."""
    return re.sub(r"([*?\[])", r"[\1]", name)


def reserve_run_folder(root: Path, name: str) -> Path:
    """Create and return `<root>/<name>_NNNN` with the next free number; a folder another
    writer took meanwhile makes it try the number after."""
    root.mkdir(parents=True, exist_ok=True)
    numbers = _numbered(root, name)
    number = numbers[-1] + 1 if numbers else 1
    for _ in range(_MAX_ATTEMPTS):
        folder = root / f"{name}_{number:0{_NUMBER_DIGITS}d}"
        try:
            folder.mkdir()
        except FileExistsError:
            number += 1
            continue
        return folder
    raise DeforumError(f"no free run folder for {name!r} in {root}", hint="choose another name")


def latest_run_folder(root: Path, name: str) -> Path | None:
    """The run folder of that name with the highest number, or None."""
    numbers = _numbered(root, name)
    return root / f"{name}_{numbers[-1]:0{_NUMBER_DIGITS}d}" if numbers else None
