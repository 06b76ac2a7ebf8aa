"""Mode Interpolation: a morph between the prompts, every frame diffused from its own noise.

The prompts are placed on the frames (InterpolationStage): with interpolate_key_frames at
their own frame numbers, the render ending on the last; otherwise interpolate_x_frames frames
apart, whatever their numbers, so N prompts make (N - 1)·(x + 1) + 1 frames. The frame count
follows the prompts, and every frame is diffused (cadence 1, as in Deforum). A frame t
between the prompts placed at k1 < k2, at fraction f = (t - k1) / (k2 - k1), is diffused
with the two prompts' encodings interpolated by f, positive and negative alike, spherically
or linearly (conditioning.slerp_vectors); a frame on a key uses that prompt's encoding
unchanged. Its starting noise is the seed of k1 varied towards the seed of k2 by f (A1111's
variation seed, which both backends slerp), so neighbouring frames change smoothly and each
key starts from exactly its own seed's noise; a key's seed is what the render's seed
behaviour gives its frame. With an init image every frame is an img2img of it, at the
strength schedule's value on that frame (so the morph can hold more or less of the picture
as it goes); a connected Motion 2D moves the init image from frame 0 to the frame's index
in one resampling first. No frame starts from another frame's output, so there is no
feedback loop: the morph stays smooth, and the prepare stages (colour, contrast, noise) do
not run before diffusion (colour coherence after diffusion still does).

Where this does better than the notebook's render_interpolation (deforum-stable-diffusion,
helpers/render.py):
- With interpolate_key_frames the notebook's loop over pairs of prompts has an `else:` on the
  `for` that checks them, so only the last pair of prompts is interpolated; here every pair is.
- The notebook forces seed_behavior fixed (one seed for the whole morph); here each key keeps
  the seed its seed behaviour gives it, and the noise moves between keys with the morph.
- Its "slerp" normalises along the token axis and sums the cosines of all 768 columns, which
  clamps to 1, so in practice it is a linear blend; here spherical is a real per-token slerp.
  Its interpolate_x_frames path is always linear; here the choice applies to both.
- Only its positive conditioning is interpolated (the negative prompt is the first one's);
  here both are, and prompts of any length are padded as the encoder pads them.
- It diffuses every prompt once more, up front, only to show it; here each frame once.
- It ignores the init image and motion; here an init image and 2D motion apply.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from ..diffusion.backend import PROMPT_INTERPOLATIONS, SPHERICAL, FrameText
from ..errors import ScheduleError
from ..params import ParameterTable, choice, flag, integer
from ..prompts import PromptFrames
from ..stages import Motion3DStage, RenderInfo
from .base import AnimationMode, FrameNoise, KeyInputs, KeyStart
from .cameras import Camera2D, StillCamera

if TYPE_CHECKING:
    from ..render.settings import RenderValues
    from ..render.wiring import Stages

MAX_X_FRAMES = 10_000


@dataclass(frozen=True)
class InterpolationStage(ParameterTable):
    """The Deforum Interpolation node's settings, in widget order."""

    interpolate_key_frames: bool = flag(
        False,
        "On: each prompt sits at its own frame number and the frames between two prompts "
        "morph (the render ends on the last prompt). Off: interpolate_x_frames frames are made "
        "between consecutive prompts, whatever their frame numbers.",
        deforum_key="interpolate_key_frames",
    )
    interpolate_x_frames: int = integer(
        4,
        "Frames made between two consecutive prompts when interpolate_key_frames is off: "
        "(prompts - 1) x (this + 1) + 1 frames in all.",
        low=0, high=MAX_X_FRAMES, deforum_key="interpolate_x_frames",
    )  # fmt: skip
    conditioning: str = choice(
        SPHERICAL,
        PROMPT_INTERPOLATIONS,
        "How the encoded prompts are interpolated: spherical turns each token vector from one "
        "prompt's towards the next's, keeping its strength; linear mixes them, which weakens "
        "the prompts in the middle of the morph.",
    )
    interpolate_noise: bool = flag(
        True,
        "Interpolate the starting noise too: a frame between two prompts starts from the "
        "earlier prompt's seed varied towards the later one's, so neighbouring frames change "
        "smoothly. Off: every frame's seed follows seed_behavior and the subseed schedules.",
    )


