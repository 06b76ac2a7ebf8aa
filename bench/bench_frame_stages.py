"""Per-frame cost of the frame stages at 512x512, beside the same steps done Deforum's way.

Like with like, one frame as a render prepares it, in the loop's order, on a test picture with
dark, bright and saturated areas and fine detail (picture()):
- warp: the previous frame moved by a 2D camera. Ours samples as the workflows render it
  (Motion 2D's default sampling, bicubic, which the README main job uses; --sampling picks
  another), Deforum's way is cv2.warpPerspective with the matching interpolation (INTER_CUBIC
  for bicubic; Deforum itself calls it with the default INTER_LINEAR) and BORDER_REPLICATE.
  "warp zoom+pan" is the same move without the turn, as the README main job's zoom moves:
  ours then samples in two 1D passes (axis_bicubic.py); it is shown beside, not in the total.
- colour coherence: the warped frame matched to a reference frame. Ours is the bound Color
  Coherence stage as a render holds it (the reference's histogram counted once, on the first
  frame, and reused); Deforum's way is what Deforum does every frame: cv2 RGB->LAB of frame and
  reference, skimage match_histograms, LAB->RGB. LAB is in the total; RGB is shown beside it.
- contrast 1.05, anti-blur (unsharp mask, amount 0.2, kernel 5, sigma 1) and noise 0.065 on
  the frame each previous stage made. Deforum's way: a float multiply and clip, cv2
  GaussianBlur, torch.randn noise blended with cv2.addWeighted.
Ours are the engine's torch functions on float frames [1, H, W, 3]; Deforum's way runs on
uint8 numpy arrays. Each stage's two sides are timed in turns (ours, theirs, ours, ...) after
a warm-up call; the table gives the median and the spread (min-max) of --repeats calls, the
totals add the medians, and the last line is ours total / Deforum's total (LAB).

Run: .venv/bin/python bench/bench_frame_stages.py [--size 512] [--repeats 30]
     [--sampling bicubic] [--device cpu] [--dtype float32]
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import torch
from timing import interleaved_ms, spread

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from deforum_core.enhance import adjust_contrast, unsharp_mask
from deforum_core.noise import add_noise
from deforum_core.stages import ColorCoherenceStage, FrameContext, RenderInfo
from deforum_core.warp2d import Motion2D, motion_matrix, warp_frames

MOTION = Motion2D(angle=0.5, zoom=1.01, translation_x=2.0, translation_y=-1.0)
ZOOM_PAN = Motion2D(zoom=1.01, translation_x=2.0, translation_y=-1.0)  # the same, unturned
CV2_INTERPOLATION = {
    "bicubic": ("INTER_CUBIC", cv2.INTER_CUBIC),
    "bilinear": ("INTER_LINEAR", cv2.INTER_LINEAR),
    "nearest": ("INTER_NEAREST", cv2.INTER_NEAREST),
}
IN_TOTAL = ("warp", "color (LAB)", "contrast", "anti-blur", "noise")


def ours(
    previous: torch.Tensor, reference: torch.Tensor, sampling: str
) -> dict[str, Callable[[], object]]:
    """The engine's stages, each on the frame the stage before it made."""
    _, height, width, _ = previous.shape
    matrix = motion_matrix(MOTION, width, height)
    zoom_pan = motion_matrix(ZOOM_PAN, width, height)
    render = RenderInfo(max_frames=2, width=width, height=height)
    lab = ColorCoherenceStage("LAB").bind(render)
    rgb = ColorCoherenceStage("RGB").bind(render)
    context = FrameContext(1, seed=1, reference=reference)
    warped = warp_frames(previous, matrix, sampling=sampling)
    matched = lab.apply(warped, context)
    contrasted = adjust_contrast(matched, 1.05)
    sharpened = unsharp_mask(contrasted, 0.2, 5, 1.0, 0)
    return {
        "warp": lambda: warp_frames(previous, matrix, sampling=sampling),
        "warp zoom+pan": lambda: warp_frames(previous, zoom_pan, sampling=sampling),
        "color (LAB)": lambda: lab.apply(warped, context),
        "color (RGB)": lambda: rgb.apply(warped, context),
        "contrast": lambda: adjust_contrast(matched, 1.05),
        "anti-blur": lambda: unsharp_mask(contrasted, 0.2, 5, 1.0, 0),
        "noise": lambda: add_noise(sharpened, 0.065, seed=1),
    }


