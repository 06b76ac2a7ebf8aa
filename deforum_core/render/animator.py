"""The Deforum frame loop: the cadence algorithm, streaming every frame to the run folder.

With cadence c, frames 0, c, 2c, ... are diffused ("keys"). Each key starts as its mode says
(the previous key moved by the camera, or the init image), is prepared by the stages in
Deforum's order (wiring.PREPARE_ORDER) and diffused; each frame between two keys blends the
earlier one moved forward by the camera with the later one moved back, by position, so every
key appears unchanged at its own index. Frames after the last key follow the camera from it,
and every frame up to max_frames is written. Only the last key, the next one and the colour
reference are held in memory, however long the animation; frames are written (and videos
encoded) by a background writer, frame_writer.py. Without a diffuser the loop is a
motion preview: each stage's `preview` (what a diffuser would leave of its work: the colours
and contrast, not the noise nor the sharpening) stands in for the diffused frame.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path
from typing import Any

import torch

from ..controlnet import frame_controls
from ..diffusion.backend import DiffusionBackend, DiffusionRequest
from ..errors import ScheduleError
from ..fingerprint import tensor_digest
from ..hybrid.bound import BoundHybrid, HybridCamera
from ..modes import KeyInputs
from ..params import ParameterTable, legacy_values, record
from ..pictures import VideoFrames, fit_picture, quantize
from ..stages import BoundColorCoherence, FrameContext, RenderInfo
from ..video_encoding import StreamedVideo, VideoSettings
from .budget import check_evaluation_cost, check_frame_memory, render_costs
from .frame_writer import FrameWriter
from .key_blocks import KeyBlocks
from .key_diffusion import diffuse_from, diffuse_key, diffusers_by_key
from .rundir import SETTINGS_FILE, STATE_FILE, RunDirectory, RunDirectoryError, frame_pixels
from .settings import AnimationSettings, RenderValues
from .wiring import PREPARE_ORDER, Stages


class RenderCancelled(Exception):
    """Raised by a cancel check between frames; every file written so far is whole."""


def _no_op(*_arguments) -> None:
    return None


@dataclass
class RenderCallbacks:
    """How the loop reports: on_frame(index, total, frame) after each frame is handed to the
    writer (written meanwhile), and check_cancel() before each frame, which raises
    RenderCancelled (or any error) to stop;
    on_step(done, total, preview) after each sampler step, with `done` in frames: a key's
    steps are spread over the frames it completes (those since the last written one, up to
    the key), so progress counted from both only moves forward."""

    on_frame: Callable[[int, int, torch.Tensor], None] = _no_op
    check_cancel: Callable[[], None] = _no_op
    on_step: Callable[[float, int, Any], None] = _no_op


@dataclass(frozen=True)
class RenderResult:
    run_dir: Path
    settings: AnimationSettings
    frames_written: int
    last_frame: torch.Tensor = field(repr=False)
    depth_calls: int = 0
    videos: tuple[StreamedVideo, ...] = ()  # those asked for, finished with the last frame


def run_record(
    settings: AnimationSettings,
    stages: Stages,
    diffuser: DiffusionBackend | None,
    init_image: torch.Tensor | None,
) -> dict[str, Any]:
    """What makes a render's frames what they are, written to settings.json and compared on
    resume: the animation's parameters, the stages, the diffuser and the init image."""
    return {
        **record(settings),
        "stages": stages.describe(),
        "diffuser": None if diffuser is None else diffuser.describe(),
        "init_image": None if init_image is None else tensor_digest(init_image),
    }


def legacy_record(
    settings: AnimationSettings, stages: Stages, diffuser: DiffusionBackend | None
) -> dict[str, Any]:
    """What records saved before the appended parameters existed rendered with, nested as
    run_record, so such a run resumes under today's settings when nothing else changed. A
    diffusers record saved before it named its scheduler's config is taken to have used the
    model's config as it is now."""
    connected = {name: getattr(stages, name) for name in ("motion", *PREPARE_ORDER)}
    described = {} if diffuser is None else diffuser.describe()
    return {
        **legacy_values(settings),
        "stages": {
            name: legacy_values(stage)
            for name, stage in connected.items()
            if isinstance(stage, ParameterTable)
        },
        "diffuser": {k: v for k, v in described.items() if k == "scheduler_config"},
    }