class InterpolationMode(AnimationMode):
    name = "Interpolation"
    frames_follow_source = True  # the prompts set the frame count

    def check_wiring(self, stages: Stages) -> None:
        if len(stages.prompts.entries) < 2:
            raise _too_few_prompts()
        if isinstance(stages.motion, Motion3DStage):
            raise ScheduleError(
                "Interpolation mode moves the init image in 2D only; a 3D motion is connected",
                parameter="motion",
                hint="connect Deforum Motion 2D to Animate's motion input, or disconnect it",
            )

    def frame_count(self, max_frames: int, stages: Stages, fps: float = 15.0) -> int:
        self.check_wiring(stages)
        settings = settings_of(stages)
        placed = _placed(settings, stages.prompts.frames(max_frames, fps=fps))
        count = _count(settings, placed)
        if count != max_frames:  # the render's max_f is count - 1: the prompts must stay put
            again = _placed(settings, stages.prompts.frames(count, fps=fps))
            if again.keys != placed.keys:
                raise ScheduleError(
                    f"the prompts make {count} frames, and over {count} frames the prompts' "
                    "frames written with max_f move (in Interpolation mode the prompts set the "
                    "frame count, not max_frames)",
                    parameter="prompts",
                    hint="write the prompts' frames as numbers (max_f itself may end them)",
                )
        return count

    def cadence(self, diffusion_cadence: int) -> int:
        return 1  # every frame is diffused, as in Deforum

    def camera(self, stages: Stages, render: RenderInfo, run_folder: Path) -> StillCamera:
        if stages.motion is None:
            return StillCamera()
        return Camera2D(stages.motion.bind(render))

    def start_key(self, key: KeyInputs) -> KeyStart:
        """The init image moved from frame 0 to the frame (None: txt2img), unprepared."""
        if key.init_image is None:
            return KeyStart(None, key.strength, prepared=False)
        moved = key.camera.move(key.init_image, 0, key.index)
        return KeyStart(moved, key.strength, prepared=False)

    def bind(self, stages: Stages, prompts: PromptFrames) -> BoundInterpolation:
        settings = settings_of(stages)
        return BoundInterpolation(settings, _placed(settings, prompts))


class BoundInterpolation(InterpolationMode):
    """Interpolation mode in one render: its settings and the prompts placed on the frames."""

    def __init__(self, settings: InterpolationStage, placed: PromptFrames) -> None:
        self.settings = settings
        self.placed = placed  # the prompts on their frames; [t] gives frame t's two and blend

    def frame_text(self, prompts, index: int) -> FrameText:
        return FrameText.from_prompt(self.placed[index], self.settings.conditioning)

    def frame_noise(self, index: int, values: RenderValues) -> FrameNoise:
        if not self.settings.interpolate_noise:
            return super().frame_noise(index, values)
        prompt = self.placed[index]
        last = len(self.placed) - 1
        earlier = values.seeds[min(max(prompt.key_frame, 0), last)]
        later = values.seeds[min(max(prompt.next_key_frame, 0), last)]
        return FrameNoise(earlier, later, prompt.blend if later != earlier else 0.0)


def settings_of(stages: Stages) -> InterpolationStage:
    """The connected Deforum Interpolation's settings, or its defaults."""
    return stages.interpolation if stages.interpolation is not None else InterpolationStage()


def _placed(settings: InterpolationStage, prompts: PromptFrames) -> PromptFrames:
    """The prompts on the frames the mode puts them: their own frames (key frames), or
    x + 1 frames apart in their order."""
    keys = prompts.keys
    if len(keys) < 2:
        raise _too_few_prompts(f" (its {len(prompts.schedule.entries)} fall on one frame)")
    if not settings.interpolate_key_frames:
        step = settings.interpolate_x_frames + 1
        keys = [(index * step, entry) for index, (_, entry) in enumerate(keys)]
    return replace(prompts, keys=keys, starts=tuple(frame for frame, _ in keys))


def _count(settings: InterpolationStage, placed: PromptFrames) -> int:
    from ..render.settings import MAX_FRAMES_LIMIT  # the render package imports the modes

    count = max(placed.starts[-1] + 1, 1)
    if count > MAX_FRAMES_LIMIT:
        parameter = "prompts" if settings.interpolate_key_frames else "interpolate_x_frames"
        raise ScheduleError(
            f"the interpolation makes {count} frames, more than {MAX_FRAMES_LIMIT}",
            parameter=parameter,
            hint="place the prompts on earlier frames, or make fewer frames between them",
        )
    return count


def _too_few_prompts(detail: str = "") -> ScheduleError:
    return ScheduleError(
        f"Interpolation mode needs at least two prompts to interpolate between{detail}",
        parameter="prompts",
        hint="write two or more prompts in Deforum Prompts, such as 0: a cat and 30: a dog, "
        "or choose another animation_mode",
    )
