"""Rendering a whole animation: settings, the frame loop, and the run directory."""

from .animator import (
    RenderCallbacks,
    RenderCancelled,
    RenderResult,
    render_animation,
    run_record,
)
from .rundir import RunDirectory, RunDirectoryError
from .settings import AnimationSettings, FrameSettings, RenderValues
from .wiring import PREPARE_ORDER, Stages

__all__ = [
    "PREPARE_ORDER",
    "AnimationSettings",
    "FrameSettings",
    "RenderCallbacks",
    "RenderCancelled",
    "RenderResult",
    "RenderValues",
    "RunDirectory",
    "RunDirectoryError",
    "Stages",
    "render_animation",
    "run_record",
]
