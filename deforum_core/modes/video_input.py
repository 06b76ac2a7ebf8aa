"""Mode Video Input: every diffused frame starts from the video's frame at its index.

As in sd-webui-deforum (render.py, using_vid_init): the frame count follows the video (its
frames after extract_nth_frame, extract_from_frame and extract_to_frame), each key starts
from its video frame with the strength schedule (frame 0 too: there is no init image), the
previous output is not moved onto the next key, and the prompts are the scheduled ones.
Unlike Deforum, cadence applies (Deforum forces 1): the frames between two keys blend them,
and the connected prepare stages (colour coherence, contrast, noise) run on each key.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..errors import ScheduleError
from .base import AnimationMode, KeyInputs, KeyStart

if TYPE_CHECKING:
    from ..render.wiring import Stages


class VideoInputMode(AnimationMode):
    name = "Video Input"
    uses_video = True
    frames_follow_source = True

    def check_wiring(self, stages: Stages) -> None:
        if stages.video is None:
            raise ScheduleError(
                "Video Input mode needs a video",
                parameter="animation_mode",
                hint="connect Deforum Video Input to Animate's video input",
            )
        if stages.motion is not None:
            raise ScheduleError(
                "Video Input mode follows the video; a camera motion does nothing in it",
                parameter="motion",
                hint="disconnect the motion, or choose 2D or 3D to move the camera",
            )

    def frame_count(self, max_frames: int, stages: Stages, fps: float = 15.0) -> int:
        self.check_wiring(stages)
        return stages.video.frame_count

    def start_key(self, key: KeyInputs) -> KeyStart:
        return KeyStart(key.video_frame, key.strength, prepared=True)
