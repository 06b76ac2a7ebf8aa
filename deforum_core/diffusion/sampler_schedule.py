"""Deforum's sampler_schedule: which sampler diffuses each frame.

sd-webui-deforum keyframes sampler names the way it keyframes numbers (`0: ("Euler a"),
30: ("DPM++ 2M Karras")`), but a name is held from its keyframe to the next one (nothing to
interpolate), frames before the first keyframe take the first name, and quotes and brackets
around a name are dropped (FrameInterpolater.get_inbetweens with is_single_string, in
animation_key_frames.py). Each name is read as a settings file's `sampler` is (sampler_names),
so a webui label, a k-diffusion name or a ComfyUI name all work. An empty text is no schedule:
every frame uses the diffuser's own sampler.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass

from ..errors import DeforumError, ScheduleError
from .sampler_names import SamplerChoice, map_sampler

PARAMETER = "sampler_schedule"
_KEYFRAME = re.compile(r"\s*(\d+)\s*:\s*\(?\s*(['\"]?)([^'\"()]*)\2\s*\)?\s*")
_EXAMPLE = '0: ("Euler a"), 30: ("DPM++ 2M Karras")'


@dataclass(frozen=True)
class SamplerSchedule:
    """A parsed sampler schedule: (frame, sampler name as written, its choice) by frame."""

    text: str
    keyframes: tuple[tuple[int, str, SamplerChoice], ...]

    def at(self, frame: int) -> SamplerChoice | None:
        """The sampler of a frame; None when the schedule is empty (the diffuser's own)."""
        if not self.keyframes:
            return None
        frames = [key for key, _name, _choice in self.keyframes]
        index = max(0, bisect.bisect_right(frames, frame) - 1)
        return self.keyframes[index][2]


def parse_sampler_schedule(text: str) -> SamplerSchedule:
    """Parse `frame: ("name"), ...`; a ScheduleError points at the keyframe that is wrong."""
    keyframes: dict[int, tuple[str, SamplerChoice]] = {}
    position = 0
    for part in text.split(",") if text.strip() else ():
        match = _KEYFRAME.fullmatch(part)
        if match is None or not match.group(3).strip():
            raise ScheduleError(
                "each keyframe must be a frame number and a sampler name in brackets",
                parameter=PARAMETER, text=text, position=position + _first_visible(part),
                hint=f"write it like {_EXAMPLE}, or leave it empty for the diffuser's sampler",
            )  # fmt: skip
        frame, name = int(match.group(1)), " ".join(match.group(3).split())
        try:
            choice = map_sampler(name)
        except DeforumError as error:
            raise ScheduleError(
                f"frame {frame}: {error.reason}", parameter=PARAMETER, text=text,
                position=position + match.start(3), hint=error.hint,
            ) from None  # fmt: skip
        keyframes[frame] = (name, choice)
        position += len(part) + 1
    ordered = tuple((frame, *keyframes[frame]) for frame in sorted(keyframes))
    return SamplerSchedule(text, ordered)


def _first_visible(part: str) -> int:
    return len(part) - len(part.lstrip())


def beside_scheduler_key(schedule: SamplerSchedule, scheduler: str, *, keep: bool) -> str:
    """The schedule's text for a file whose `scheduler` key is `scheduler` (webui 1.9+ reads
    a scheduled name beside that key). keep False (import): every name the key changes takes
    it ("DPM++ 2M" with Karras becomes "DPM++ 2M Karras"). keep True (export): every such name
    is written with its own schedule instead, so the file reads back as the pack renders it.
    Names with a schedule of their own are left as written."""
    parts = []
    for frame, name, choice in schedule.keyframes:
        if map_sampler(name, scheduler) != choice:
            name = f"{name} {choice.comfy_scheduler if keep else scheduler}"
        parts.append(f'{frame}: ("{name}")')
    return ", ".join(parts)
