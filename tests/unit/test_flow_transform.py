"""Whole-frame hybrid motion: SIFT + RANSAC recover a known affine or perspective motion of a
textured picture, and warping by a matrix moves content where the matrix says."""

from __future__ import annotations

import math

import cv2
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from deforum_core.flow import FlowError, estimate_transform, warp_by_matrix
from deforum_core.warp2d import Motion2D, motion_matrix, warp_frames

HEIGHT, WIDTH = 96, 128


def translate(dx: float, dy: float) -> np.ndarray:
    return np.array([[1.0, 0.0, dx], [0.0, 1.0, dy], [0.0, 0.0, 1.0]])


def picture(seed: int = 0) -> torch.Tensor:
    """[H, W, 3] smooth random colours at three scales with blobs that SIFT can key on."""
    generator = torch.Generator().manual_seed(seed)
    layers = torch.zeros(1, 3, HEIGHT, WIDTH)
    for cells, weight in (((3, 4), 0.3), ((8, 10), 0.4), ((24, 32), 0.3)):
        coarse = torch.rand(1, 3, *cells, generator=generator)
        layers += weight * F.interpolate(coarse, (HEIGHT, WIDTH), mode="bicubic")
    image = layers[0].permute(1, 2, 0)
    rows, cols = torch.meshgrid(
        torch.arange(HEIGHT) + 0.5, torch.arange(WIDTH) + 0.5, indexing="ij"
    )
    for _ in range(25):
        y, x = (torch.rand(2, generator=generator) * torch.tensor([HEIGHT, WIDTH])).tolist()
        radius = 1.5 + 3.0 * torch.rand(1, generator=generator).item()
        blob = torch.exp(-((rows - y) ** 2 + (cols - x) ** 2) / (2 * radius**2))
        image = image + (torch.rand(3, generator=generator) - 0.5) * blob[..., None]
    return image.clamp(0.0, 1.0)


def opencv_warp(image: torch.Tensor, matrix: np.ndarray) -> torch.Tensor:
    """The picture moved by a pack-coordinate matrix, by OpenCV (pixel centres at integers)."""
    to_opencv = translate(-0.5, -0.5) @ matrix @ translate(0.5, 0.5)
    moved = cv2.warpPerspective(
        image.numpy(), to_opencv, (WIDTH, HEIGHT), flags=cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_REFLECT_101,
    )  # fmt: skip
    return torch.from_numpy(moved)


def corners(matrix: np.ndarray) -> np.ndarray:
    """Where the matrix sends the frame's four corners, [4, 2]."""
    points = matrix @ np.array([[0, WIDTH, 0, WIDTH], [0, 0, HEIGHT, HEIGHT], [1, 1, 1, 1.0]])
    return (points[:2] / points[2]).T


def similarity(degrees: float, scale: float, dx: float, dy: float) -> np.ndarray:
    """Rotation and uniform scale about the frame's centre, then a translation."""
    c, s = scale * math.cos(math.radians(degrees)), scale * math.sin(math.radians(degrees))
    rotate = np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])
    centre = translate(WIDTH / 2, HEIGHT / 2)
    return translate(dx, dy) @ centre @ rotate @ np.linalg.inv(centre)


HOMOGRAPHY = np.array([[1.03, 0.04, 3.0], [-0.02, 0.97, -2.0], [2e-4, -1e-4, 1.0]])


@pytest.mark.parametrize(
    ("kind", "matrix"),
    [("Affine", similarity(5.0, 1.05, 4.0, -3.0)), ("Perspective", HOMOGRAPHY)],
)
@pytest.mark.parametrize("seed", [0, 1])
def test_a_known_motion_is_recovered(kind, matrix, seed):
    first = picture(seed)
    second = opencv_warp(first, matrix)
    found = estimate_transform(first, second, kind)
    assert found.shape == (3, 3) and found.dtype == torch.float64
    assert np.abs(corners(found.numpy()) - corners(matrix)).max() < 0.5


