"""An imported Interpolation animation: interpolate_key_frames and interpolate_x_frames as the
Interpolation stage, and the animation fields that mode fixes.

As in Deforum, the prompts set the frame count (max_frames only gives max_f its value) and
every frame is diffused (cadence 1). The notebook diffuses every frame of the morph from the
init image, when use_init names one, with the init `strength`: the import schedules that
strength for every frame (the pack's mode reads the strength schedule).
"""

from __future__ import annotations

from dataclasses import replace

from ..errors import DeforumError
from ..modes import InterpolationStage
from ..prompts import PromptTexts
from ..render.settings import AnimationSettings
from .context import ImportContext
from .references import FileReference
from .report import IGNORED, MAPPED


def import_interpolation(context: ImportContext) -> InterpolationStage:
    """The Interpolation stage, from the file's interpolate_* keys."""
    stage = InterpolationStage(**context.table(InterpolationStage))
    if context.has("max_frames"):
        context.note("max_frames", MAPPED, "Interpolation: the prompts set the frame count; "
                     "max_frames only gives max_f its value")  # fmt: skip
    if str(context.get("diffusion_cadence", 1)).strip() != "1":
        why = "Deforum's Interpolation diffuses every frame (its cadence is 1)"
        context.note("diffusion_cadence", MAPPED, f"1: {why}")
    return stage


def with_frame_count(
    animation: AnimationSettings, prompts: PromptTexts, stage: InterpolationStage
) -> AnimationSettings:
    """The animation with the frame count its prompts make (as it is when they cannot
    render: the render then says why)."""
    from ..render.wiring import Stages

    try:
        stages = Stages(prompts.parse(), interpolation=stage)
        count = animation.mode.frame_count(animation.max_frames, stages, animation.fps)
    except DeforumError:
        return animation
    return replace(animation, max_frames=count)


def init_strength_schedule(
    context: ImportContext, animation: AnimationSettings, init_image: FileReference | None
) -> AnimationSettings:
    """With an init image, every frame at the init strength (the animation as it is without)."""
    if init_image is None:
        return animation
    if context.has("strength_schedule"):
        context.note("strength_schedule", IGNORED, "Interpolation: every frame starts from the "
                     "init image with strength, as in Deforum")  # fmt: skip
    return replace(animation, strength_schedule=f"0:({animation.init_strength!r})")
