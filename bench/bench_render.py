"""Render benchmark: the README main job, a tiny-model ComfyUI render against bare sampling,
and the per-frame stage work on CUDA, printed side by side in one run.

1. The README's main job, `deforum-comfy render workflows/headless/deforum_2d.json --preview
   --out DIR` (120 frames at 512x512, motion preview), timed as a whole process several times,
   beside the same job at 10 and 300 frames (max_frames set in a copy of the twin): frames per
   second and peak RSS (of the process, from wait4), so memory flat in the number of frames
   shows as peak RSS at 300 frames against 10. --baseline-tree DIR adds the same rows for
   another source tree (e.g. `git archive HEAD | tar -x -C /tmp/old`), run in turns with ours.
2. A tiny SD1.5 render through the pack's ComfyUI backend inside a real ComfyUI against a bare
   loop of the same comfy.sample.sample calls (bench_comfy_render.py): frames per second of
   both, their ratio (goal <= 1.10) and the per-frame overhead outside sampling.
3. With CUDA, the per-frame stage work outside diffusion (warp, LAB colour coherence, contrast,
   anti-blur, noise; the engine's functions as bench_frame_stages.py calls them) in fp16 at
   512x512 on the GPU; without it, the command that measures it.

Run: .venv/bin/python bench/bench_render.py [--frames 10 120 300] [--repeats 3]
     [--tiny-frames 24] [--tiny-size 64] [--quick] [--cuda-only] [--baseline-tree DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
BENCH = Path(__file__).resolve().parent
sys.path[:0] = [str(BENCH), str(REPO_ROOT)]

import torch  # noqa: E402
from timing import median_ms, spread, with_spread  # noqa: E402

TWIN = Path("workflows") / "headless" / "deforum_2d.json"  # relative to a source tree
CLI = Path(sys.executable).with_name("deforum-comfy")
CUDA_COMMAND = ".venv/bin/python bench/bench_render.py --cuda-only"


# ------------------------------------------------------------------------------------------
# 1. The README main job as a whole process
# ------------------------------------------------------------------------------------------


@dataclass
class JobRows:
    """Seconds and peak RSS of every run of the job, by frame count, for one source tree."""

    label: str
    tree: Path
    seconds: dict[int, list[float]] = field(default_factory=dict)
    peak_mib: dict[int, list[float]] = field(default_factory=dict)


def job_workflow(tree: Path, frames: int, size: int, scratch: Path) -> Path:
    """The tree's workflow twin itself for 120 frames at 512x512 (the README's command), else
    a copy with max_frames, width and height set on its Animate node."""
    twin = tree / TWIN
    workflow = json.loads(twin.read_text())
    (animate,) = (n["inputs"] for n in workflow.values() if n["class_type"] == "DeforumAnimate")
    if (animate["max_frames"], animate["width"], animate["height"]) == (frames, size, size):
        return twin
    animate.update(max_frames=frames, width=size, height=size)
    copy = scratch / f"deforum_2d_{frames}f_{size}px.json"
    copy.write_text(json.dumps(workflow, indent=2))
    return copy


def job_environment(tree: Path, scratch: Path) -> dict[str, str]:
    """This tree: the installed command as it is. Another tree: its packages first on
    PYTHONPATH (before the editable install's finder), deforum_comfy pointing at its root."""
    environment = dict(os.environ)
    if tree.resolve() == REPO_ROOT:
        return environment
    alias = scratch / "baseline_packages"
    alias.mkdir(exist_ok=True)
    if not (alias / "deforum_comfy").exists():
        (alias / "deforum_comfy").symlink_to(tree.resolve(), target_is_directory=True)
    environment["PYTHONPATH"] = os.pathsep.join([str(tree.resolve()), str(alias)])
    probe = "import deforum_app, deforum_comfy, deforum_core as c; print(c.__file__)"
    found = subprocess.run([sys.executable, "-c", probe], env=environment, cwd=scratch,
                           capture_output=True, text=True, check=True).stdout.strip()  # fmt: skip
    if not Path(found).resolve().is_relative_to(tree.resolve()):
        raise RuntimeError(f"the baseline imports deforum_core from {found}, not {tree}")
    return environment


def job_command(tree: Path) -> list[str]:
    """The tree's deforum-comfy: the installed command for this tree; for another, what its
    own console script runs (its launcher, or cli.main in trees older than the launcher)."""
    if tree.resolve() == REPO_ROOT:
        return [str(CLI)]
    entry = "launch" if (tree / "deforum_app" / "launch.py").is_file() else "cli"
    return [
        sys.executable,
        "-c",
        f"import sys; from deforum_app.{entry} import main; sys.exit(main())",
    ]


def run_job(
    tree: Path, frames: int, size: int, scratch: Path, environment: dict[str, str]
) -> tuple[float, float]:
    """Wall seconds and peak RSS (MiB) of one `deforum-comfy render ... --preview` process."""
    out = Path(tempfile.mkdtemp(prefix="job-", dir=scratch))
    command = [*job_command(tree), "render", str(job_workflow(tree, frames, size, scratch)),
               "--preview", "--out", str(out)]  # fmt: skip
    log_path = scratch / "job.log"
    with log_path.open("wb") as log:
        started = time.perf_counter()
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, cwd=out,
                                   env=environment)  # fmt: skip
        _, status, usage = os.wait4(process.pid, 0)
        seconds = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed ({process.returncode}):\n"
                           f"{log_path.read_text()[-3000:]}")  # fmt: skip
    written = len(list(out.glob("deforum/*/*.png")))
    videos = list(out.glob("deforum/*/*.mp4"))
    shutil.rmtree(out)
    if written != frames or not videos:
        raise RuntimeError(f"the job wrote {written} of {frames} frames, {len(videos)} videos")
    return seconds, usage.ru_maxrss / 1024  # Linux reports kilobytes


