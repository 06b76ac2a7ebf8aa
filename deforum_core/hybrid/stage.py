"""The hybrid video settings: sd-webui-deforum's hybrid_* options, declared once.

Names drop Deforum's `hybrid_` prefix (they sit on the Deforum Hybrid Video node); each
field's deforum_key is the settings-file key. The video itself, and the depth and RAFT
models some options need, come with the stage from the node's sockets.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..errors import ScheduleError
from ..flow import FLOW_METHODS
from ..keyframes import Schedule
from ..params import ParameterTable, choice, flag, integer, schedule
from .composite import EQUALIZE, MASK_TYPES

COMPOSITE_TIMES = ("None", "Normal", "Before Motion", "After Generation")
MOTIONS = ("None", "Optical Flow", "Perspective", "Affine")


@dataclass(frozen=True)
class HybridFrame:
    """The hybrid schedules' values on one frame."""

    comp_alpha: float
    comp_mask_blend_alpha: float
    comp_mask_contrast: float
    comp_mask_auto_contrast_cutoff_low: int
    comp_mask_auto_contrast_cutoff_high: int
    flow_factor: float


@dataclass(frozen=True)
class HybridStage(ParameterTable):
    """The Deforum Hybrid Video node's settings, in widget order, with its sources."""

    composite: str = choice(
        "Normal", COMPOSITE_TIMES,
        "When the video's frame is blended into each key frame: Normal (after the video's "
        "motion), Before Motion, After Generation (into the diffused frame), or None.",
        deforum_key="hybrid_composite",
    )  # fmt: skip
    comp_alpha_schedule: Schedule = schedule(
        "0:(0.5)", "How much of the composite replaces the frame: 0 none, 1 all of it.",
        deforum_key="hybrid_comp_alpha_schedule", low=0.0, high=1.0,
    )  # fmt: skip
    comp_mask_type: str = choice(
        "None", MASK_TYPES,
        "Where the video shows through: None (everywhere, by alpha), Depth (the frame's "
        "near areas), Video Depth (the video's near areas), Blend or Difference of the two "
        "frames' greys. White keeps the frame, black takes the video.",
        deforum_key="hybrid_comp_mask_type",
    )  # fmt: skip
    comp_mask_inverse: bool = flag(
        False, "Swap the mask's black and white.", deforum_key="hybrid_comp_mask_inverse"
    )
    comp_mask_equalize: str = choice(
        "None", EQUALIZE, "Equalise the mask's histogram before or after its contrast, or both.",
        deforum_key="hybrid_comp_mask_equalize",
    )  # fmt: skip
    comp_mask_auto_contrast: bool = flag(
        False, "Stretch the mask so its low and high cutoff percentiles become black and white.",
        deforum_key="hybrid_comp_mask_auto_contrast",
    )  # fmt: skip
    comp_mask_auto_contrast_cutoff_low_schedule: Schedule = schedule(
        "0:(0)", "Auto-contrast: the percentile that becomes black.",
        deforum_key="hybrid_comp_mask_auto_contrast_cutoff_low_schedule", low=0, high=100,
        whole=True,
    )  # fmt: skip
    comp_mask_auto_contrast_cutoff_high_schedule: Schedule = schedule(
        "0:(100)", "Auto-contrast: the percentile that becomes white.",
        deforum_key="hybrid_comp_mask_auto_contrast_cutoff_high_schedule", low=0, high=100,
        whole=True,
    )  # fmt: skip
    comp_mask_contrast_schedule: Schedule = schedule(
        "0:(1)", "The mask's contrast (1 unchanged, 0 flat grey).",
        deforum_key="hybrid_comp_mask_contrast_schedule", low=0.0,
    )  # fmt: skip
    comp_mask_blend_alpha_schedule: Schedule = schedule(
        "0:(0.5)", "Blend mask: the video grey's share (0 the frame's grey, 1 the video's).",
        deforum_key="hybrid_comp_mask_blend_alpha_schedule", low=0.0, high=1.0,
    )  # fmt: skip
    motion: str = choice(
        "None", MOTIONS,
        "Move each frame as the video moves: Optical Flow (dense flow between the video's "
        "frames), Perspective or Affine (a camera-like transform fitted to them), or None.",
        deforum_key="hybrid_motion",
    )  # fmt: skip
    motion_use_prev_img: bool = flag(
        False, "Measure the motion from the frame itself to the video's frame, not between "
        "two video frames.", deforum_key="hybrid_motion_use_prev_img",
    )  # fmt: skip
    flow_method: str = choice(
        "DIS Medium", FLOW_METHODS,
        "Optical flow method: DIS Medium and DIS Fine (fast, OpenCV), Farneback, or RAFT "
        "(a Deforum RAFT Model must be connected).",
        deforum_key="hybrid_flow_method",
    )  # fmt: skip
    flow_factor_schedule: Schedule = schedule(
        "0:(1)", "Scales the video's flow (1 as measured, 0 no motion, negative reverses it).",
        deforum_key="hybrid_flow_factor_schedule",
    )  # fmt: skip
    flow_consistency: bool = flag(
        False, "Keep only flow that a backward flow confirms (no motion where it disagrees, "
        "e.g. at occlusions).", deforum_key="hybrid_flow_consistency",
    )  # fmt: skip
    consistency_blur: int = integer(
        2, "Blur of the consistency map in pixels (0 none).",
        deforum_key="hybrid_consistency_blur", low=0, high=64,
    )  # fmt: skip
    use_first_frame_as_init_image: bool = flag(
        True, "Start the animation from the video's first frame (as Deforum, over any init "
        "image).", deforum_key="hybrid_use_first_frame_as_init_image",
    )  # fmt: skip
    use_init_image: bool = flag(
        False, "Composite the init image instead of the video's frames; the frame count is "
        "then Animate's, not the video's.", deforum_key="hybrid_use_init_image",
    )  # fmt: skip
    video: Any = field(default=None, compare=False)  # a VideoSource (video_source.py)
    depth_model: Any = field(default=None, compare=False)  # for the Depth mask types
    raft: Any = field(default=None, compare=False)  # for flow_method RAFT

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.video is None:
            raise ScheduleError(
                "hybrid video needs a video",
                parameter="video",
                hint="connect a Deforum Video Input to the hybrid video node",
            )
        if self.needs_depth and self.depth_model is None:
            raise ScheduleError(
                f"mask type {self.comp_mask_type} needs a depth model",
                parameter="comp_mask_type",
                hint="connect a Deforum Depth Model to the hybrid video node, or pick Blend",
            )
        if self.moves_by_flow and self.flow_method == "RAFT" and self.raft is None:
            raise ScheduleError(
                "flow_method RAFT needs a RAFT model",
                parameter="flow_method",
                hint="connect a Deforum RAFT Model, or pick DIS Medium (no weights needed)",
            )

    @property
    def needs_depth(self) -> bool:
        """Whether the composite's mask is made from depth."""
        composites = self.composite != "None"
        return composites and self.comp_mask_type in ("Depth", "Video Depth")

    @property
    def moves_by_flow(self) -> bool:
        return self.motion == "Optical Flow"

    @property
    def active(self) -> bool:
        """Whether it changes anything: a composite or a motion is chosen."""
        return self.composite != "None" or self.motion != "None"

    @property
    def follows_video(self) -> bool:
        """Whether the render has the video's frame count (Deforum: unless it composites the
        init image)."""
        return self.active and not self.use_init_image

    def describe(self) -> dict[str, Any]:
        described = super().describe()
        described["video"] = self.video.describe()
        for name in ("depth_model", "raft"):
            model = getattr(self, name)
            if model is not None:
                described[name] = model.describe()
        return described
