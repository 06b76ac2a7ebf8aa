"""The Deforum loop controller and video assembly nodes."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import ClassVar

import torch

from deforum_core.controlnet import ControlUnit
from deforum_core.depth import DepthEstimator
from deforum_core.errors import DeforumError
from deforum_core.render import (
    AnimationSettings,
    RenderCallbacks,
    RunDirectory,
    Stages,
    render_animation,
)
from deforum_core.render.run_folders import check_plain_name, latest_run_folder, reserve_run_folder
from deforum_core.settings_file.report import write_report
from deforum_core.video_encoding import VIDEO_FORMATS, StreamedVideo, encode_video

from .comfy_bridge import check_interrupt, output_directory, resolve_input_file
from .controlnet_nodes import file_units
from .depth_nodes import on_compute_device
from .progress import JobProgress
from .video_stream import HIDDEN_INPUTS, VIDEO_NAME_HINT, video_settings, videos_to_stream
from .widgets import schedule_validator, widgets

CATEGORY = "Deforum"
RUNS_FOLDER = "deforum"


@dataclass(frozen=True)
class DeforumRun:
    """What flows from the loop to video assembly: the run's folder and frame rate, for
    a settings file's run what the file asks of its video (make_gif, add_soundtrack), and
    the videos encoded beside the render (video_stream.py)."""

    path: Path
    fps: float
    frames: int
    make_gif: bool = False
    soundtrack: Path | None = None
    videos: tuple[StreamedVideo, ...] = ()


RUN_NAME_HINT = "the run is saved as output/deforum/<run_name>_NNNN"


def _run_folder(run_name: str, resume: bool) -> Path:
    """output/deforum/<run_name>_NNNN: a new folder with the next free number, reserved for
    this render alone, or the latest one to resume."""
    check_plain_name(run_name, parameter="run_name", what=RUN_NAME_HINT)
    root = output_directory() / RUNS_FOLDER
    if not resume:
        return reserve_run_folder(root, run_name)
    latest = latest_run_folder(root, run_name)
    if latest is None:
        raise DeforumError(
            f"no earlier run named {run_name!r} to resume in {root}",
            parameter="resume",
            hint="turn resume off to start it",
        )
    return latest


class DeforumAnimate:
    """The Deforum loop: renders every frame into a run folder, with progress and previews."""

    DESCRIPTION = (
        "Renders a Deforum animation frame by frame in Deforum's order (warp, colour coherence, "
        "contrast, anti-blur, noise, diffuse, cadence), streaming PNG frames into "
        "output/deforum/<run_name>_NNNN. Without a diffuser it renders a motion preview of the "
        "init image."
    )
    CATEGORY = CATEGORY
    SEARCH_ALIASES: ClassVar[list[str]] = [
        "animation",
        "cadence",
        "loop",
        "deforum",
        "render",
        "frames",
        "keyframe",
    ]
    FUNCTION = "animate"
    OUTPUT_NODE = True
    RETURN_TYPES = ("DEFORUM_RUN", "IMAGE", "IMAGE")
    RETURN_NAMES = ("run", "frames", "last_frame")
    OUTPUT_TOOLTIPS = (
        "The run folder, for Deforum Video.",
        "All frames as one IMAGE batch when output_frames is on (uses memory), else the last.",
        "The last frame.",
    )

    # the appended widgets released before the settings socket; later ones follow it
    APPENDED_BEFORE_SETTINGS = (
        "noise_multiplier_schedule", "subseed_schedule", "subseed_strength_schedule",
        "clipskip_schedule",
    )  # fmt: skip

    @classmethod
    def INPUT_TYPES(cls):
        appended = widgets(AnimationSettings, appended=True)
        before_settings = {name: appended.pop(name) for name in cls.APPENDED_BEFORE_SETTINGS}
        return {
            "required": {
                "prompts": ("DEFORUM_PROMPTS", {"tooltip": "From Deforum Prompts."}),
                **widgets(AnimationSettings),
                "run_name": (
                    "STRING",
                    {"default": "deforum", "tooltip": "Folder name under output/deforum."},
                ),
                "resume": (
                    "BOOLEAN",
                    {"default": False, "tooltip": "Continue the latest run of this name."},
                ),
                "output_frames": (
                    "BOOLEAN",
                    {"default": False, "tooltip": "Also output every frame as an IMAGE batch."},
                ),
            },
            "optional": {
                "diffuser": ("DEFORUM_DIFFUSER", {"tooltip": "Leave empty for a motion preview."}),
                "motion": (
                    "DEFORUM_MOTION",
                    {"tooltip": "From Deforum Motion 2D (mode 2D) or Motion 3D (mode 3D)."},
                ),
                "color_coherence": ("DEFORUM_COLOR", {"tooltip": "From Deforum Color Coherence."}),
                "enhance": ("DEFORUM_ENHANCE", {"tooltip": "From Deforum Contrast & Anti-Blur."}),
                "noise": ("DEFORUM_NOISE", {"tooltip": "From Deforum Noise."}),
                "init_image": ("IMAGE", {"tooltip": "Starting picture for frame 0."}),
                "depth_model": (
                    "DEFORUM_DEPTH_MODEL",
                    {"tooltip": "Depth of each diffused frame, for animation_mode 3D."},
                ),
                **before_settings,
                "settings": (
                    "DEFORUM_SETTINGS",
                    {
                        "tooltip": "From Deforum Load Settings: the file's frame count, size, "
                        "seeds and schedules replace this node's, and its stages, init image "
                        "and depth fill the inputs left empty."
                    },
                ),
                **appended,
                "video": (
                    "DEFORUM_VIDEO",
                    {
                        "tooltip": "From Deforum Video Input: the frames of animation_mode Video "
                        "Input (the frame count follows it), and of colour coherence Video Input."
                    },
                ),
                "mask": (
                    "DEFORUM_MASK",
                    {"tooltip": "From Deforum Mask: areas each diffused frame keeps as it was."},
                ),
                "interpolation": (
                    "DEFORUM_INTERPOLATION",
                    {
                        "tooltip": "From Deforum Interpolation: how animation_mode "
                        "Interpolation places the prompts and morphs between them (its "
                        "defaults when empty)."
                    },
                ),
                "hybrid": (
                    "DEFORUM_HYBRID",
                    {
                        "tooltip": "From Deforum Hybrid Video (modes 2D and 3D): a video "
                        "composited into each frame and moving it; the frame count follows it."
                    },
                ),
                "optical_flow": (
                    "DEFORUM_OPTICAL_FLOW",
                    {
                        "tooltip": "From Deforum Optical Flow: in-between frames moved along "
                        "the flow between diffused frames, and redo passes."
                    },
                ),
                "controlnet": (
                    "DEFORUM_CONTROLNET",
                    {
                        "tooltip": "From Deforum ControlNet: ControlNet units applied to every "
                        "diffused frame (over a settings file's own)."
                    },
                ),
            },
            "hidden": dict(HIDDEN_INPUTS),  # to see a Deforum Video that follows
        }

    VALIDATE_INPUTS = schedule_validator(AnimationSettings, with_frame_count=True)

    @classmethod
    def IS_CHANGED(cls, run_name="", resume=False, base_seed=0, **_inputs):
        """Seed -1 draws a new seed, so every queue is a new render; a resumed run is done
        again when its folder changed on disk (a frame deleted or damaged)."""
        if base_seed == -1:
            return float("nan")  # never equal to itself: ComfyUI runs the node again
        if not resume:
            return ""
        root = output_directory() / RUNS_FOLDER
        latest = latest_run_folder(root, run_name) if isinstance(run_name, str) else None
        return RunDirectory(latest).listing() if latest else ""

    def animate(self, prompts, run_name, resume, output_frames, diffuser=None, motion=None,
                color_coherence=None, enhance=None, noise=None, init_image=None,
                depth_model=None, settings=None, video=None, mask=None, interpolation=None,
                hybrid=None, optical_flow=None, controlnet=None, prompt=None, unique_id=None,
                **widget_values):  # fmt: skip
        linked = {"prompts": prompts, "motion": motion, "color_coherence": color_coherence,
                  "enhance": enhance, "noise": noise, "video": video, "mask": mask,
                  "interpolation": interpolation, "hybrid": hybrid,
                  "optical_flow": optical_flow}  # fmt: skip
        report, video_options = None, {}
        if settings is None:
            animation = AnimationSettings(**widget_values)
            stages = Stages(**linked, depth_model=depth_model)
        else:
            loaded, preview, notes = settings.loaded, diffuser is None, []
            animation = loaded.animation
            depth_model = loaded.depth_model(depth_model, preview=preview, notes=notes)
            stages = loaded.stages(depth_model, notes, **linked)
            if controlnet is None:  # the file's cn_1..cn_5, with ComfyUI's ControlNet models
                controlnet = file_units(loaded, preview=preview, notes=notes,
                                        depth_model=depth_model)  # fmt: skip
            if init_image is None:
                init_image = loaded.init_image(preview=preview)
            diffuser = settings.diffuser(diffuser)
            report = [*notes, *loaded.imported.report]
            video_options = {"make_gif": loaded.imported.output.make_gif,
                             "soundtrack": loaded.soundtrack}  # fmt: skip
        stages = replace(stages, controlnet=tuple(controlnet or ()))
        folder = _run_folder(run_name, resume)
        if report is not None:  # as `deforum-comfy run` does: the report beside the frames
            write_report(folder, report)
        # the mode's frame count: max_frames, or a video's or the prompts' own
        total = animation.mode.frame_count(animation.max_frames, stages, animation.fps)
        progress = JobProgress(total)
        callbacks = RenderCallbacks(progress.on_frame, check_interrupt, progress.on_step)
        videos = videos_to_stream(prompt, unique_id, folder, animation.fps, **video_options)
        with _depth_models_on_device(depth_model, stages.controlnet, animation):
            result = render_animation(
                animation, stages, diffuser, folder,
                init_image=init_image, resume=resume, callbacks=callbacks, videos=videos,
            )  # fmt: skip
        run = DeforumRun(result.run_dir, animation.fps, total, **video_options,
                         videos=result.videos)  # fmt: skip
        directory = RunDirectory(result.run_dir)
        frames = (
            torch.cat([directory.read_frame(i) for i in range(total)])
            if output_frames
            else result.last_frame
        )
        subfolder = result.run_dir.relative_to(output_directory()).as_posix()
        last_name = directory.frame_path(total - 1).name
        ui = {
            "images": [{"filename": last_name, "subfolder": subfolder, "type": "output"}],
            "run_dir": [subfolder],
            "seed": [result.settings.base_seed],
        }
        return {"ui": ui, "result": (run, frames, result.last_frame)}


def _encoded(reporter, done: int, total: int) -> None:
    """Progress of the encoding, and a cancel between its frames (nothing is left behind)."""
    check_interrupt()
    reporter(done - 1, total, None)


@contextlib.contextmanager
def _depth_models_on_device(
    depth_model, units: tuple[ControlUnit, ...], animation: AnimationSettings
) -> Iterator[None]:
    """Keep every depth model the render estimates with on the compute device for the render
    (ComfyUI makes room): Animate's where the mode moves by depth, and each depth ControlNet
    unit's. Each model is moved once; flat depth has no weights to move."""
    used = [depth_model] if animation.mode.uses_depth_model else []
    used += [unit.depth_model for unit in units if unit.estimates_depth]
    with contextlib.ExitStack() as on_device:
        for model in {id(model): model for model in used}.values():
            if isinstance(model, DepthEstimator):
                on_device.enter_context(on_compute_device(model, animation.height, animation.width))
        yield


