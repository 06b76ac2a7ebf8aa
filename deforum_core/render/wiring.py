"""The stages connected to a render, and the order Deforum prepares a key frame in."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..modes import DepthModel, InterpolationStage
from ..prompts import PromptSchedule
from ..stages import ColorCoherenceStage, EnhanceStage, Motion2DStage, Motion3DStage, NoiseStage
from ..stages.mask import MaskStage
from ..stages.optical_flow import OpticalFlowStage

if TYPE_CHECKING:
    from ..controlnet import ControlUnit
    from ..hybrid.stage import HybridStage
    from ..video_source import VideoSource

# Deforum's order for preparing a key frame once the camera has moved the previous one there.
PREPARE_ORDER = ("color_coherence", "enhance", "noise")


@dataclass(frozen=True)
class Stages:
    """The configured stages of a render, named as the Animate node's inputs; all but the
    prompts are optional (which ones a mode needs, the mode checks)."""

    prompts: PromptSchedule
    motion: Motion2DStage | Motion3DStage | None = None
    color_coherence: ColorCoherenceStage | None = None
    enhance: EnhanceStage | None = None
    noise: NoiseStage | None = None
    depth_model: DepthModel | None = None
    video: VideoSource | None = None  # the frames of Video Input mode (and video coherence)
    mask: MaskStage | None = None  # where diffusion may not change a frame
    interpolation: InterpolationStage | None = None  # Interpolation mode's settings
    hybrid: HybridStage | None = None  # the video composited into and moving the frames
    optical_flow: OpticalFlowStage | None = None  # flow cadence and the redo passes
    controlnet: tuple[ControlUnit, ...] = ()  # ControlNet units, applied to every key

    def prepare_stages(self) -> list[ColorCoherenceStage | EnhanceStage | NoiseStage]:
        """The connected prepare stages, in PREPARE_ORDER."""
        found = (getattr(self, name) for name in PREPARE_ORDER)
        return [stage for stage in found if stage is not None]

    def describe(self) -> dict[str, Any]:
        """Every connected stage's settings, for the run's record."""
        prompts = self.prompts
        described: dict[str, Any] = {
            "prompts": {
                "keys": [[e.key.expression.text, e.template.text] for e in prompts.entries],
                "positive": prompts.positive.text,
                "negative": prompts.negative.text,
            }
        }
        for name in ("motion", *PREPARE_ORDER, "depth_model"):
            stage = getattr(self, name)
            described[name] = None if stage is None else stage.describe()
        optional = ("video", "mask", "interpolation", "hybrid", "optical_flow")
        for name in optional:  # absent from the records of renders without them
            if getattr(self, name) is not None:
                described[name] = getattr(self, name).describe()
        if self.controlnet:
            described["controlnet"] = [unit.describe() for unit in self.controlnet]
        return described
