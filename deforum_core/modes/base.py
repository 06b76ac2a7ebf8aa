"""What an animation mode decides, and the rules most modes share.

The loop asks the render's mode, and never compares mode names: whether the connected stages
suit it (`check_wiring`), how many frames there are (`frame_count`), which frames are
diffused (`cadence`), how frames move between
indices (`camera`), what picture and strength a key frame starts from (`start_key`),
which prompts a key frame is diffused with (`frame_text`) and from which seeds its starting
noise is drawn (`frame_noise`). A mode with settings of its own (a stage) `bind`s to the
render first, as the stages do. The defaults are those of the
camera modes (2D, 3D): the first key starts from the init image, every later key from the
previous diffused frame moved by the camera and prepared by the stages.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import torch

from ..diffusion.backend import FrameText
from ..prompts import FramePrompt
from ..stages import RenderInfo
from .cameras import StillCamera

if TYPE_CHECKING:
    from ..prompts import PromptFrames
    from ..render.settings import RenderValues
    from ..render.wiring import Stages


@dataclass(frozen=True)
class KeyInputs:
    """What a key frame can start from."""

    index: int
    strength: float  # the strength schedule's value on this frame
    init_image: torch.Tensor | None  # at the render's size, or None
    init_strength: float
    previous: torch.Tensor | None  # the last diffused frame, None before the first
    previous_index: int | None
    camera: StillCamera
    video_frame: torch.Tensor | None = None  # the video's frame here, at the render's size


@dataclass(frozen=True)
class KeyStart:
    """How a key frame starts: the picture to diffuse (None: from the prompt alone), its
    strength, and whether the prepare stages (colour, contrast, noise) run on it first."""

    picture: torch.Tensor | None
    strength: float
    prepared: bool


@dataclass(frozen=True)
class FrameNoise:
    """The seeds of a diffused frame's starting noise: its seed, and the variation seed its
    noise is slerped towards by subseed_strength (A1111's variation seeds)."""

    seed: int
    subseed: int
    subseed_strength: float


class AnimationMode:
    """A camera mode's rules; other modes override what differs."""

    name = ""
    uses_depth_model = False
    uses_video = False  # whether a key starts from the video's frame (KeyInputs.video_frame)
    frames_follow_source = False  # whether frame_count comes from a source, not max_frames
    uses_hybrid = False  # whether hybrid video can composite into and move its frames

    def check_wiring(self, stages: Stages) -> None:
        """Raise a ScheduleError naming what to connect when the stages do not suit the mode."""

    def frame_count(self, max_frames: int, stages: Stages, fps: float = 15.0) -> int:
        """How many frames the render has: max_frames, unless the mode follows a source
        (fps: the render's, which frame numbers written as expressions may use), or the
        video's when hybrid video follows it (as in Deforum)."""
        hybrid = stages.hybrid
        if self.uses_hybrid and hybrid is not None and hybrid.follows_video:
            return hybrid.video.frame_count
        return max_frames

    def bind(self, stages: Stages, prompts: PromptFrames) -> AnimationMode:
        """The mode as one render uses it, once its frame count is known: a mode with
        settings of its own returns an object holding them; the others, themselves."""
        return self

    def cadence(self, diffusion_cadence: int) -> int:
        """Every cadence-th frame is diffused."""
        return diffusion_cadence

    def camera(self, stages: Stages, render: RenderInfo, run_folder: Path) -> StillCamera:
        return StillCamera()

    def start_key(self, key: KeyInputs) -> KeyStart:
        if key.previous is None:
            return KeyStart(key.init_image, key.init_strength, prepared=False)
        moved = key.camera.move_key(key.previous, key.previous_index, key.index)
        return KeyStart(moved, key.strength, prepared=True)

    def frame_text(self, prompts: Sequence[FramePrompt], index: int) -> FrameText:
        return FrameText.from_prompt(prompts[index])

    def frame_noise(self, index: int, values: RenderValues) -> FrameNoise:
        """The frame's seed from the seed behaviour, and the variation seed schedules'."""
        frame = values.frames[index]
        return FrameNoise(values.seeds[index], frame.subseed, frame.subseed_strength)
