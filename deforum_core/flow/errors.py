"""The errors of motion estimation, one branch of the pack's DeforumError family."""

from __future__ import annotations

from ..errors import DeforumError


class FlowError(DeforumError):
    """Optical flow or a motion transform that cannot be computed as asked."""


class RaftModelError(FlowError):
    """RAFT weights that cannot be loaded; the message says why and what to use instead."""


class RaftModelFileNotFound(RaftModelError, FileNotFoundError):
    """The RAFT weights file is not there."""