def time_jobs(trees: list[tuple[str, Path]], counts: list[int], size: int,
              repeats: int) -> list[JobRows]:  # fmt: skip
    """Every (tree, frame count) run `repeats` times, in turns, so load drifts hit all alike."""
    rows = [JobRows(label, tree) for label, tree in trees]
    with tempfile.TemporaryDirectory(prefix="bench-render-") as folder:
        scratch = Path(folder)
        environments = [job_environment(row.tree, scratch) for row in rows]
        for _ in range(repeats):
            for frames in counts:
                for row, environment in zip(rows, environments, strict=True):
                    seconds, peak = run_job(row.tree, frames, size, scratch, environment)
                    row.seconds.setdefault(frames, []).append(seconds)
                    row.peak_mib.setdefault(frames, []).append(peak)
    return rows


def job_lines(rows: list[JobRows], size: int, repeats: int) -> list[str]:
    lines = [
        f"1. README main job: deforum-comfy render {TWIN} --preview --out DIR ({size}x{size}, "
        f"motion preview; other frame counts set in a copy of the twin), whole process, "
        f"{repeats} runs each, median (min-max)",
        f"   {'tree':<10}{'frames':>7}{'seconds':>22}{'frames/s':>22}{'peak RSS MiB':>22}",
    ]
    for row in rows:
        for frames, seconds in row.seconds.items():
            rates = [frames / s for s in seconds]
            lines.append(
                f"   {row.label:<10}{frames:>7}{with_spread(seconds):>22}{with_spread(rates):>22}"
                f"{with_spread(row.peak_mib[frames], 0):>22}"
            )
    for row in rows:
        counts = sorted(row.seconds)
        if len(counts) < 2:
            continue
        low, high = counts[0], counts[-1]
        peak_low, peak_high = spread(row.peak_mib[low])[0], spread(row.peak_mib[high])[0]
        seconds_low, seconds_high = spread(row.seconds[low])[0], spread(row.seconds[high])[0]
        per_frame = (seconds_high - seconds_low) / (high - low)
        fixed = seconds_low - per_frame * low
        lines.append(
            f"   {row.label}: peak RSS {high} vs {low} frames {peak_high:.0f} vs "
            f"{peak_low:.0f} MiB "
            f"({peak_high - peak_low:+.0f} MiB, x{peak_high / peak_low:.2f}); from the {low}- and "
            f"{high}-frame medians: {per_frame * 1000:.0f} ms a frame "
            f"({1 / per_frame:.2f} frames/s) plus {fixed:.1f} s a process"
        )
    if len(rows) == 2:
        for frames in rows[0].seconds:
            ours, theirs = (spread(row.seconds[frames])[0] for row in rows)
            lines.append(f"   {frames} frames: {rows[1].label} / {rows[0].label} seconds "
                         f"{theirs / ours:.2f}")  # fmt: skip
    return lines


