"""Mode 3D: the previous frame moved by Deforum's 3D camera through its estimated depth."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import ScheduleError
from ..stages import Motion3DStage, RenderInfo
from .base import AnimationMode
from .cameras import Camera3D

if TYPE_CHECKING:
    from ..render.wiring import Stages


class Mode3D(AnimationMode):
    name = "3D"
    uses_hybrid = True
    uses_depth_model = True

    def check_wiring(self, stages: Stages) -> None:
        if not isinstance(stages.motion, Motion3DStage) or stages.depth_model is None:
            raise ScheduleError(
                "3D mode needs a 3D motion and a depth model",
                parameter="animation_mode",
                hint="connect Deforum Motion 3D and a depth model, or choose 2D",
            )

    def camera(self, stages: Stages, render: RenderInfo, run_folder: Path) -> Camera3D:
        motion = stages.motion
        depth_maps = run_folder if motion.save_depth_maps else None
        return Camera3D(motion.bind(render), stages.depth_model, depth_maps)
