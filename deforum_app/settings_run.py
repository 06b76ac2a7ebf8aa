"""Render a Deforum settings file as Deforum's own run would (`deforum-comfy run FILE`).

The file is imported (deforum_core.settings_file), the files it names are found in the
input folder or next to it, and the animation renders with the diffusers backend from
`--model`, or as a motion preview of the init image (or a test pattern) with `--preview` or
the file's own motion_preview_mode. A 3D preview without depth weights moves through flat
depth, and says so. The frames, settings.json, the import report and the video go into a new
run folder under `<out>/deforum/`; the videos are encoded as the frames are written, so they
are finished with the last frame (encoded from the frames afterwards if that failed).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from deforum_core.depth import DepthEstimator
from deforum_core.render import RenderCallbacks, RunDirectory, render_animation
from deforum_core.render.run_folders import reserve_run_folder
from deforum_core.settings_file import (
    ImportedSettings,
    SettingsFileError,
    read_settings_file,
)
from deforum_core.settings_file.loaded import LoadedSettings
from deforum_core.settings_file.report import DEFAULTED, ReportLine, write_report
from deforum_core.video_encoding import VideoSettings, encode_video

RUNS_FOLDER = "deforum"

# progress(done, total, label): "frames" while the render runs, "encoding" per video
Progress = Callable[[int, int, str], None]


@dataclass(frozen=True)
class RunRequest:
    """What `deforum-comfy run` was asked for."""

    settings: Path
    out: Path
    input: Path
    preview: bool = False
    model: Path | None = None
    depth: Path | None = None
    max_frames: int | None = None
    size: tuple[int, int] | None = None


@dataclass(frozen=True)
class RunOutcome:
    run_dir: Path
    frames: int
    videos: tuple[Path, ...]
    report: tuple[ReportLine, ...]


def _no_progress(done: int, total: int, label: str) -> None:
    pass


def run_settings_file(
    request: RunRequest, *, log=print, progress: Progress = _no_progress
) -> RunOutcome:
    """Import, check and render the settings file; log(line) tells what is going on and
    progress(done, total, label) how far the render and the encoding are."""
    imported = read_settings_file(request.settings)
    folders = [request.input, request.settings.parent]
    where = "the input folder or the settings file's folder"
    loaded = LoadedSettings.load(imported, folders, where, max_frames=request.max_frames,
                                 size=request.size)  # fmt: skip
    imported = loaded.imported
    preview = request.preview or imported.motion_preview
    extra: list[ReportLine] = []
    if preview and not request.preview:
        extra.append(ReportLine("motion_preview_mode", DEFAULTED, "on: a motion preview"))
    given_depth = None
    if request.depth is not None and imported.depth and imported.depth.model_type:
        given_depth = DepthEstimator.from_file(imported.depth.model_type, request.depth)
    depth_model = loaded.depth_model(given_depth, preview=preview, notes=extra)
    diffuser = None if preview else _diffuser(imported, request)
    stages = loaded.stages(depth_model, extra)
    report = (*imported.report, *extra)
    for line in (*extra, *_worth_saying(imported.report)):
        log(f"  {line}")
    run_dir = reserve_run_folder(request.out / RUNS_FOLDER, imported.output.run_name)
    write_report(run_dir, report)
    callbacks = RenderCallbacks(lambda index, total, _frame: progress(index + 1, total, "frames"))
    videos = _videos_asked(loaded, run_dir)
    result = render_animation(imported.animation, stages, diffuser, run_dir,
                              init_image=loaded.init_image(preview=preview),
                              callbacks=callbacks, videos=videos)  # fmt: skip
    streamed = {video.settings for video in result.videos}
    frames = RunDirectory(run_dir).frame_sequence(imported.animation.max_frames)
    for video in videos:
        if video in streamed:  # finished with the last frame
            progress(len(frames), len(frames), "encoding")
            continue
        encode_video(frames, video.output, fps=video.fps, video_format=video.video_format,
                     audio=video.audio,
                     on_frame=lambda done, total: progress(done, total, "encoding"))  # fmt: skip
    outputs = tuple(video.output for video in videos)
    return RunOutcome(result.run_dir, result.frames_written, outputs, report)


def _worth_saying(report: tuple[ReportLine, ...]) -> list[ReportLine]:
    """The lines where the render differs from what the file literally says."""
    return [line for line in report if line.status == "not supported yet"]


def _diffuser(imported: ImportedSettings, request: RunRequest):
    if request.model is None:
        raise SettingsFileError(
            "a render needs a Stable Diffusion checkpoint",
            parameter="model",
            hint="give --model PATH (a .safetensors file or a diffusers folder), or --preview "
            "for a motion preview without weights",
        )
    from deforum_core.diffusion import load_diffusers_backend

    return load_diffusers_backend(request.model, sampler=imported.sampler.diffusers)


def _videos_asked(loaded: LoadedSettings, run_dir: Path) -> list[VideoSettings]:
    """The videos the settings file asks for: an MP4 with its soundtrack, a GIF."""
    output = loaded.imported.output
    videos = []
    if output.make_video:
        videos.append(VideoSettings(run_dir / "deforum.mp4", output.fps,
                                    audio=loaded.soundtrack))  # fmt: skip
    if output.make_gif:
        videos.append(VideoSettings(run_dir / "deforum.gif", output.fps, "gif"))
    return videos


def describe_import(imported: ImportedSettings) -> str:
    """One line: the dialect, mode, size and length, for the top of a printed report."""
    from deforum_core.settings_file.reading import DIALECT_NAMES

    head = f"{imported.source}: {DIALECT_NAMES[imported.dialect]} settings"
    if imported.animation is None:
        return f"{head}; cannot render: {imported.blocker}"
    animation = imported.animation
    return (f"{head}, animation_mode {animation.animation_mode}, "
            f"{animation.width}x{animation.height}, {animation.max_frames} frames")  # fmt: skip
