"""Command line: `deforum-comfy render ...`, `schedule ...` and `prompts ...`.

`render` runs a workflow of this pack's nodes without ComfyUI; `schedule` and `prompts`
evaluate keyframe strings exactly as the nodes do, so they can be checked and scripted.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from .interpolation import INTERPOLATIONS
from .keyframes import parse_schedule
from .prompts import parse_prompt_schedule


def _text_argument(value: str) -> str:
    """A literal, or @path to read the text from a file."""
    if value.startswith("@"):
        return Path(value[1:]).read_text(encoding="utf-8")
    return value


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

    schedule = commands.add_parser("schedule", help="evaluate a keyframe schedule per frame")
    schedule.add_argument("text", type=_text_argument, help="keyframes, or @file")
    schedule.add_argument("--frames", type=int, default=120, help="max_frames (default 120)")
    schedule.add_argument("--interpolation", choices=INTERPOLATIONS, default="linear")
    schedule.add_argument("--seed", type=int, default=0, help="value of s")
    schedule.add_argument("--fps", type=float, default=15.0, help="value of fps")
    schedule.add_argument("--name", default="value", help="parameter name for messages")
    schedule.add_argument("--plot", type=Path, help="also write a PNG plot of the curve here")

    prompts = commands.add_parser("prompts", help="resolve a prompt schedule per frame")
    prompts.add_argument(
        "text", type=_text_argument, help="JSON or `frame: prompt` lines, or @file"
    )
    prompts.add_argument("--frames", type=int, default=120, help="max_frames (default 120)")
    prompts.add_argument("--positive", default="", help="text before every prompt")
    prompts.add_argument("--negative", default="", help="text added to every negative prompt")
    prompts.add_argument("--seed", type=int, default=0, help="value of s")
    prompts.add_argument("--fps", type=float, default=15.0, help="value of fps")
    return parser


def _run_render(arguments: argparse.Namespace) -> None:
    from . import workflow_runner as runner
    from .pattern import test_pattern
    from .render.rundir import read_image

    workflow = runner.read_workflow(arguments.workflow)
    pack = runner.load_pack()
    host = sys.modules[f"{pack.__name__}.nodes.comfy_bridge"].HEADLESS
    host.output, host.input = arguments.out.resolve(), arguments.input.resolve()
    preset = None
    if arguments.preview:
        workflow = runner.motion_preview(workflow)
        init = read_image(arguments.init) if arguments.init else test_pattern()
        preset = {runner.INIT_NODE: (init,)}
    reports = runner.run_workflow(workflow, pack, preset=preset)
    for report in reports.values():
        for run_dir in report.get("run_dir", []):
            print(f"frames: {host.output / run_dir}")
        for video in report.get("deforum_video", []):
            print(f"video: {host.output / video['subfolder'] / video['filename']}")


def _run_schedule(arguments: argparse.Namespace) -> None:
    parsed = parse_schedule(
        arguments.text, name=arguments.name, interpolation=arguments.interpolation
    )
    values = parsed.evaluate(arguments.frames, seed=arguments.seed, fps=arguments.fps)
    for frame, value in enumerate(values):
        print(f"{frame}\t{value!r}")
    if arguments.plot is not None:
        _write_plot(
            arguments.plot,
            values,
            parsed.key_frames(arguments.frames, arguments.fps),
            arguments.name,
        )


def _write_plot(path: Path, values: list[float], key_frames: list[int], title: str) -> None:
    import cv2

    from .plot import plot_schedule

    image = (plot_schedule(values, key_frames, title=title) * 255).round().byte().numpy()
    temporary = path.with_name(path.name + ".partial.png")
    if not cv2.imwrite(str(temporary), cv2.cvtColor(image, cv2.COLOR_RGB2BGR)):
        raise OSError(f"could not write {temporary}")
    temporary.replace(path)
    print(f"plot written to {path}", file=sys.stderr)


def _run_prompts(arguments: argparse.Namespace) -> None:
    parsed = parse_prompt_schedule(
        arguments.text, positive=arguments.positive, negative=arguments.negative
    )
    for frame in parsed.evaluate(arguments.frames, seed=arguments.seed, fps=arguments.fps):
        print(json.dumps(frame.__dict__, ensure_ascii=False))


def main(argv: list[str] | None = None) -> int:
    arguments = _build_parser().parse_args(argv)
    commands = {"render": _run_render, "schedule": _run_schedule, "prompts": _run_prompts}
    try:
        commands[arguments.command](arguments)
    except (ValueError, OSError) as error:  # every error type of the engine is a ValueError
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
