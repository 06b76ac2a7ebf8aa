"""Whole-render benchmark: time per frame by stage, frames per second, and peak memory.

Renders a 2D animation at 512x512 on the CPU with a tiny diffusers model (random weights,
built here; nothing is downloaded) through the same loop the Deforum Animate node runs.
Stage times are measured on their own with the render's objects; the render itself runs in
a fresh process per frame count so that its peak memory (max RSS) is its own.

Run: .venv/bin/python bench/bench_render.py [--size 512] [--frames 10 300] [--cadence 2]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO_ROOT), str(REPO_ROOT / "tests")]

import torch  # noqa: E402
from timing import median_ms  # noqa: E402

from deforum_core.diffusion import DiffusersBackend, DiffusionRequest, FrameText  # noqa: E402
from deforum_core.prompts import parse_prompt_schedule  # noqa: E402
from deforum_core.render import AnimationSettings, Stages, render_animation  # noqa: E402
from deforum_core.render.rundir import RunDirectory  # noqa: E402
from deforum_core.stages import (  # noqa: E402
    ColorCoherenceStage,
    EnhanceStage,
    FrameContext,
    Motion2DStage,
    NoiseStage,
    RenderInfo,
)
from deforum_core.video_encoding import encode_video  # noqa: E402

STEPS = 4
STRENGTH = 0.5


def build_stages() -> Stages:
    return Stages(
        parse_prompt_schedule('{"0": "a lake at dawn", "100": "a lake at night"}'),
        Motion2DStage(angle="0:(0.5)", translation_x="0:(1)"),
        ColorCoherenceStage("LAB"),
        EnhanceStage(amount="0:(0.1)"),
        NoiseStage(noise="0:(0.04)"),
    )


def build_backend(scratch: Path) -> DiffusersBackend:
    from tiny_models import tiny_sd_pipeline

    return DiffusersBackend(tiny_sd_pipeline(scratch, sd_scale=True), "euler_a")


def settings(frames: int, size: int, cadence: int) -> AnimationSettings:
    return AnimationSettings(
        max_frames=frames, width=size, height=size, base_seed=7, diffusion_cadence=cadence,
        strength_schedule=f"0:({STRENGTH})", steps_schedule=f"0:({STEPS})",
    )  # fmt: skip


def stage_times(size: int) -> dict[str, float]:
    """Milliseconds per call of each per-frame step, at size x size."""
    stages = build_stages()
    frame = torch.rand(1, size, size, 3, generator=torch.Generator().manual_seed(0))
    render = RenderInfo(2, size, size, 7)
    motion, color, enhance, noise = (
        stage.bind(render)
        for stage in (stages.motion, stages.color_coherence, stages.enhance, stages.noise)
    )
    context = FrameContext(1, seed=1, reference=frame)
    backend = build_backend(Path(tempfile.mkdtemp()))
    request = DiffusionRequest(FrameText("a lake"), STRENGTH, STEPS, 7.0, 1, size, size, frame)
    with tempfile.TemporaryDirectory() as folder:
        directory = RunDirectory(Path(folder))
        for index in range(30):
            directory.write_frame(index, frame)
        encode = median_ms(lambda: encode_video(directory.frame_paths(), Path(folder) / "v.mp4",
                                              fps=15), repeats=2) / 30  # fmt: skip
        return {
            "warp": median_ms(lambda: motion.apply(frame, context)),
            "coherence (LAB)": median_ms(lambda: color.apply(frame, context)),
            "contrast + anti-blur": median_ms(lambda: enhance.apply(frame, context)),
            "noise": median_ms(lambda: noise.apply(frame, context)),
            f"diffuse ({STEPS} steps x strength {STRENGTH})": median_ms(
                lambda: backend.diffuse(request), repeats=2
            ),
            "PNG write": median_ms(lambda: directory.write_frame(0, frame)),
            "video encode (per frame)": encode,
        }


def render_once(frames: int, size: int, cadence: int) -> None:
    """Child process: render, then print seconds and peak RSS as JSON."""
    with tempfile.TemporaryDirectory() as folder:
        backend = build_backend(Path(folder) / "model")
        started = time.perf_counter()
        render_animation(settings(frames, size, cadence), build_stages(), backend,
                         Path(folder) / "run")  # fmt: skip
        seconds = time.perf_counter() - started
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"seconds": seconds, "peak_mib": peak_mib}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--frames", type=int, nargs="+", default=[10, 300])
    parser.add_argument("--cadence", type=int, default=2)
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    if arguments.child:
        render_once(arguments.child, arguments.size, arguments.cadence)
        return

    size = arguments.size
    print(f"{size}x{size}, CPU, {torch.get_num_threads()} torch threads, tiny diffusers model")
    print("time per call by stage:")
    for name, milliseconds in stage_times(size).items():
        print(f"  {name:<36}{milliseconds:>10.1f} ms")
    print(f"whole renders (cadence {arguments.cadence}, {STEPS} steps, strength {STRENGTH}):")
    for frames in arguments.frames:
        command = [sys.executable, __file__, "--child", str(frames), "--size", str(size),
                   "--cadence", str(arguments.cadence)]  # fmt: skip
        report = json.loads(subprocess.run(command, check=True, capture_output=True,
                                           text=True).stdout.splitlines()[-1])  # fmt: skip
        print(
            f"  {frames:>4} frames: {report['seconds']:7.1f} s, "
            f"{frames / report['seconds']:5.2f} frames/s, peak memory {report['peak_mib']:.0f} MiB"
        )


if __name__ == "__main__":
    main()