class DeforumVideo:
    """Encode a run's frames into MP4 (H.264), WebM (VP9) or GIF."""

    DESCRIPTION = (
        "Encodes the frames of a Deforum run into a video next to them, streaming frame by "
        "frame, with an optional sound track from ComfyUI's input folder."
    )
    CATEGORY = CATEGORY
    SEARCH_ALIASES: ClassVar[list[str]] = [
        "mp4",
        "video",
        "ffmpeg",
        "gif",
        "webm",
        "encode",
        "animation",
    ]
    FUNCTION = "assemble"
    OUTPUT_NODE = True
    RETURN_TYPES = ("STRING",)
    RETURN_NAMES = ("video_path",)
    OUTPUT_TOOLTIPS = ("Path of the video file.",)

    @classmethod
    def INPUT_TYPES(cls):
        return {
            "required": {
                "run": ("DEFORUM_RUN", {"tooltip": "From Deforum Animate."}),
                "video_format": (
                    list(VIDEO_FORMATS),
                    {"default": "mp4", "tooltip": "mp4: H.264 yuv420p; webm: VP9; gif."},
                ),
                "fps": (
                    "FLOAT",
                    {
                        "default": 0.0,
                        "min": 0.0,
                        "max": 1000.0,
                        "step": 0.01,
                        "tooltip": "Frames per second; 0 uses the run's fps.",
                    },
                ),
                "quality": (
                    "INT",
                    {"default": 80, "min": 0, "max": 100, "tooltip": "Higher is better/larger."},
                ),
                "filename": (
                    "STRING",
                    {"default": "deforum", "tooltip": "Video name inside the run folder."},
                ),
            },
            "optional": {
                "audio_file": (
                    "STRING",
                    {"default": "", "tooltip": "A sound file in ComfyUI's input folder, or empty."},
                ),
            },
        }

    @classmethod
    def IS_CHANGED(cls, run=None, **_inputs):
        """Encoded again when the run's frames or videos changed on disk."""
        return RunDirectory(run.path).listing() if isinstance(run, DeforumRun) else ""

    def assemble(self, run, video_format, fps, quality, filename, audio_file=""):
        """The video, and for a settings file with make_gif a GIF beside it; the file's
        soundtrack plays unless audio_file names another (a GIF has none). A video Animate
        encoded beside the render with these settings, of these frames, is taken as it is."""
        check_plain_name(filename, parameter="filename", what=VIDEO_NAME_HINT)
        audio = resolve_input_file(audio_file, parameter="audio_file") if audio_file else None
        paths = RunDirectory(run.path).frame_sequence(run.frames)
        videos = video_settings(run.path, run.fps, make_gif=run.make_gif,
                                soundtrack=run.soundtrack, video_format=video_format, fps=fps,
                                quality=quality, filename=filename, audio=audio)  # fmt: skip
        total = len(paths) * len(videos)
        reporter = JobProgress(total, label="encoding").on_frame
        subfolder = run.path.relative_to(output_directory()).as_posix()
        entries = []
        for index, video in enumerate(videos):
            before = index * len(paths)  # encoded synchronously: read before the next format
            if any(streamed.matches(video, paths) for streamed in run.videos):
                _encoded(reporter, before + len(paths), total)  # finished with the render
            else:
                encode_video(
                    paths, video.output, fps=video.fps, video_format=video.video_format,
                    quality=video.quality, audio=video.audio,
                    on_frame=lambda done, _total: _encoded(reporter, before + done, total),  # noqa: B023
                )  # fmt: skip
            entries.append({"filename": video.output.name, "subfolder": subfolder,
                            "type": "output", "format": video.video_format})  # fmt: skip
        first = run.path / entries[0]["filename"]
        return {"ui": {"deforum_video": entries}, "result": (str(first),)}
