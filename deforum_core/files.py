"""Atomic file writes: a file is either its old self or whole and new, never half-written.

Every file the pack writes (frames, depth maps, run records, videos, plots, weights) goes
through `atomic_output`: the writer fills a temporary file beside the target, named uniquely
for this process and call (two renders, or a server and the command line, never share one),
which is flushed to disk and renamed over the target only when the writer succeeded; on any
failure the temporary file is removed and the target is left as it was. A file whose reader
checks it whole before trusting it (a render's frames: a resume decodes every frame up to
the last key) may skip the flush (durable=False): the rename keeps it whole against a killed
process, and a system crash that cuts it short is caught by that check.
"""

from __future__ import annotations

import os
import re
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from .errors import DeforumError


class FileWriteError(DeforumError):
    """A file could not be written (a full disk, a read-only or missing folder)."""


_TEMPORARY = re.compile(r"^\..+\.(\d+)-[0-9a-f]{8}\.partial")


def temporary_name(path: Path) -> Path:
    """A hidden name beside `path`, unique to this process and call, with path's suffix
    (encoders pick the format from it)."""
    token = f"{os.getpid()}-{secrets.token_hex(4)}"
    return path.with_name(f".{path.stem}.{token}.partial{path.suffix}")


def _sync(path: Path) -> None:
    with open(path, "rb+") as stream:
        os.fsync(stream.fileno())


@contextmanager
def atomic_output(path: str | os.PathLike, *, durable: bool = True) -> Iterator[Path]:
    """Yields a temporary path to write `path`'s new content to; renames it into place,
    after flushing it to disk when durable."""
    path = Path(path)
    temporary = temporary_name(path)
    try:
        yield temporary
        if durable:
            _sync(temporary)
        os.replace(temporary, path)
    except OSError as error:
        reason = error.strerror or str(error)
        raise FileWriteError(
            f"could not write {path}: {reason}",
            hint="check that the folder exists, is writable and has free space",
        ) from error
    finally:
        temporary.unlink(missing_ok=True)


def remove_stale_temporaries(folder: Path) -> list[Path]:
    """Delete the temporary files in a folder that a killed writer left (those of a process
    that is still running stay); returns what was deleted."""
    removed = []
    for path in Path(folder).glob(".*.partial*"):
        match = _TEMPORARY.match(path.name)
        if match and not _running(int(match.group(1))):
            path.unlink(missing_ok=True)
            removed.append(path)
    return removed


def _running(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # it exists but belongs to someone else
        return True
    return True


def atomic_write(path: str | os.PathLike, data: bytes, *, durable: bool = True) -> Path:
    """Write bytes to `path` atomically (see atomic_output); returns the path."""
    with atomic_output(path, durable=durable) as temporary:
        temporary.write_bytes(data)
    return Path(path)