def render_animation(
    settings: AnimationSettings,
    stages: Stages,
    diffuser: DiffusionBackend | None,
    run_dir: Path,
    *,
    init_image: torch.Tensor | None = None,
    resume: bool = False,
    callbacks: RenderCallbacks | None = None,
    videos: Sequence[VideoSettings] = (),
) -> RenderResult:
    """Render every frame of the animation into run_dir (see the module docstring), and
    encode the videos asked for as the frames are written (any that fails is left out of
    the result's videos, to be encoded from the frames)."""
    directory = RunDirectory(run_dir)
    if resume and settings.base_seed == -1:
        saved = directory.read_json(SETTINGS_FILE) or {}
        settings = replace(settings, base_seed=saved.get("base_seed", -1))
    frame_count = settings.mode.frame_count(settings.max_frames, stages, settings.fps)
    resolved = replace(settings, max_frames=frame_count).with_resolved_seed()
    check_frame_memory(resolved.width, resolved.height)
    diffused = len(resolved.diffused_frames())
    check_evaluation_cost(render_costs(resolved, stages, diffused), resolved.max_frames)
    loop = _Loop(resolved, stages, diffuser, directory, init_image, callbacks or RenderCallbacks())
    state = directory.prepare(run_record(resolved, stages, diffuser, init_image), resume=resume,
                              legacy=legacy_record(resolved, stages, diffuser))  # fmt: skip
    with FrameWriter(directory, resolved.max_frames, videos=videos) as loop.writer:
        loop.run(state)
        streamed = loop.writer.close()  # every frame and record on disk, the videos finished
    last = directory.read_frame(resolved.max_frames - 1)
    return RenderResult(directory.path, resolved, loop.written, last, loop.camera.depth_calls,
                        streamed)  # fmt: skip


