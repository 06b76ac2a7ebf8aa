"""A whole-frame motion (affine or perspective) between two frames, from matched keypoints.

As sd-webui-deforum's hybrid motion does it: SIFT keypoints in both frames, brute-force
matching with Lowe's ratio test at 0.75, then OpenCV's robust fit: estimateAffinePartial2D
(rotation, uniform scale, translation) or findHomography with RANSAC and a 5 px threshold.
With 8 matches or fewer (a flat or featureless frame) the motion is the identity. OpenCV is
imported when a motion is first measured: importing the pack stays light.
"""

from __future__ import annotations

import numpy as np
import torch

from .errors import FlowError
from .frames import frame_pair, gray_uint8

TRANSFORM_KINDS = ("Affine", "Perspective")
_RATIO = 0.75
_MIN_MATCHES = 9
_RANSAC_THRESHOLD = 5.0
# OpenCV puts pixel centres at integer positions; the pack at half-integers (geometry.py)
_TO_PACK = np.array([[1.0, 0.0, 0.5], [0.0, 1.0, 0.5], [0.0, 0.0, 1.0]])
_FROM_PACK = np.array([[1.0, 0.0, -0.5], [0.0, 1.0, -0.5], [0.0, 0.0, 1.0]])


def _matched_points(first: np.ndarray, second: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Positions [N, 1, 2] in both images of the keypoints that pass the ratio test."""
    import cv2

    sift = cv2.SIFT_create()
    keys_1, descriptors_1 = sift.detectAndCompute(first, None)
    keys_2, descriptors_2 = sift.detectAndCompute(second, None)
    if descriptors_1 is None or descriptors_2 is None or len(keys_2) < 2:
        return np.zeros((0, 1, 2), np.float32), np.zeros((0, 1, 2), np.float32)
    pairs = cv2.BFMatcher().knnMatch(descriptors_1, descriptors_2, k=2)
    good = [
        pair[0] for pair in pairs if len(pair) == 2 and pair[0].distance < _RATIO * pair[1].distance
    ]
    source = np.float32([keys_1[match.queryIdx].pt for match in good]).reshape(-1, 1, 2)
    target = np.float32([keys_2[match.trainIdx].pt for match in good]).reshape(-1, 1, 2)
    return source, target


def estimate_transform(first: torch.Tensor, second: torch.Tensor, kind: str) -> torch.Tensor:
    """[3, 3] float64 matrix mapping first's pixel coordinates to second's (CPU).

    Coordinates are the pack's (pixel (i, j) centred at (j + 0.5, i + 0.5)), so the result
    goes straight to warp_by_matrix or composes with warp2d's motion matrices.
    """
    import cv2

    if kind not in TRANSFORM_KINDS:
        raise FlowError(
            f"unknown hybrid motion kind {kind!r}", parameter="hybrid_motion",
            hint=f"use one of {', '.join(TRANSFORM_KINDS)}",
        )  # fmt: skip
    first, second = frame_pair(first, second)
    source, target = _matched_points(gray_uint8(first), gray_uint8(second))
    if len(source) < _MIN_MATCHES:
        return torch.eye(3, dtype=torch.float64)
    if kind == "Perspective":
        matrix, _ = cv2.findHomography(source, target, cv2.RANSAC, _RANSAC_THRESHOLD)
    else:
        affine, _ = cv2.estimateAffinePartial2D(source, target)
        matrix = None if affine is None else np.vstack([affine, [0.0, 0.0, 1.0]])
    if matrix is None:  # the robust fit found no consistent motion
        return torch.eye(3, dtype=torch.float64)
    return torch.from_numpy(_TO_PACK @ matrix.astype(np.float64) @ _FROM_PACK)
