"""OpenCV's dense optical flow with the settings sd-webui-deforum uses.

"DIS Medium" is OpenCV's medium preset. "DIS Fine" is DIS at full resolution (finest scale
0) with 8 px patches every 4 px and 192 gradient descent iterations: Deforum's "fine".
"Farneback" is Deforum's "normal" Farneback preset. Every function takes two 8-bit grayscale
images [H, W] and returns float32 flow [H, W, 2] in pixels, first(p) ≈ second(p + flow(p)).
OpenCV is imported when a flow is first measured: importing the pack stays light.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np


def dis_medium_flow(first: np.ndarray, second: np.ndarray) -> np.ndarray:
    """DIS with OpenCV's medium preset: fast, a coarse-to-fine search stopping at half size."""
    import cv2

    dis = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)
    return dis.calc(first, second, None)


def dis_fine_flow(first: np.ndarray, second: np.ndarray) -> np.ndarray:
    """DIS refined down to full resolution: slower, sharper motion edges."""
    import cv2

    dis = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)
    dis.setFinestScale(0)
    dis.setPatchSize(8)
    dis.setPatchStride(4)
    dis.setGradientDescentIterations(192)
    return dis.calc(first, second, None)


def farneback_flow(first: np.ndarray, second: np.ndarray) -> np.ndarray:
    """Farneback's polynomial expansion flow with Deforum's "normal" settings."""
    import cv2

    return cv2.calcOpticalFlowFarneback(
        first, second, None, pyr_scale=0.5, levels=5, winsize=21, iterations=5, poly_n=7,
        poly_sigma=1.2, flags=0,
    )  # fmt: skip


OPENCV_FLOWS: dict[str, Callable[[np.ndarray, np.ndarray], np.ndarray]] = {
    "DIS Medium": dis_medium_flow,
    "DIS Fine": dis_fine_flow,
    "Farneback": farneback_flow,
}
