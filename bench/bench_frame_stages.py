"""Per-frame cost of the frame stages at 512x512, beside the same steps done Deforum's way.

Deforum's way: cv2.warpPerspective, skimage match_histograms (LAB via cv2), cv2 unsharp mask
and a cv2.addWeighted noise blend, on numpy uint8 arrays. Ours: the engine's torch stages on
float tensors. Run: .venv/bin/python bench/bench_frame_stages.py [--size 512] [--repeats 20]
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import torch
from timing import median_ms

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from deforum_core.color import match_histograms
from deforum_core.enhance import adjust_contrast, unsharp_mask
from deforum_core.noise import add_noise
from deforum_core.warp2d import Motion2D, warp_2d

MOTION = Motion2D(angle=0.5, zoom=1.01, translation_x=2.0, translation_y=-1.0)


def ours(frame: torch.Tensor, reference: torch.Tensor, sampling: str) -> dict[str, Callable]:
    return {
        "warp": lambda: warp_2d(frame, MOTION, sampling=sampling),
        "color (LAB)": lambda: match_histograms(frame, reference, "LAB"),
        "color (RGB)": lambda: match_histograms(frame, reference, "RGB"),
        "contrast": lambda: adjust_contrast(frame, 1.05),
        "anti-blur": lambda: unsharp_mask(frame, 0.2, 5, 1.0, 0),
        "noise": lambda: add_noise(frame, 0.065, seed=1),
    }


def deforums_way(frame: np.ndarray, reference: np.ndarray) -> dict[str, Callable]:
    from skimage.exposure import match_histograms as skimage_match

    height, width = frame.shape[:2]
    rotation = np.vstack([cv2.getRotationMatrix2D((width / 2, height / 2), 0.5, 1.01), [0, 0, 1]])
    matrix = rotation @ np.array([[1, 0, 2.0], [0, 1, -1.0], [0, 0, 1]])

    def color_lab():
        lab = cv2.cvtColor(frame, cv2.COLOR_RGB2LAB)
        matched = skimage_match(lab, cv2.cvtColor(reference, cv2.COLOR_RGB2LAB), channel_axis=-1)
        return cv2.cvtColor(matched.astype(np.uint8), cv2.COLOR_LAB2RGB)

    def anti_blur():
        blurred = cv2.GaussianBlur(frame, (5, 5), 1.0)
        sharpened = 1.2 * frame.astype(np.float32) - 0.2 * blurred
        return np.clip(sharpened, 0, 255).round().astype(np.uint8)

    def noise():
        generator = torch.Generator().manual_seed(1)
        white = torch.randn((3, height, width), generator=generator).permute(1, 2, 0).numpy()
        noise_image = (np.clip((white + 1) / 2, 0, 1) * 255).astype(np.uint8)
        return cv2.addWeighted(frame, 1 - 0.065, noise_image, 0.065, 0)

    return {
        "warp": lambda: cv2.warpPerspective(
            frame, matrix, (width, height), borderMode=cv2.BORDER_REPLICATE
        ),
        "color (LAB)": color_lab,
        "color (RGB)": lambda: skimage_match(frame, reference, channel_axis=-1),
        "contrast": lambda: np.clip(frame.astype(np.float32) * 1.05, 0, 255).astype(np.uint8),
        "anti-blur": anti_blur,
        "noise": noise,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--sampling", default="bicubic", choices=["bicubic", "bilinear"])
    arguments = parser.parse_args()

    rng = np.random.default_rng(0)
    size = arguments.size
    frame_u8 = cv2.GaussianBlur(rng.integers(0, 256, (size, size, 3), dtype=np.uint8), (9, 9), 3)
    reference_u8 = cv2.GaussianBlur(
        rng.integers(0, 256, (size, size, 3), dtype=np.uint8), (9, 9), 3
    )
    frame = torch.from_numpy(frame_u8).float().div(255).unsqueeze(0)
    reference = torch.from_numpy(reference_u8).float().div(255).unsqueeze(0)

    ours_steps = ours(frame, reference, arguments.sampling)
    theirs_steps = deforums_way(frame_u8, reference_u8)
    print(f"{size}x{size}, {torch.get_num_threads()} torch threads, median of {arguments.repeats}")
    print(f"{'stage':<14}{'ours (torch) ms':>18}{'Deforum way ms':>18}")
    totals = [0.0, 0.0]
    for name in ours_steps:
        mine = median_ms(ours_steps[name], arguments.repeats)
        theirs = median_ms(theirs_steps[name], arguments.repeats)
        if name != "color (RGB)":
            totals[0] += mine
            totals[1] += theirs
        print(f"{name:<14}{mine:>18.2f}{theirs:>18.2f}")
    print(f"{'total (LAB)':<14}{totals[0]:>18.2f}{totals[1]:>18.2f}")


if __name__ == "__main__":
    main()
