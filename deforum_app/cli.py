"""Command line: `deforum-comfy render`, `run`, `settings`, `export`, `schedule`, `audio`,
`prompts`.

`render` runs a workflow of this pack's nodes without ComfyUI; `run` renders a Deforum
settings file as Deforum would, `settings` prints how the pack imports one and `export`
writes a run's settings as one; `schedule`
and `prompts` evaluate keyframe strings exactly as the nodes do, so they can be checked and
scripted; `audio` prints the schedule Deforum Audio Schedule makes of a sound file.
Every bad input is answered with `error: <what is wrong and how to fix it>` and exit
status 2, never a traceback.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from deforum_core.audio import FEATURES, AudioScheduleSettings, audio_schedule
from deforum_core.curves import INTERPOLATIONS
from deforum_core.errors import DeforumError
from deforum_core.files import atomic_write
from deforum_core.keyframes import parse_schedule
from deforum_core.params import param_of
from deforum_core.plot import plot_png
from deforum_core.prompts import parse_prompt_schedule

BAD_INPUT = 2
INTERNAL_ERROR = 1
DEBUG_VARIABLE = "DEFORUM_DEBUG"


class CommandLineError(DeforumError):
    """An argument the command line cannot use."""


def _text(value: str, what: str) -> str:
    """A literal, or @path to read the text from a file."""
    if not value.startswith("@"):
        return value
    path = Path(value[1:])
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        reason = getattr(error, "strerror", None) or str(error)
        raise CommandLineError(
            f"cannot read {what} from {path}: {reason}",
            hint="give the text itself, or @ followed by the path of a UTF-8 text file",
        ) from None


# The audio verb's options: flag, the node's widget, type.
AUDIO_OPTIONS = (("fps", "fps", float), ("frames", "max_frames", int),
                 ("start", "start_seconds", float), ("attack", "attack", float),
                 ("decay", "decay", float), ("low", "low", float), ("high", "high", float),
                 ("curve", "curve", float))  # fmt: skip


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="deforum-comfy", description="Deforum for ComfyUI, from the command line."
    )
    commands = parser.add_subparsers(dest="command", required=True)

    render = commands.add_parser("render", help="render an API-format workflow of Deforum nodes")
    render.add_argument("workflow", type=Path, help="e.g. workflows/headless/deforum_2d.json")
    render.add_argument("--out", type=Path, default=Path("output"), help="output folder")
    render.add_argument(
        "--preview",
        action="store_true",
        help="motion preview: no diffusion, the camera moves an init image (no weights needed)",
    )
    render.add_argument("--init", type=Path, help="init image for --preview (default: a pattern)")
    render.add_argument("--input", type=Path, default=Path("."), help="folder of input files")

    run = commands.add_parser("run", help="render a Deforum settings file as Deforum would")
    run.add_argument("settings", type=Path, help="a Deforum settings file (deforum_settings.txt)")
    run.add_argument("--preview", action="store_true",
                     help="motion preview: no diffusion, the camera moves the init image (or a "
                     "test pattern); no weights needed")  # fmt: skip
    run.add_argument("--model", type=Path, help="SD checkpoint file or diffusers folder")
    run.add_argument(
        "--depth", type=Path, help="depth weights for 3D (MiDaS v3 or Depth Anything V2)"
    )
    run.add_argument("--max-frames", type=_positive, help="render only the first N frames")
    run.add_argument("--size", type=_size, help="override the frame size, WxH (multiples of 8)")
    run.add_argument("--input", type=Path, default=Path("."),
                     help="folder of the files the settings name (else: next to it)")  # fmt: skip
    run.add_argument("--out", type=Path, default=Path("output"), help="output folder")
    run.add_argument("--controlnet", type=Path, default=Path("models/controlnet"),
                     help="folder of diffusers ControlNet folders for the file's cn_1..cn_5 "
                     "units, named like their models (default models/controlnet)")  # fmt: skip

    settings = commands.add_parser("settings", help="print how a Deforum settings file imports")
    settings.add_argument("settings", type=Path, help="a Deforum settings file")

    export = commands.add_parser("export", help="write a run's settings as a Deforum settings file")
    export.add_argument("run_folder", type=Path, help="a run folder (with its settings.json)")
    export.add_argument("--out", type=Path, help="the file (default: deforum_settings.txt in it)")
    export.add_argument("--init", default="", help="file name of the run's init image, if any")
    export.add_argument("--color-image", default="", help="file name of its colour image, if any")

    schedule = commands.add_parser("schedule", help="evaluate a keyframe schedule per frame")
    schedule.add_argument("text", help="keyframes, or @file")
    schedule.add_argument("--frames", type=int, default=120, help="max_frames (default 120)")
    schedule.add_argument("--interpolation", choices=INTERPOLATIONS, default="linear")
    schedule.add_argument("--seed", type=int, default=0, help="value of s")
    schedule.add_argument("--fps", type=float, default=15.0, help="value of fps")
    schedule.add_argument("--name", default="value", help="parameter name for messages")
    schedule.add_argument("--plot", type=Path, help="also write a PNG plot of the curve here")

    audio = commands.add_parser("audio", help="turn a sound file into a keyframe schedule")
    audio.add_argument("sound", type=Path, help="a sound file (wav, mp3, flac, ogg, m4a, ...)")
    for flag, field, kind in AUDIO_OPTIONS:  # defaults: the node's (deforum_core/audio)
        default = param_of(AudioScheduleSettings, field).default
        audio.add_argument(f"--{flag}", type=kind, help=f"{field} (default {default:g})")
    feature = param_of(AudioScheduleSettings, "feature").default
    audio.add_argument("--feature", choices=FEATURES, help=f"default {feature}")
    audio.add_argument("--plot", type=Path, help="also write a PNG plot of the curve here")

    prompts = commands.add_parser("prompts", help="resolve a prompt schedule per frame")
    prompts.add_argument("text", help="JSON or `frame: prompt` lines, or @file")
    prompts.add_argument("--frames", type=int, default=120, help="max_frames (default 120)")
    prompts.add_argument("--positive", default="", help="text before every prompt")
    prompts.add_argument("--negative", default="", help="text added to every negative prompt")
    prompts.add_argument("--seed", type=int, default=0, help="value of s")
    prompts.add_argument("--fps", type=float, default=15.0, help="value of fps")
    return parser


def _run_render(arguments: argparse.Namespace) -> None:
    import deforum_comfy
    from deforum_comfy.nodes.comfy_bridge import HEADLESS

    from deforum_core.pattern import test_pattern
    from deforum_core.render.rundir import read_image

    from . import workflow_runner as runner

    workflow = runner.read_workflow(arguments.workflow)
    HEADLESS.output, HEADLESS.input = arguments.out.resolve(), arguments.input.resolve()
    preset = None
    if arguments.preview:
        workflow = runner.motion_preview(workflow)
        init = read_image(arguments.init) if arguments.init else test_pattern()
        preset = {runner.INIT_NODE: (init,)}
    elif arguments.init:
        raise CommandLineError("--init is the picture of a motion preview", hint="add --preview")
    try:
        reports = runner.run_workflow(workflow, deforum_comfy.NODE_CLASS_MAPPINGS, preset=preset)
    finally:  # a render that stopped early leaves its bar open: end its line before the error
        HEADLESS.finish()
    for report in reports.values():
        for run_dir in report.get("run_dir", []):
            print(f"frames: {HEADLESS.output / run_dir}")
        for video in report.get("deforum_video", []):
            print(f"video: {HEADLESS.output / video['subfolder'] / video['filename']}")


def _positive(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of at least 1")
    return int(text)


def _size(text: str) -> tuple[int, int]:
    width, _, height = text.lower().partition("x")
    if not (width.isdigit() and height.isdigit()):
        raise argparse.ArgumentTypeError(f"{text!r} is not WxH, such as 64x64")
    return int(width), int(height)


def _run_settings_file(arguments: argparse.Namespace) -> None:
    from deforum_comfy.nodes.comfy_bridge import HEADLESS

    from .settings_run import RunRequest, run_settings_file

    request = RunRequest(
        arguments.settings, arguments.out, arguments.input, preview=arguments.preview,
        model=arguments.model, depth=arguments.depth, max_frames=arguments.max_frames,
        size=arguments.size, controlnet=arguments.controlnet,
    )  # fmt: skip
    try:  # the same labelled bars as `render`
        outcome = run_settings_file(request, log=lambda line: print(line, file=sys.stderr),
                                    progress=HEADLESS.report)  # fmt: skip
    finally:
        HEADLESS.finish()
    print(f"frames: {outcome.run_dir} ({outcome.frames} written)")
    for video in outcome.videos:
        print(f"video: {video}")


def _print_settings(arguments: argparse.Namespace) -> None:
    from deforum_core.settings_file import format_report, read_settings_file

    from .settings_run import describe_import

    imported = read_settings_file(arguments.settings)
    print(describe_import(imported))
    print(format_report(imported.report))


def _export_settings(arguments: argparse.Namespace) -> None:
    from deforum_core.settings_file.export import export_run

    path = arguments.out or arguments.run_folder / "deforum_settings.txt"
    notes = export_run(arguments.run_folder, path, init_image=arguments.init,
                       color_image=arguments.color_image)  # fmt: skip
    for note in notes:
        print(f"note: {note}", file=sys.stderr)
    print(f"settings: {path}")


def _run_schedule(arguments: argparse.Namespace) -> None:
    parsed = parse_schedule(
        _text(arguments.text, "the schedule"),
        name=arguments.name,
        interpolation=arguments.interpolation,
    )
    values = parsed.evaluate(arguments.frames, seed=arguments.seed, fps=arguments.fps)
    for frame, value in enumerate(values):
        print(f"{frame}\t{value!r}")
    if arguments.plot is not None:
        key_frames = parsed.key_frames(arguments.frames, arguments.fps)
        _write_plot(arguments.plot, values, key_frames, arguments.name)


def _run_audio(arguments: argparse.Namespace) -> None:
    given = {field: getattr(arguments, flag) for flag, field, _ in AUDIO_OPTIONS}
    given["feature"] = arguments.feature
    settings = AudioScheduleSettings(**{k: v for k, v in given.items() if v is not None})
    made = audio_schedule(arguments.sound, settings)
    print(made.text)
    print(f"{made.frames} frames at {settings.fps:g} fps", file=sys.stderr)
    if arguments.plot is not None:
        title = f"{settings.feature} of {arguments.sound.name}"
        _write_plot(arguments.plot, made.values, [], title)


def _write_plot(path: Path, values: list[float], key_frames: list[int], title: str) -> None:
    atomic_write(path, plot_png(values, key_frames, title=title))
    print(f"plot written to {path}", file=sys.stderr)


def _run_prompts(arguments: argparse.Namespace) -> None:
    parsed = parse_prompt_schedule(
        _text(arguments.text, "the prompts"),
        positive=arguments.positive,
        negative=arguments.negative,
    )
    for frame in parsed.evaluate(arguments.frames, seed=arguments.seed, fps=arguments.fps):
        print(json.dumps(frame.__dict__, ensure_ascii=False))


COMMANDS = {
    "render": _run_render,
    "run": _run_settings_file,
    "settings": _print_settings,
    "export": _export_settings,
    "schedule": _run_schedule,
    "audio": _run_audio,
    "prompts": _run_prompts,
}


def main(argv: list[str] | None = None) -> int:
    arguments = _build_parser().parse_args(argv)
    try:
        COMMANDS[arguments.command](arguments)
    except (DeforumError, OSError) as error:  # every bad-input error of the pack and the files
        print(f"error: {error}", file=sys.stderr)
        return BAD_INPUT
    except Exception as error:
        if os.environ.get(DEBUG_VARIABLE):
            raise
        print(
            f"error: internal error ({type(error).__name__}: {error}); this is a bug, please "
            f"report it with the output of {DEBUG_VARIABLE}=1 deforum-comfy ...",
            file=sys.stderr,
        )
        return INTERNAL_ERROR
    return 0


if __name__ == "__main__":
    sys.exit(main())
