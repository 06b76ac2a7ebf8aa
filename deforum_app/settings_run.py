"""Render a Deforum settings file as Deforum's own run would (`deforum-comfy run FILE`).

The file is imported (deforum_core.settings_file), the files it names are found in the
input folder or next to it, and the animation renders with the diffusers backend from
`--model`, or as a motion preview of the init image (or a test pattern) with `--preview` or
the file's own motion_preview_mode. A 3D preview without depth weights moves through flat
depth, and says so. The file's enabled ControlNet units (cn_1..cn_5) render with the diffusers
ControlNet folders of `--controlnet` (models/controlnet) named like their models. The frames,
settings.json, the import report and the video go into a new run folder under
`<out>/deforum/`; the videos are encoded as the frames are written, so they are finished with
the last frame (encoded from the frames afterwards if that failed).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path

from deforum_core.controlnet import ControlUnit
from deforum_core.depth import DepthEstimator
from deforum_core.render import RenderCallbacks, RunDirectory, render_animation
from deforum_core.render.run_folders import reserve_run_folder
from deforum_core.settings_file import (
    ImportedSettings,
    SettingsFileError,
    read_settings_file,
)
from deforum_core.settings_file.loaded import LoadedSettings
from deforum_core.settings_file.report import DEFAULTED, IGNORED, ReportLine, write_report
from deforum_core.video_encoding import VideoError, VideoSettings, encode_video, open_audio

RUNS_FOLDER = "deforum"
CONTROLNET_FOLDER = Path("models") / "controlnet"  # as the headless twins' model paths
INPUT_WHERE = "the input folder or the settings file's folder"

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
    controlnet: Path = CONTROLNET_FOLDER  # diffusers ControlNet folders, for cn_1..cn_5


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
    loaded = LoadedSettings.load(imported, _input_folders(request), INPUT_WHERE,
                                 max_frames=request.max_frames, size=request.size)  # fmt: skip
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
    units = _controlnet_units(loaded, request, depth_model, preview=preview, notes=extra)
    stages = replace(stages, controlnet=units)
    report = (*imported.report, *extra)
    for line in (*extra, *_worth_saying(imported.report)):
        log(f"  {line}")
    _check_soundtrack(loaded)
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


def _input_folders(request: RunRequest) -> list[Path]:
    """Where the files a settings file names are looked up, in this order."""
    return [request.input, request.settings.parent]


def _controlnet_units(
    loaded: LoadedSettings,
    request: RunRequest,
    depth_model: object,
    *,
    preview: bool,
    notes: list[ReportLine],
) -> tuple[ControlUnit, ...]:
    """The file's enabled ControlNet units, each with the diffusers ControlNet folder of
    request.controlnet named like its model; none for a motion preview, which diffuses
    nothing. A unit whose model is missing, or is a single file (which diffusers cannot
    load offline without a config folder the settings file does not name), is left out with
    a line in `notes`, as Deforum Animate leaves out one missing from models/controlnet."""
    choices = loaded.imported.controlnet
    if preview or not choices:
        return ()
    root = request.controlnet
    folders, single_files = _controlnet_models(root)
    units = []
    for choice in choices:
        single = choice.model_file(single_files)
        if choice.model_file(folders) is None and single is not None:
            notes.append(ReportLine(choice.unit, IGNORED, f"{single} in {root} is a single "
                                    "file: the command line loads diffusers ControlNet "
                                    "folders (config.json and weights): the unit is left "
                                    "out"))  # fmt: skip
            continue
        load = partial(_load_controlnet, root, key=f"{choice.unit}_model")
        unit = choice.build(folders, load, depth_model=depth_model,
                            folders=_input_folders(request), where=INPUT_WHERE,
                            notes=notes)  # fmt: skip
        if unit is not None:
            units.append(unit)
    return tuple(units)


def _load_controlnet(root: Path, name: str, *, key: str) -> object:
    """The diffusers ControlNet folder root/name; a failure names the settings key."""
    from deforum_core.controlnet.diffusers_control import load_controlnet
    from deforum_core.diffusion import DiffusionError

    try:
        return load_controlnet(root / name)
    except DiffusionError as error:
        raise SettingsFileError(error.reason, parameter=key, hint=error.hint) from None


def _controlnet_models(root: Path) -> tuple[list[str], list[str]]:
    """The diffusers ControlNet folders (with a config.json) and the single weight files
    under root, as names relative to it; none when root is not a folder."""
    from deforum_core.diffusion.pipeline_files import CHECKPOINT_SUFFIXES

    if not root.is_dir():
        return [], []
    folders = sorted(p.parent for p in root.rglob("config.json") if p.parent != root)
    files = (p for p in root.rglob("*") if p.suffix.lower() in CHECKPOINT_SUFFIXES
             and p.is_file() and not any(f in p.parents for f in folders))  # fmt: skip
    return ([f.relative_to(root).as_posix() for f in folders],
            sorted(p.relative_to(root).as_posix() for p in files))  # fmt: skip


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


def _check_soundtrack(loaded: LoadedSettings) -> None:
    """A soundtrack the video cannot take (no sound in it, not a sound file) is refused
    before any frame is rendered, naming the settings key that chose it."""
    track = loaded.imported.output.soundtrack
    if track is None or loaded.soundtrack is None or not loaded.imported.output.make_video:
        return
    try:
        open_audio(loaded.soundtrack).close()
    except VideoError as error:
        raise VideoError(
            error.reason,
            parameter=track.key,
            hint="set add_soundtrack to None, or give a file with sound",
        ) from None


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
