"""3D mode benchmark: depth-model calls per written frame, 3D warp time, one depth estimate.

1. Renders a 3D animation through the loop the Deforum Animate node runs (tiny diffusers model,
   tiny Depth Anything V2 Small, random weights) at cadence 1 and cadence 4 and prints the
   depth-model calls per written frame (RenderResult.depth_calls / frames written): depth is
   estimated once per diffused frame, so about 1/cadence.
2. The time per frame of the 3D warp (deforum_core.warp3d.warp_3d) at 512x512 on the CPU,
   median of N calls, bicubic and bilinear sampling.
3. The time of one depth estimate of a 512x512 frame with a full-size Depth Anything V2 Small
   (randomly initialised, nothing downloaded) at its 518 px network input.

Run: .venv/bin/python bench/bench_depth.py [--frames 24] [--size 512] [--repeats 15]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO_ROOT), str(REPO_ROOT / "tests")]

import torch  # noqa: E402
from timing import median_ms  # noqa: E402
from tiny_depth import full_depth_model, tiny_depth_estimator  # noqa: E402

from deforum_core.depth import DepthEstimator  # noqa: E402
from deforum_core.diffusion import DiffusersBackend  # noqa: E402
from deforum_core.prompts import parse_prompt_schedule  # noqa: E402
from deforum_core.render import AnimationSettings, Stages, render_animation  # noqa: E402
from deforum_core.stages import Motion3DStage  # noqa: E402
from deforum_core.warp3d import Camera3D, rigid_motion, warp_3d  # noqa: E402

MODEL_TYPE = "Depth-Anything-V2-Small"
RENDER_SIZE = 64  # the call count does not depend on the frame size
MOTION = {"translation_z": "0:(10)", "rotation_3d_y": "0:(0.5)"}


def depth_calls(frames: int, cadence: int, scratch: Path) -> tuple[int, int, float]:
    """(depth calls, frames written, seconds) of a tiny 3D render at this cadence."""
    from tiny_models import tiny_sd_pipeline

    backend = DiffusersBackend(tiny_sd_pipeline(scratch / f"model-{cadence}"), "euler_a")
    stages = Stages(
        parse_prompt_schedule("0: a lake"),
        Motion3DStage(**MOTION),
        depth_model=tiny_depth_estimator(MODEL_TYPE),
    )
    settings = AnimationSettings(
        animation_mode="3D", max_frames=frames, width=RENDER_SIZE, height=RENDER_SIZE, base_seed=7,
        diffusion_cadence=cadence, strength_schedule="0:(0.5)", steps_schedule="0:(4)",
    )  # fmt: skip
    started = time.perf_counter()
    result = render_animation(settings, stages, backend, scratch / f"run-{cadence}")
    return result.depth_calls, result.frames_written, time.perf_counter() - started


def warp_ms(size: int, repeats: int, sampling: str) -> float:
    generator = torch.Generator().manual_seed(0)
    frame = torch.rand(1, size, size, 3, generator=generator)
    depth = 1.0 + torch.rand(1, size, size, generator=generator)  # Deforum's 1 (near)..2 (far)
    motion = rigid_motion(Camera3D(translation_z=10.0, rotation_3d_y=0.5))
    return median_ms(lambda: warp_3d(frame, depth, motion, 40.0, sampling=sampling), repeats)


def depth_estimate_ms(size: int, repeats: int) -> tuple[float, float]:
    """(ms per estimate, seconds to build the network) for a full-size Small at 518 px."""
    started = time.perf_counter()
    estimator = DepthEstimator(full_depth_model(MODEL_TYPE), MODEL_TYPE, input_size=518)
    built = time.perf_counter() - started
    frame = torch.rand(1, size, size, 3, generator=torch.Generator().manual_seed(1))
    with torch.inference_mode():
        return median_ms(lambda: estimator(frame), repeats), built


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=24)
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--depth-repeats", type=int, default=3)
    arguments = parser.parse_args()
    print(f"CPU, {torch.get_num_threads()} torch threads")

    print(f"depth-model calls per written frame ({arguments.frames} frames, 3D, "
          f"{RENDER_SIZE}x{RENDER_SIZE}, tiny diffusers + tiny {MODEL_TYPE}):")  # fmt: skip
    with tempfile.TemporaryDirectory() as folder:
        with torch.inference_mode():
            depth_calls(2, 1, Path(folder) / "warm-up")  # first-use costs out of the timings
        for cadence in (1, 4):
            with torch.inference_mode():
                calls, written, seconds = depth_calls(arguments.frames, cadence, Path(folder))
            print(f"  cadence {cadence}: {calls} calls / {written} frames = "
                  f"{calls / written:.3f} per frame ({seconds:.1f} s render)")  # fmt: skip

    size = arguments.size
    print(f"3D warp (warp_3d) at {size}x{size}, median of {arguments.repeats}:")
    with torch.inference_mode():
        for sampling in ("bicubic", "bilinear"):
            print(f"  {sampling:<9}{warp_ms(size, arguments.repeats, sampling):>8.1f} ms per frame")

    milliseconds, built = depth_estimate_ms(size, arguments.depth_repeats)
    print(f"one depth estimate, full-size {MODEL_TYPE} (random weights) at 518 px input, "
          f"{size}x{size} frame, median of {arguments.depth_repeats}: {milliseconds:.0f} ms "
          f"(network built in {built:.1f} s)")  # fmt: skip


if __name__ == "__main__":
    main()
