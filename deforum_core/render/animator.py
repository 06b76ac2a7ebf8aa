"""The Deforum frame loop: warp, coherence, contrast, anti-blur, noise, diffuse, cadence.

Frames are rendered in Deforum's order and streamed to the run directory; only the last
diffused frame, the next one and the colour reference are held in memory, however long the
animation. With cadence c, frames 0, c, 2c, ... are diffused and each frame between two of
them blends the earlier one moved forward by the camera with the later one moved back, by
position, so every diffused frame appears unchanged at its own index; frames after the last
diffused frame follow the camera from it, and every frame up to max_frames is written.
Without a diffuser the loop is a motion preview: the prepared frame stands in for the
diffused one.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import torch
import torch.nn.functional as F

from ..depth.depth_maps import save_depth_map
from ..diffusion.backend import DiffusionBackend, DiffusionRequest, FrameText
from ..errors import ScheduleError
from ..prompts import PromptSchedule
from ..stages import (
    ColorCoherenceStage,
    EnhanceStage,
    Motion2DStage,
    Motion3DStage,
    NoiseStage,
    tensor_digest,
)
from .camera import Camera2D, Camera3D, StillCamera
from .rundir import STATE_FILE, RunDirectory, quantize
from .settings import AnimationSettings, FrameSchedules

DEPTH_PATTERN = "depth_{:05d}.png"
DEPTH_RANGE = (1.0, 2.0)  # Deforum's camera depth: near 1, far 2


class RenderCancelled(Exception):
    """Raised by a cancel check between frames; every file written so far is whole."""


class DepthEstimator(Protocol):
    """What 3D mode needs from a depth model: frames [B, H, W, 3] to Deforum's camera depth
    [B, H, W] (z from 1, near, to 2, far), as deforum_core.depth.DepthEstimator gives."""

    def __call__(self, frames: torch.Tensor) -> torch.Tensor: ...


@dataclass(frozen=True)
class Stages:
    """The configured stages of a render; all but the prompts are optional (3D mode needs a
    Motion3DStage and a depth model)."""

    prompts: PromptSchedule
    motion: Motion2DStage | Motion3DStage | None = None
    color: ColorCoherenceStage | None = None
    enhance: EnhanceStage | None = None
    noise: NoiseStage | None = None
    depth: DepthEstimator | None = None

    def describe(self) -> dict:
        prompts = {
            "keys": [[e.key.expression.text, e.template.text] for e in self.prompts.entries],
            "positive": self.prompts.positive.text,
            "negative": self.prompts.negative.text,
        }
        stages = {
            "motion": self.motion,
            "color": self.color,
            "enhance": self.enhance,
            "noise": self.noise,
        }
        described = {name: stage and stage.describe() for name, stage in stages.items()}
        depth = None if self.depth is None else repr(self.depth)
        return {"prompts": prompts, **described, "depth": depth}


def _no_op(*_arguments) -> None:
    return None


@dataclass
class RenderCallbacks:
    """How the loop reports: on_frame(index, total, frame) after each written frame, and
    check_cancel() before each frame, which raises RenderCancelled (or any error) to stop."""

    on_frame: Callable[[int, int, torch.Tensor], None] = _no_op
    check_cancel: Callable[[], None] = _no_op


@dataclass(frozen=True)
class RenderResult:
    run_dir: Path
    settings: AnimationSettings
    frames_written: int
    last_frame: torch.Tensor = field(repr=False)
    depth_calls: int = 0


def render_animation(
    settings: AnimationSettings,
    stages: Stages,
    diffuser: DiffusionBackend | None,
    run_dir: Path,
    *,
    init_image: torch.Tensor | None = None,
    resume: bool = False,
    callbacks: RenderCallbacks | None = None,
) -> RenderResult:
    """Render every frame of the animation into run_dir (see the module docstring)."""
    directory = RunDirectory(run_dir)
    if resume and settings.seed == -1:
        saved = directory.read_json("settings.json") or {}
        settings = AnimationSettings(**{**settings.as_dict(), "seed": saved.get("seed", -1)})
    resolved = settings.with_resolved_seed()
    record = {
        **resolved.as_dict(),
        "stages": stages.describe(),
        "diffuser": getattr(diffuser, "name", None),
        "init_image": None if init_image is None else tensor_digest(init_image),
    }
    loop = _Loop(resolved, stages, diffuser, directory, init_image, callbacks or RenderCallbacks())
    return loop.run(directory.prepare(record, resume=resume))


class _Loop:
    """One render's state: the frame values, and the frames kept between keys."""

    def __init__(
        self,
        settings: AnimationSettings,
        stages: Stages,
        diffuser: DiffusionBackend | None,
        directory: RunDirectory,
        init_image: torch.Tensor | None,
        callbacks: RenderCallbacks,
    ) -> None:
        self.settings = settings
        self.stages = stages
        self.diffuser = diffuser
        self.directory = directory
        self.callbacks = callbacks
        self.init_image = None if init_image is None else self._fit(init_image)
        frames, seed, fps = settings.max_frames, settings.seed, settings.fps
        self.schedules = FrameSchedules.evaluate(settings)
        self.prompts = stages.prompts.evaluate(frames, seed=seed, fps=fps)
        self.motion_values = self._values(stages.motion)
        self.enhance_values = self._values(stages.enhance)
        self.noise_values = self._values(stages.noise)
        self.depths: dict[int, torch.Tensor] = {}
        self.depth_calls = 0
        self.camera = self._camera()
        self.written = 0

    def _values(self, stage) -> list[dict[str, float]] | None:
        if stage is None:
            return None
        settings = self.settings
        return stage.schedules.frame_values(
            settings.max_frames, seed=settings.seed, fps=settings.fps
        )

    def _fit(self, image: torch.Tensor) -> torch.Tensor:
        """The init image at the render's size (resized like Deforum does), RGB."""
        image = image[:1, ..., :3]
        size = (self.settings.height, self.settings.width)
        if tuple(image.shape[1:3]) != size:
            resized = F.interpolate(image.permute(0, 3, 1, 2), size, mode="bicubic", antialias=True)
            image = resized.permute(0, 2, 3, 1)
        return quantize(image)

    # -- camera -------------------------------------------------------------------------------
    def _camera(self):
        """How frames move between indices in this render's mode."""
        settings, motion = self.settings, self.stages.motion
        mode = settings.animation_mode
        if mode == "3D":
            if not isinstance(motion, Motion3DStage) or self.stages.depth is None:
                raise ScheduleError(
                    "3D mode needs a 3D motion and a depth model",
                    parameter="animation_mode",
                    hint="connect Deforum Motion 3D and a depth model, or choose 2D",
                )
            return Camera3D(motion, self.motion_values, settings.width, settings.height,
                            self._depth_of)  # fmt: skip
        if mode == "2D" and motion is not None:
            if not isinstance(motion, Motion2DStage):
                raise ScheduleError(
                    "2D mode needs a 2D motion",
                    parameter="animation_mode",
                    hint="connect Deforum Motion 2D, or choose 3D for a 3D motion",
                )
            return Camera2D(motion, self.motion_values, settings.width, settings.height)
        return StillCamera()

    def _depth_of(self, index: int, frame: torch.Tensor) -> torch.Tensor:
        """Depth of the diffused frame at index, estimated once and kept while it is needed."""
        if index not in self.depths:
            self.depths[index] = self.stages.depth(frame)
            self.depth_calls += 1
            if self.stages.motion.save_depth_maps:
                path = self.directory.path / DEPTH_PATTERN.format(index)
                save_depth_map(path, self.depths[index][0], value_range=DEPTH_RANGE)
        return self.depths[index]

    def _move(self, frame: torch.Tensor, source: int, target: int) -> torch.Tensor:
        return self.camera.move(frame, source, target)

    # -- the loop -----------------------------------------------------------------------------
    def run(self, state: dict | None) -> RenderResult:
        keys = self.settings.diffused_frames()
        previous, previous_key, reference, reference_key = None, None, None, None
        start = 0
        if state is not None and state.get("last_key_frame") is not None:
            previous_key = state["last_key_frame"]
            previous = self.directory.read_frame(previous_key)
            reference_key = state.get("reference_frame")
            if reference_key is not None:
                reference = self.directory.read_frame(reference_key)
            start = keys.index(previous_key) + 1
            self.written = previous_key + 1

        for key in keys[start:]:
            self.callbacks.check_cancel()
            image = self._diffuse_key(key, previous, previous_key, reference)
            color = self.stages.color
            if color is not None and (reference is None or color.refreshes_reference(key)):
                reference, reference_key = image, key
            if previous is not None:
                self._write_between(previous, previous_key, image, key)
            self._write(key, image)
            self.directory.write_json(
                STATE_FILE,
                {"last_key_frame": key, "reference_frame": reference_key, "complete": False},
            )
            previous, previous_key = image, key
            for old in [index for index in self.depths if index < key]:
                del self.depths[old]  # frames before the last diffused one never move again

        for frame in range(previous_key + 1, self.settings.max_frames):
            self.callbacks.check_cancel()
            self._write(frame, self._move(previous, previous_key, frame))
        self.directory.write_json(
            STATE_FILE,
            {"last_key_frame": previous_key, "reference_frame": reference_key, "complete": True},
        )
        last = self.directory.read_frame(self.settings.max_frames - 1)
        return RenderResult(
            self.directory.path, self.settings, self.written, last, self.depth_calls
        )

    def _write(self, index: int, frame: torch.Tensor) -> None:
        """Write a frame, then report it; on_frame may raise to stop (ComfyUI's progress hook
        raises its interrupt there), which is safe: the frame is whole and a resume redoes
        the current key from the last saved state, deterministically."""
        self.directory.write_frame(index, frame)
        self.written = max(self.written, index + 1)
        self.callbacks.on_frame(index, self.settings.max_frames, frame)

    def _write_between(
        self, earlier: torch.Tensor, earlier_key: int, later: torch.Tensor, later_key: int
    ) -> None:
        for frame in range(earlier_key + 1, later_key):
            self.callbacks.check_cancel()
            weight = (frame - earlier_key) / (later_key - earlier_key)
            forward = self._move(earlier, earlier_key, frame)
            backward = self._move(later, later_key, frame)
            self._write(frame, quantize(forward * (1.0 - weight) + backward * weight))

    def _diffuse_key(
        self,
        key: int,
        previous: torch.Tensor | None,
        previous_key: int | None,
        reference: torch.Tensor | None,
    ) -> torch.Tensor:
        """Prepare the frame in Deforum's order and diffuse it; returns it at 8-bit levels."""
        seed = self.schedules.seeds[key]
        if previous is None or self.settings.animation_mode == "None":
            prepared, strength = self.init_image, self.settings.init_strength
        else:
            prepared = self._move(previous, previous_key, key)
            if self.stages.color is not None:
                prepared = self.stages.color.apply(prepared, reference)
            if self.stages.enhance is not None:
                prepared = self.stages.enhance.apply(prepared, self.enhance_values[key])
            if self.stages.noise is not None:
                prepared = self.stages.noise.apply(prepared, self.noise_values[key], seed)
            strength = self.schedules.strength[key]
        if self.diffuser is None:
            if prepared is None:
                raise ScheduleError(
                    "a motion preview (no diffuser) needs an init image",
                    parameter="init_image",
                    hint="connect an init image, or a diffuser to generate the first frame",
                )
            return quantize(prepared)
        prompt = self.prompts[key]
        request = DiffusionRequest(
            text=FrameText(
                prompt.positive,
                prompt.negative,
                prompt.next_positive,
                prompt.next_negative,
                prompt.blend,
            ),
            strength=strength,
            steps=self.schedules.steps[key],
            cfg=self.schedules.cfg[key],
            seed=seed,
            width=self.settings.width,
            height=self.settings.height,
            image=prepared,
        )
        return quantize(self.diffuser.diffuse(request).image[:1, ..., :3])


def frames_digest(run_dir: Path) -> str:
    """One fingerprint of all frame files of a run, to compare renders byte for byte."""
    digest = hashlib.sha256()
    for path in RunDirectory(run_dir).frame_paths():
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()