class _Loop:
    """One render: its frame values, bound stages and camera, and the frames it writes."""

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
        self.mode = settings.mode
        self.mode.check_wiring(stages)
        self.diffuser = diffuser
        self.directory = directory
        self.callbacks = callbacks
        video = stages.video if stages.video is not None else getattr(stages.hybrid, "video", None)
        self.video = None if video is None else VideoFrames(video, settings.width, settings.height)
        self.references = None if video is None else VideoFrames(video, settings.width,
                                                                 settings.height)  # fmt: skip
        self.init_image = None if init_image is None else fit_picture(
            init_image, settings.width, settings.height, parameter="init_image",
            what="the init image",
        )  # fmt: skip
        render = RenderInfo(settings.max_frames, settings.width, settings.height,
                            settings.base_seed, settings.fps, callbacks.check_cancel)  # fmt: skip
        self.values = RenderValues.evaluate(settings, callbacks.check_cancel)
        self.prompts = stages.prompts.frames(settings.max_frames, seed=settings.base_seed,
                                             fps=settings.fps)  # fmt: skip
        self.mode = self.mode.bind(stages, self.prompts)
        self.prepare = [stage.bind(render) for stage in stages.prepare_stages()]
        colors = [stage for stage in self.prepare if isinstance(stage, BoundColorCoherence)]
        self.color = colors[0] if colors else None
        if self.color is not None and self.color.matches_video and self.video is None:
            raise ScheduleError(
                "color coherence Video Input needs a video",
                parameter="color_coherence",
                hint="connect Deforum Video Input to Animate's video input, or pick LAB",
            )
        self.camera = self.mode.camera(stages, render, directory.path)
        self.hybrid = self._bind_hybrid(stages, render)
        self.flow = None if stages.optical_flow is None else stages.optical_flow.bind(render)
        self.mask = None if stages.mask is None else stages.mask.bind(render)
        self.controlnet = [unit.bind(render) for unit in stages.controlnet]
        self.diffusers = diffusers_by_key(diffuser, self.values.samplers)
        self.written = 0
        self.writer: FrameWriter  # the run folder's, for the length of render_animation

    def _bind_hybrid(self, stages: Stages, render: RenderInfo) -> BoundHybrid | None:
        """Hybrid video wrapped around the mode's camera; with use_first_frame_as_init_image
        the animation starts from the video's first frame (over any init image, as Deforum)."""
        if stages.hybrid is None:
            return None
        if not self.mode.uses_hybrid:
            raise ScheduleError(
                "hybrid video works in 2D and 3D modes", parameter="hybrid",
                hint="choose animation_mode 2D or 3D, or disconnect the hybrid video",
            )  # fmt: skip
        if not stages.hybrid.active:
            return None
        hybrid = BoundHybrid(stages.hybrid, render, self.init_image)
        if stages.hybrid.use_first_frame_as_init_image:
            self.init_image = hybrid.first_frame()
        self.camera = HybridCamera(self.camera, hybrid)
        return hybrid

    def run(self, state: dict | None) -> None:
        keys = self.settings.diffused_frames()
        previous, previous_key, reference, reference_key = None, None, None, None
        start = 0
        resume_key = self._resume_key(keys, state)
        if resume_key is not None:
            previous_key, previous = resume_key, self.directory.read_frame(resume_key)
            reference_key = self._reference_key(keys, resume_key)
            if reference_key is not None:
                reference = self.directory.read_frame(reference_key)
            start = keys.index(previous_key) + 1
            self.written = previous_key + 1

        with KeyBlocks(beside=self._blocks_beside()) as blocks:
            for key in keys[start:]:
                self.callbacks.check_cancel()
                image = self._key_frame(key, previous, previous_key, reference)
                if self._takes_reference(key, reference is None):
                    reference, reference_key = image, key
                blocks.run(self._finish_key, previous, previous_key, image, key, reference_key)
                previous, previous_key = image, key

        for frame in range(previous_key + 1, self.settings.max_frames):
            self.callbacks.check_cancel()
            self._write(frame, self.camera.move(previous, previous_key, frame))
        self._save_state(previous_key, reference_key, complete=True)

    def _blocks_beside(self) -> bool:
        """Whether key blocks may run beside the loop (key_blocks.py): only a motion preview's
        (with a diffuser, progress counts the frames written before each key's steps) with a
        camera that keeps no state and no optical flow, so both threads share nothing."""
        pure = getattr(self.camera, "pure", False)
        return self.diffuser is None and self.flow is None and pure

    def _finish_key(
        self,
        previous: torch.Tensor | None,
        previous_key: int | None,
        image: torch.Tensor,
        key: int,
        reference_key: int | None,
    ) -> None:
        """A key's block: the frames between the previous key and it, the key, its state."""
        if previous is not None:
            self._write_between(previous, previous_key, image, key)
        self._write(key, image)
        self._save_state(key, reference_key, complete=False)
        self.camera.forget_before(key)  # frames before the last key never move again

    def _takes_reference(self, key: int, none_yet: bool) -> bool:
        """Whether this key's output becomes the colour coherence reference."""
        if self.color is None or self.color.matches_video:
            return False  # the reference is the video's frame, not an output
        return none_yet or self.color.refreshes_reference(key)

    def _reference_key(self, keys: list[int], up_to: int) -> int | None:
        """The key whose output is the colour reference once key `up_to` is done."""
        reference = None
        for key in keys[: keys.index(up_to) + 1]:
            if self._takes_reference(key, reference is None):
                reference = key
        return reference

    def _resume_key(self, keys: list[int], state: dict | None) -> int | None:
        """The key a resume continues after: the saved one, or the last key before the first
        frame that is missing or damaged (that block is rendered again, as it was)."""
        saved = None if state is None else state.get("last_key_frame")
        if saved is None:
            return None
        if saved not in keys:
            raise RunDirectoryError(
                f"{STATE_FILE} of {self.directory.path.name} names frame {saved!r}, which is not "
                "a diffused frame of this render",
                hint=f"delete {STATE_FILE} and the frames after the last good key, or start a "
                "new render",
            )
        damaged = self.directory.first_damaged_frame(saved + 1)
        if damaged is None:
            return saved
        earlier = [key for key in keys if key < damaged]
        return earlier[-1] if earlier else None

    def _save_state(self, key: int, reference_key: int | None, *, complete: bool) -> None:
        state = {"last_key_frame": key, "reference_frame": reference_key, "complete": complete}
        self.writer.write_json(STATE_FILE, state)  # after the frames it vouches for

    def _write(self, index: int, frame: torch.Tensor) -> None:
        """Hand a frame to the writer, then report it; on_frame may raise to stop (ComfyUI's
        progress hook raises its interrupt there), which is safe: the writer writes what it
        was handed whole, and a resume redoes the current key from the last saved state,
        deterministically."""
        self.writer.write_frame(index, frame_pixels(frame))
        self.written = max(self.written, index + 1)
        self.callbacks.on_frame(index, self.settings.max_frames, frame)

    def _step_progress(self, key: int) -> Callable[[int, int, Any], None]:
        """A key's on_step: its sampler steps as progress over the frames it completes."""
        done_before, span, total = self.written, key + 1 - self.written, self.settings.max_frames

        def report(step: int, steps: int, preview: Any) -> None:
            self.callbacks.on_step(done_before + span * step / max(steps, 1), total, preview)

        return report

    def _write_between(
        self, earlier: torch.Tensor, earlier_key: int, later: torch.Tensor, later_key: int
    ) -> None:
        strength = self.values.frames[earlier_key].strength
        flow = None if self.flow is None else self.flow.cadence_flow(
            earlier, later, earlier_key, strength)  # fmt: skip
        for frame in range(earlier_key + 1, later_key):
            self.callbacks.check_cancel()
            weight = (frame - earlier_key) / (later_key - earlier_key)
            if flow is not None:  # the flow between the keys holds the camera's motion too
                self._write(frame, quantize(self.flow.between(earlier, later, flow, weight)))
                continue
            forward = self.camera.move(earlier, earlier_key, frame)
            backward = self.camera.move(later, later_key, frame)
            self._write(frame, quantize(forward * (1.0 - weight) + backward * weight))

    def _key_frame(
        self,
        key: int,
        previous: torch.Tensor | None,
        previous_key: int | None,
        reference: torch.Tensor | None,
    ) -> torch.Tensor:
        """Start the key as the mode says, prepare it in Deforum's order and diffuse it;
        returns it at 8-bit levels."""
        values, noise = self.values.frames[key], self.mode.frame_noise(key, self.values)
        seed = noise.seed
        if self.color is not None and self.color.matches_video:  # first: it is not after key
            reference = self.references[self.color.video_reference_frame(key)]
        video_frame = self.video[key] if self.mode.uses_video else None
        start = self.mode.start_key(
            KeyInputs(key, values.strength, self.init_image, self.settings.init_strength,
                      previous, previous_key, self.camera, video_frame)
        )  # fmt: skip
        picture = start.picture
        kept = None if self.mask is None else self.mask.kept(key)
        noise_area = None if kept is None else self.mask.noise_area(kept)
        context = FrameContext(key, seed, reference, video_frame=video_frame, mask=noise_area)
        if self.diffuser is None:
            if picture is None:
                raise ScheduleError(
                    "a motion preview (no diffuser) needs an init image",
                    parameter="init_image",
                    hint="connect an init image, or a diffuser to generate the first frame",
                )
            for stage in self.prepare if start.prepared else ():
                picture = stage.preview(picture, context)  # as a diffuser would leave it
            return quantize(picture)
        if start.prepared:
            for stage in self.prepare:
                picture = stage.apply(picture, context)
        # each pass's ControlNet hints; a loopback hint is the picture the pass starts from
        controls = partial(frame_controls, self.controlnet, key)
        request = DiffusionRequest(
            text=self.mode.frame_text(self.prompts, key),
            strength=start.strength,
            steps=values.steps,
            cfg=values.cfg,
            seed=seed,
            width=self.settings.width,
            height=self.settings.height,
            image=picture,
            check_cancel=self.callbacks.check_cancel,
            noise_multiplier=values.noise_multiplier,
            subseed=noise.subseed,
            subseed_strength=noise.subseed_strength,
            clip_skip=values.clipskip,
            keep_mask=None if picture is None else kept,
            on_step=self._step_progress(key),
            control=controls(picture),
        )
        if self.flow is not None and start.prepared and start.strength > 0:
            redo = diffuse_from(self.diffusers[key], request, key, controls)
            redone = self.flow.redo(picture, start.picture, key, seed, redo)
            request = replace(request, image=redone, control=controls(redone))
        image = diffuse_key(self.diffusers[key], request, key)
        if self.hybrid is not None:
            image = self.hybrid.after_generation(image, key)
        if self.color is not None:
            image = self.color.after_diffusion(image, context)
        if kept is not None and start.picture is not None:  # as it was before noise
            image = self.mask.overlay(start.picture, image, kept)
        return quantize(image)