# ------------------------------------------------------------------------------------------
# 3. The per-frame stage work outside diffusion on a device
# ------------------------------------------------------------------------------------------


def stage_steps(device: torch.device, dtype: torch.dtype, size: int) -> dict[str, Callable]:
    """The engine's per-frame functions as bench_frame_stages.py calls them, on one device."""
    from deforum_core import color
    from deforum_core.enhance import adjust_contrast, unsharp_mask
    from deforum_core.noise import add_noise
    from deforum_core.warp2d import Motion2D, warp_2d

    generator = torch.Generator().manual_seed(0)
    frame = torch.rand(1, size, size, 3, generator=generator).to(device, dtype)
    reference = torch.rand(1, size, size, 3, generator=generator).to(device, dtype)
    maker = getattr(color, "reference_histogram", None)  # made once a render, as the stage does
    target = maker(reference, "LAB", dtype, device) if maker else reference
    motion = Motion2D(angle=0.5, zoom=1.01, translation_x=2.0, translation_y=-1.0)
    return {
        "warp": lambda x=frame: warp_2d(x, motion, sampling="bicubic"),
        "color (LAB)": lambda x=frame: color.match_histograms(x, target, "LAB"),
        "contrast": lambda x=frame: adjust_contrast(x, 1.05),
        "anti-blur": lambda x=frame: unsharp_mask(x, 0.2, 5, 1.0, 0),
        "noise": lambda x=frame: add_noise(x, 0.065, seed=1),
    }


def stage_overhead_ms(device: torch.device, dtype: torch.dtype, size: int,
                      repeats: int) -> tuple[float, dict[str, float]]:  # fmt: skip
    """Median ms of all stages chained on one frame (synchronised before each clock reading),
    and of each stage alone."""
    steps = stage_steps(device, dtype, size)

    def synchronised(step: Callable) -> Callable:
        def run() -> None:
            step()
            if device.type == "cuda":
                torch.cuda.synchronize(device)

        return run

    def chain() -> None:
        frame = None
        for step in steps.values():
            frame = step() if frame is None else step(frame)

    if device.type == "cuda":
        torch.cuda.synchronize(device)
    each = {name: median_ms(synchronised(step), repeats) for name, step in steps.items()}
    return median_ms(synchronised(chain), repeats), each


