"""The prepare stages: each a dataclass of its parameters that binds to a render and then
applies to one frame at a time (protocol.py)."""

from .color_coherence import COLOR_COHERENCE_MODES, BoundColorCoherence, ColorCoherenceStage
from .enhance import BoundEnhance, EnhanceStage
from .motion2d import BoundMotion2D, Motion2DStage
from .motion3d import BoundMotion3D, Motion3DStage
from .noise import BoundNoise, NoiseStage
from .protocol import BoundStage, FrameContext, RenderInfo, Stage

__all__ = [
    "COLOR_COHERENCE_MODES",
    "BoundColorCoherence",
    "BoundEnhance",
    "BoundMotion2D",
    "BoundMotion3D",
    "BoundNoise",
    "BoundStage",
    "ColorCoherenceStage",
    "EnhanceStage",
    "FrameContext",
    "Motion2DStage",
    "Motion3DStage",
    "NoiseStage",
    "RenderInfo",
    "Stage",
]
