"""Rendering a whole animation: settings, the frame loop, and the run directory."""

from .animator import RenderCallbacks, RenderCancelled, RenderResult, Stages, render_animation
from .rundir import RunDirectory, RunDirectoryError
from .settings import ANIMATION_MODES, AnimationSettings, FrameSchedules

__all__ = [
    "ANIMATION_MODES",
    "AnimationSettings",
    "FrameSchedules",
    "RenderCallbacks",
    "RenderCancelled",
    "RenderResult",
    "RunDirectory",
    "RunDirectoryError",
    "Stages",
    "render_animation",
]