def stage_lines(repeats: int, cpu: bool = True) -> list[str]:
    """The CPU figure (fp32, for comparison) and the CUDA one (fp16), or the command for it."""
    lines = [f"3. Per-frame stage work outside diffusion at 512x512 (warp bicubic, LAB colour "
             f"coherence, contrast, anti-blur, noise; chained), median of {repeats}"]  # fmt: skip
    devices = [("CPU", torch.device("cpu"), torch.float32)] if cpu else []
    if torch.cuda.is_available():
        devices.append(("CUDA", torch.device("cuda"), torch.float16))
    for name, device, dtype in devices:
        total, each = stage_overhead_ms(device, dtype, 512, repeats)
        parts = ", ".join(f"{stage} {ms:.2f}" for stage, ms in each.items())
        precision = "fp16" if dtype == torch.float16 else "fp32"
        where = torch.cuda.get_device_name(device) if device.type == "cuda" else "torch"
        lines.append(f"   {name} ({where}) each stage alone: {parts} ms")
        lines.append(f"{name} per-frame overhead outside diffusion ({precision}, 512x512): "
                     f"{total:.2f} ms")  # fmt: skip
    if not torch.cuda.is_available():
        lines.append(f"CUDA per-frame overhead outside diffusion (fp16, 512x512): no CUDA here; "
                     f"on a CUDA machine run: {CUDA_COMMAND}")  # fmt: skip
    return lines


# ------------------------------------------------------------------------------------------


def machine_line() -> str:
    device = (f"CUDA {torch.cuda.get_device_name()}" if torch.cuda.is_available()
              else "CPU (no CUDA)")  # fmt: skip
    load = ", ".join(f"{value:.2f}" for value in os.getloadavg())
    return (f"machine: {os.cpu_count()} CPUs ({platform.processor() or platform.machine()}), "
            f"torch {torch.__version__} with {torch.get_num_threads()} threads, device {device}; "
            f"load average {load} at start")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, nargs="+", default=[10, 120, 300],
                        help="main job frame counts (default 10 120 300)")  # fmt: skip
    parser.add_argument("--size", type=int, default=512, help="main job size (default 512)")
    parser.add_argument("--repeats", type=int, default=3, help="runs of each main job "
                        "(default 3); the tiny render and the bare loop run 2 more")  # fmt: skip
    parser.add_argument("--tiny-frames", type=int, default=24)
    parser.add_argument("--tiny-size", type=int, default=64)
    parser.add_argument("--steps", type=int, default=10, help="tiny render steps (default 10)")
    parser.add_argument("--strength", type=float, default=0.65)
    parser.add_argument("--comfyui", default="comfyui-2024", choices=["comfyui-2024",
                                                                     "comfyui-2025"])  # fmt: skip
    parser.add_argument("--baseline-tree", type=Path, help="another source tree to time the "
                        "main job of, in turns with this one")  # fmt: skip
    parser.add_argument("--quick", action="store_true", help="small sizes, under a minute")
    parser.add_argument("--skip-job", action="store_true", help="leave out part 1")
    parser.add_argument("--skip-comfy", action="store_true", help="leave out part 2")
    parser.add_argument("--cuda-only", action="store_true", help="only part 3")
    arguments = parser.parse_args()
    if arguments.quick:
        arguments.frames, arguments.repeats, arguments.tiny_frames = [10, 20], 1, 6
    started = time.perf_counter()
    print(machine_line(), flush=True)
    if arguments.cuda_only:
        print("\n".join(stage_lines(max(arguments.repeats, 20), cpu=False)))
        return
    if not arguments.skip_job:
        trees = [("this", REPO_ROOT)]
        if arguments.baseline_tree:
            trees.append(("baseline", arguments.baseline_tree.resolve()))
        rows = time_jobs(trees, arguments.frames, arguments.size, arguments.repeats)
        print("\n".join(job_lines(rows, arguments.size, arguments.repeats)), flush=True)
    if not arguments.skip_comfy:
        from bench_comfy_render import compare

        result = compare(arguments.tiny_frames, arguments.tiny_size, arguments.repeats + 2,
                         arguments.steps, arguments.strength, arguments.comfyui)  # fmt: skip
        print("\n".join(result.lines(arguments.comfyui)), flush=True)
    print("\n".join(stage_lines(max(arguments.repeats, 20))))
    load = ", ".join(f"{value:.2f}" for value in os.getloadavg())
    print(f"done in {time.perf_counter() - started:.0f} s; load average {load} at the end")


if __name__ == "__main__":
    main()
