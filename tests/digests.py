"""Fingerprints of rendered runs, to compare two renders byte for byte."""

from __future__ import annotations

import hashlib
from pathlib import Path

from deforum_core.render import RunDirectory


def frames_digest(run_dir: Path) -> str:
    """One fingerprint of all frame files of a run."""
    digest = hashlib.sha256()
    for path in RunDirectory(run_dir).frame_paths():
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()
