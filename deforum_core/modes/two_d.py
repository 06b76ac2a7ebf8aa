"""Mode 2D: the previous frame moved by Deforum's 2D camera (or held, without a motion)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import ScheduleError
from ..stages import Motion2DStage, RenderInfo
from .base import AnimationMode
from .cameras import Camera2D, StillCamera

if TYPE_CHECKING:
    from ..render.wiring import Stages


class Mode2D(AnimationMode):
    name = "2D"
    uses_hybrid = True

    def check_wiring(self, stages: Stages) -> None:
        if stages.motion is not None and not isinstance(stages.motion, Motion2DStage):
            raise ScheduleError(
                "2D mode needs a 2D motion",
                parameter="animation_mode",
                hint="connect Deforum Motion 2D, or choose 3D for a 3D motion",
            )

    def camera(self, stages: Stages, render: RenderInfo, run_folder: Path) -> StillCamera:
        if stages.motion is None:
            return StillCamera()
        return Camera2D(stages.motion.bind(render))