def test_affine_motion_has_no_shear_or_perspective():
    first = picture()
    found = estimate_transform(first, opencv_warp(first, HOMOGRAPHY), "Affine").numpy()
    assert np.allclose(found[2], [0.0, 0.0, 1.0])
    assert found[0, 0] == pytest.approx(found[1, 1]) and found[0, 1] == pytest.approx(-found[1, 0])


@pytest.mark.parametrize("kind", ["Affine", "Perspective"])
def test_a_flat_picture_gives_the_identity(kind):
    flat = torch.full((HEIGHT, WIDTH, 3), 0.5)
    assert torch.equal(estimate_transform(flat, flat, kind), torch.eye(3, dtype=torch.float64))


def test_an_unknown_kind_names_the_choices():
    with pytest.raises(FlowError, match=r"(?s)hybrid_motion.*Affine, Perspective"):
        estimate_transform(picture(), picture(), "Rigid")


def test_the_estimated_motion_warps_first_onto_second():
    first = picture()
    second = opencv_warp(first, similarity(-3.0, 0.97, -2.5, 1.5))
    moved = warp_by_matrix(first[None], estimate_transform(first, second, "Affine"))[0]
    interior = (slice(12, -12), slice(12, -12))
    assert (moved[interior] - second[interior]).abs().mean() < 0.01


# --- warping by a matrix --------------------------------------------------------------------


def blob_image(row: float, col: float, sigma: float = 2.0) -> torch.Tensor:
    """[1, H, W, 3] black with a Gaussian spot centred at pack coordinates (col, row)."""
    rows, cols = torch.meshgrid(
        torch.arange(HEIGHT, dtype=torch.float64) + 0.5,
        torch.arange(WIDTH, dtype=torch.float64) + 0.5,
        indexing="ij",
    )
    spot = torch.exp(-((rows - row) ** 2 + (cols - col) ** 2) / (2 * sigma**2)).float()
    return spot[None, :, :, None].expand(1, -1, -1, 3).contiguous()


def centroid(image: torch.Tensor) -> tuple[float, float]:
    """Intensity-weighted (x, y) in pack coordinates."""
    weights = image[0, :, :, 0].double()
    rows, cols = torch.meshgrid(
        torch.arange(HEIGHT, dtype=torch.float64) + 0.5,
        torch.arange(WIDTH, dtype=torch.float64) + 0.5,
        indexing="ij",
    )
    total = weights.sum()
    return float((weights * cols).sum() / total), float((weights * rows).sum() / total)


@pytest.mark.parametrize(
    "matrix", [translate(7.0, -4.0), similarity(20.0, 1.2, 3.0, 2.0), HOMOGRAPHY]
)
def test_warp_by_matrix_moves_a_marker_where_the_matrix_says(matrix):
    x, y = 50.0, 40.0
    moved = warp_by_matrix(blob_image(y, x), torch.from_numpy(matrix))
    target = matrix @ np.array([x, y, 1.0])
    assert centroid(moved) == pytest.approx(tuple(target[:2] / target[2]), abs=0.15)


def test_warp_by_matrix_matches_opencv_reflect_101_everywhere():
    image = picture()
    matrix = similarity(12.0, 0.8, 5.0, -6.0)  # zooming out shows the mirrored borders
    moved = warp_by_matrix(image[None], torch.from_numpy(matrix))[0]
    # OpenCV quantises positions to 1/32 px: compare within that
    assert (moved - opencv_warp(image, matrix)).abs().max() < 0.01


def test_warp_by_matrix_agrees_with_the_2d_camera_inside_the_frame():
    frames = picture()[None].expand(2, -1, -1, -1)
    matrix = motion_matrix(Motion2D(angle=10.0, zoom=1.1, translation_x=3.0), WIDTH, HEIGHT)
    ours = warp_by_matrix(frames, matrix)
    camera = warp_frames(frames, matrix, border="reflect", sampling="bilinear")
    assert ours.shape == frames.shape
    # the borders differ (reflect-101 against reflect); what comes from inside is the same
    inside = (slice(None), slice(12, -12), slice(12, -12))
    assert torch.allclose(ours[inside], camera[inside], atol=1e-4)
    identity = warp_by_matrix(frames, torch.eye(3, dtype=torch.float64))
    assert torch.allclose(identity, frames, atol=5e-5)