def deforums_way(
    previous: np.ndarray, reference: np.ndarray, interpolation: int
) -> dict[str, Callable[[], object]]:
    """The same steps as Deforum takes them, on uint8 frames."""
    from skimage.exposure import match_histograms as skimage_match

    height, width = previous.shape[:2]

    def warp(motion: Motion2D = MOTION) -> np.ndarray:
        centre = (width / 2, height / 2)
        rotation = np.vstack(
            [cv2.getRotationMatrix2D(centre, motion.angle, motion.zoom), [0, 0, 1]]
        )
        shift = np.array([[1, 0, motion.translation_x], [0, 1, motion.translation_y], [0, 0, 1]])
        return cv2.warpPerspective(previous, rotation @ shift, (width, height),
                                   flags=interpolation,
                                   borderMode=cv2.BORDER_REPLICATE)  # fmt: skip

    def color_lab(frame: np.ndarray) -> np.ndarray:
        lab = cv2.cvtColor(frame, cv2.COLOR_RGB2LAB)
        matched = skimage_match(lab, cv2.cvtColor(reference, cv2.COLOR_RGB2LAB), channel_axis=-1)
        return cv2.cvtColor(matched.astype(np.uint8), cv2.COLOR_LAB2RGB)

    def contrast(frame: np.ndarray) -> np.ndarray:
        return np.clip(frame.astype(np.float32) * 1.05, 0, 255).astype(np.uint8)

    def anti_blur(frame: np.ndarray) -> np.ndarray:
        blurred = cv2.GaussianBlur(frame, (5, 5), 1.0)
        sharpened = 1.2 * frame.astype(np.float32) - 0.2 * blurred
        return np.clip(sharpened, 0, 255).round().astype(np.uint8)

    def noise(frame: np.ndarray) -> np.ndarray:
        generator = torch.Generator().manual_seed(1)
        white = torch.randn((3, height, width), generator=generator).permute(1, 2, 0).numpy()
        noise_image = (np.clip((white + 1) / 2, 0, 1) * 255).astype(np.uint8)
        return cv2.addWeighted(frame, 1 - 0.065, noise_image, 0.065, 0)

    warped = warp()
    matched = color_lab(warped)
    contrasted = contrast(matched)
    sharpened = anti_blur(contrasted)
    return {
        "warp": warp,
        "warp zoom+pan": lambda: warp(ZOOM_PAN),
        "color (LAB)": lambda: color_lab(warped),
        "color (RGB)": lambda: skimage_match(warped, reference, channel_axis=-1),
        "contrast": lambda: contrast(matched),
        "anti-blur": lambda: anti_blur(contrasted),
        "noise": lambda: noise(sharpened),
    }


def picture(rng: np.random.Generator, size: int) -> np.ndarray:
    """A uint8 test picture with a frame's range of content: broad colour areas from black to
    white (so the colour conversions take both their linear and their power branches) with
    fine detail on top."""
    coarse = cv2.resize(rng.random((6, 6, 3)), (size, size), interpolation=cv2.INTER_CUBIC)
    detail = cv2.GaussianBlur(rng.normal(0.0, 0.08, (size, size, 3)), (0, 0), 1.5)
    return (np.clip(coarse + detail, 0.0, 1.0) * 255).round().astype(np.uint8)


def synchronised(step: Callable[[], object], device: torch.device) -> Callable[[], object]:
    """step, waiting for the device to finish before the clock is read."""
    if device.type != "cuda":
        return step

    def run() -> object:
        result = step()
        torch.cuda.synchronize(device)
        return result

    return run


def cell(samples: list[float]) -> str:
    middle, low, high = spread(samples)
    return f"{middle:7.2f} ({low:5.2f}-{high:6.2f})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--sampling", default="bicubic", choices=list(CV2_INTERPOLATION))
    parser.add_argument("--device", default="cpu", help="where ours runs (Deforum's: the CPU)")
    parser.add_argument("--dtype", default="float32", choices=["float32", "float16"])
    arguments = parser.parse_args()

    rng = np.random.default_rng(0)
    size = arguments.size
    previous_u8, reference_u8 = picture(rng, size), picture(rng, size)
    device, dtype = torch.device(arguments.device), getattr(torch, arguments.dtype)

    def as_frame(pixels: np.ndarray) -> torch.Tensor:  # a saved frame: 8-bit levels
        return torch.from_numpy(pixels).float().div(255).unsqueeze(0).to(device, dtype)

    interpolation_name, interpolation = CV2_INTERPOLATION[arguments.sampling]
    ours_steps = ours(as_frame(previous_u8), as_frame(reference_u8), arguments.sampling)
    theirs_steps = deforums_way(previous_u8, reference_u8, interpolation)
    print(f"{size}x{size}; ours: torch {torch.__version__} on {device} ({arguments.dtype}), "
          f"{torch.get_num_threads()} threads; Deforum's way: OpenCV {cv2.__version__} "
          f"({cv2.getNumThreads()} threads) and skimage on uint8")  # fmt: skip
    print(f"warp: grid_sample {arguments.sampling} beside cv2.warpPerspective "
          f"{interpolation_name}; cells: median (min-max) ms of {arguments.repeats}")  # fmt: skip
    print(f"{'stage':<15}{'ours':>24}{'Deforum way':>24}")
    totals = [0.0, 0.0]
    for name in ours_steps:
        samples = interleaved_ms(
            {"ours": synchronised(ours_steps[name], device), "theirs": theirs_steps[name]},
            arguments.repeats,
        )
        if name in IN_TOTAL:
            totals[0] += spread(samples["ours"])[0]
            totals[1] += spread(samples["theirs"])[0]
        print(f"{name:<15}{cell(samples['ours']):>24}{cell(samples['theirs']):>24}")
    print(f"{'total (LAB)':<15}{totals[0]:>24.2f}{totals[1]:>24.2f}")
    print(f"ratio ours/Deforum: {totals[0] / totals[1]:.2f}")


if __name__ == "__main__":
    main()
