"""2D warp on synthetic images, checked against the geometry and against OpenCV."""

import math

import cv2
import numpy as np
import pytest
import torch

from deforum_core import warp2d
from deforum_core.axis_bicubic import moves_along_axes, sample_along_axes
from deforum_core.geometry import pixel_centres
from deforum_core.warp2d import (
    BORDER_MODES,
    SAMPLING_MODES,
    Motion2D,
    motion_matrix,
    sampling_grid,
    warp_2d,
    warp_frames,
)


def marker_image(size: int = 64, points=((20, 30),)) -> torch.Tensor:
    """A black [1, size, size, 3] image with 3x3 white squares centred on (row, col) points."""
    image = torch.zeros(1, size, size, 3)
    for row, col in points:
        image[0, row - 1 : row + 2, col - 1 : col + 2] = 1.0
    return image


def centroids(image: torch.Tensor, boxes) -> list[tuple[float, float]]:
    """Intensity-weighted (row, col) centre of the image inside each (r0, r1, c0, c1) box."""
    result = []
    for r0, r1, c0, c1 in boxes:
        patch = image[0, r0:r1, c0:c1, 0].double()
        rows, cols = torch.meshgrid(
            torch.arange(r0, r1, dtype=torch.float64),
            torch.arange(c0, c1, dtype=torch.float64),
            indexing="ij",
        )
        total = patch.sum()
        result.append((float((patch * rows).sum() / total), float((patch * cols).sum() / total)))
    return result


@pytest.mark.parametrize("border", BORDER_MODES)
@pytest.mark.parametrize("sampling", SAMPLING_MODES)
def test_identity_motion_returns_the_input(border, sampling):
    image = torch.rand(2, 24, 40, 3, generator=torch.Generator().manual_seed(1))
    assert torch.allclose(
        warp_2d(image, Motion2D(), border=border, sampling=sampling), image, atol=1e-5
    )


@pytest.mark.parametrize("sampling", SAMPLING_MODES)
def test_translation_x_10_moves_a_marker_10_px_right(sampling):
    warped = warp_2d(marker_image(), Motion2D(translation_x=10), sampling=sampling)
    assert torch.allclose(warped, marker_image(points=((20, 40),)), atol=1e-5)


def test_translation_y_moves_down():
    warped = warp_2d(marker_image(), Motion2D(translation_y=7), sampling="bilinear")
    assert torch.allclose(warped, marker_image(points=((27, 30),)), atol=1e-6)


@pytest.mark.parametrize("center", [(0.5, 0.5), (0.25, 0.75)])
def test_zoom_scales_distances_from_the_transform_center(center):
    size = 128
    center_px = (center[1] * size - 0.5, center[0] * size - 0.5)  # (row, col) of the centre
    offsets = [(-16, -16), (16, 0), (0, 20)]
    points = [
        (round(center_px[0] + dr + 0.5), round(center_px[1] + dc + 0.5)) for dr, dc in offsets
    ]
    image = marker_image(size, points)
    zoomed = warp_2d(
        image,
        Motion2D(zoom=1.25, transform_center_x=center[0], transform_center_y=center[1]),
        sampling="bilinear",
    )
    before = centroids(image, [(r - 4, r + 5, c - 4, c + 5) for r, c in points])
    boxes = []
    for r, c in points:
        zr = center_px[0] + (r - center_px[0]) * 1.25
        zc = center_px[1] + (c - center_px[1]) * 1.25
        boxes.append((round(zr) - 5, round(zr) + 6, round(zc) - 5, round(zc) + 6))
    after = centroids(zoomed, boxes)
    for (r0, c0), (r1, c1) in zip(before, after, strict=True):
        assert r1 - center_px[0] == pytest.approx((r0 - center_px[0]) * 1.25, abs=0.02)
        assert c1 - center_px[1] == pytest.approx((c0 - center_px[1]) * 1.25, abs=0.02)


@pytest.mark.parametrize("sampling", SAMPLING_MODES)
def test_angle_90_on_a_square_image_is_an_exact_rotation(sampling):
    image = torch.rand(1, 32, 32, 3, generator=torch.Generator().manual_seed(2))
    rotated = warp_2d(image, Motion2D(angle=90), sampling=sampling)
    # positive angles turn the picture counter-clockwise, as in Deforum
    assert torch.allclose(rotated, torch.rot90(image, 1, dims=(1, 2)), atol=1e-5)


def test_wrap_brings_content_in_from_the_opposite_edge():
    image = torch.rand(1, 20, 30, 3, generator=torch.Generator().manual_seed(3))
    wrapped = warp_2d(image, Motion2D(translation_x=5, translation_y=-3), border="wrap")
    assert torch.allclose(wrapped, torch.roll(image, shifts=(-3, 5), dims=(1, 2)), atol=1e-5)


def test_zeros_and_reflect_borders_fill_the_uncovered_strip():
    image = torch.rand(1, 16, 16, 3, generator=torch.Generator().manual_seed(4)) * 0.5 + 0.5
    zeros = warp_2d(image, Motion2D(translation_x=4), border="zeros", sampling="nearest")
    assert torch.all(zeros[0, :, :4] == 0) and torch.equal(zeros[0, :, 4:], image[0, :, :-4])
    reflected = warp_2d(image, Motion2D(translation_x=4), border="reflect", sampling="nearest")
    assert torch.equal(reflected[0, :, :4], image[0, :, :4].flip(1))
    replicated = warp_2d(image, Motion2D(translation_x=4), border="replicate", sampling="nearest")
    assert torch.equal(replicated[0, :, :4], image[0, :, :1].expand(-1, 4, -1))


def test_perspective_flip_keeps_the_translation():
    image = marker_image(64, ((32, 32),))
    flipped = {"enable_perspective_flip": True}
    flat = warp_2d(image, Motion2D(translation_x=10, **flipped), sampling="bilinear")
    assert torch.allclose(flat, marker_image(64, ((32, 42),)), atol=1e-5)  # zero angles: identity
    tilted = Motion2D(**flipped, perspective_flip_phi=20, perspective_flip_gamma=15)
    moved = Motion2D(
        enable_perspective_flip=True, perspective_flip_phi=20, perspective_flip_gamma=15,
        translation_x=10,
    )  # fmt: skip
    ((row_a, col_a),) = centroids(warp_2d(image, tilted, sampling="bilinear"), [(0, 64, 0, 64)])
    ((row_b, col_b),) = centroids(warp_2d(image, moved, sampling="bilinear"), [(0, 64, 0, 64)])
    assert col_b - col_a > 7  # Deforum's flip dropped this translation entirely
    assert abs(row_b - row_a) < 3


def test_perspective_flip_theta_turns_like_a_2d_rotation():
    image = torch.rand(1, 32, 32, 3, generator=torch.Generator().manual_seed(5))
    turned = Motion2D(enable_perspective_flip=True, perspective_flip_theta=90)
    flip = warp_2d(image, turned, sampling="nearest")
    assert torch.equal(flip, torch.rot90(image, 1, dims=(1, 2)))  # same way as angle


def test_matches_deforums_opencv_warp_up_to_the_half_pixel_centre():
    """Deforum: cv2.getRotationMatrix2D(centre, angle, zoom) @ translation, warpPerspective."""
    rng = np.random.default_rng(6)
    image = cv2.GaussianBlur(rng.integers(0, 256, (96, 80, 3), dtype=np.uint8), (5, 5), 2)
    angle, zoom, tx, ty, cx, cy = 7.0, 1.04, 3.5, -2.0, 0.4, 0.6
    height, width = image.shape[:2]
    # OpenCV puts pixel centres on integers, so the true centre of the frame is at -0.5
    rotation = np.vstack(
        [cv2.getRotationMatrix2D((cx * width - 0.5, cy * height - 0.5), angle, zoom), [0, 0, 1]]
    )
    translation = np.array([[1, 0, tx], [0, 1, ty], [0, 0, 1]], dtype=np.float64)
    expected = cv2.warpPerspective(
        image, rotation @ translation, (width, height), flags=cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_REPLICATE,
    )  # fmt: skip
    frames = torch.from_numpy(image).float().div(255).unsqueeze(0)
    motion = Motion2D(angle=angle, zoom=zoom, translation_x=tx, translation_y=ty,
                      transform_center_x=cx, transform_center_y=cy)  # fmt: skip
    ours = warp_2d(frames, motion, sampling="bilinear")[0].mul(255).numpy()
    assert np.abs(ours - expected).max() <= 1.5  # OpenCV interpolates in fixed point
    assert np.abs(ours - expected).mean() < 0.3


def test_matrix_composes_rotation_zoom_after_translation():
    matrix = motion_matrix(Motion2D(angle=90, zoom=2, translation_x=1), 10, 10)
    # the point 1 px left of the centre is translated onto the centre, which stays put
    point = matrix @ torch.tensor([4.0, 5.0, 1.0], dtype=torch.float64)
    assert point[:2].tolist() == pytest.approx([5.0, 5.0])
    # one more pixel to the right ends 2 px (zoom) up (counter-clockwise quarter turn)
    point = matrix @ torch.tensor([5.0, 5.0, 1.0], dtype=torch.float64)
    assert point[:2].tolist() == pytest.approx([5.0, 3.0])
    assert math.isclose(float(torch.linalg.det(matrix[:2, :2])), 4.0)


def test_bad_modes_are_named():
    with pytest.raises(ValueError, match="unknown border mode 'mirror'"):
        warp_2d(marker_image(), Motion2D(), border="mirror")
    with pytest.raises(ValueError, match="unknown sampling mode 'lanczos'"):
        warp_2d(marker_image(), Motion2D(), sampling="lanczos")


def reference_grid(matrix: torch.Tensor, height: int, width: int, wrap: bool) -> torch.Tensor:
    """The sampling grid as first written: every pixel centre through the full inverse, then
    the perspective division, then grid_sample's normalisation."""
    inverse = torch.linalg.inv(matrix.to(torch.float64)).to(torch.float32)
    source = pixel_centres(height, width, torch.device("cpu")) @ inverse.T
    source_xy = source[:, :2] / source[:, 2:3]
    size = torch.tensor([width, height], dtype=torch.float32)
    if wrap:
        source_xy = torch.remainder(source_xy, size) + 2
        size = size + 4
    return (source_xy * (2.0 / size) - 1.0).reshape(1, height, width, 2)


def random_motion(seed: int) -> Motion2D:
    angle, zoom, tx, ty, cx, cy, theta, phi, gamma = torch.rand(
        9, generator=torch.Generator().manual_seed(seed)
    ).tolist()
    return Motion2D(
        angle=(angle - 0.5) * 30, zoom=0.8 + zoom * 0.4, translation_x=(tx - 0.5) * 40,
        translation_y=(ty - 0.5) * 40, transform_center_x=cx, transform_center_y=cy,
        enable_perspective_flip=seed % 3 == 0, perspective_flip_theta=theta * 20,
        perspective_flip_phi=phi * 20, perspective_flip_gamma=gamma * 20,
        camera=("pinhole", "deforum")[seed % 2],
    )  # fmt: skip


@pytest.mark.parametrize("seed", range(12))
@pytest.mark.parametrize("wrap", [False, True])
def test_sampling_grid_equals_the_full_projection_bit_for_bit(seed, wrap):
    """Affine motions skip the division by w (exactly 1): the grid must not change a bit."""
    height, width = [(37, 53), (64, 48), (31, 17), (96, 96)][seed % 4]
    matrix = motion_matrix(random_motion(seed), width, height)
    grid = sampling_grid(matrix, height, width, torch.device("cpu"), wrap=wrap)
    assert torch.equal(grid, reference_grid(matrix, height, width, wrap))


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("border", BORDER_MODES)
def test_warp_equals_grid_sample_on_the_reference_grid(seed, border):
    height, width = [(37, 53), (29, 41), (64, 48), (17, 31)][seed]
    frames = torch.rand(2, height, width, 3, generator=torch.Generator().manual_seed(seed))
    if seed % 2:
        frames = frames.permute(0, 3, 1, 2).contiguous().permute(0, 2, 3, 1)
    matrix = motion_matrix(random_motion(seed), width, height)
    images = frames.permute(0, 3, 1, 2)
    if border == "wrap":
        images = torch.nn.functional.pad(images, [2] * 4, mode="circular")
    padding = {"replicate": "border", "wrap": "border", "reflect": "reflection", "zeros": "zeros"}
    for sampling in SAMPLING_MODES:
        grid = reference_grid(matrix, height, width, border == "wrap").expand(2, -1, -1, -1)
        expected = torch.nn.functional.grid_sample(
            images, grid, mode=sampling, padding_mode=padding[border], align_corners=False
        )
        if sampling == "bicubic":
            expected = expected.clamp(0.0, 1.0)
        warped = warp_frames(frames, matrix, border=border, sampling=sampling)
        assert torch.equal(warped, expected.permute(0, 2, 3, 1))


@pytest.mark.parametrize("threads", [2, 3, 8])
@pytest.mark.parametrize(("batch", "height", "width"), [(1, 37, 53), (2, 64, 48), (1, 16, 20)])
def test_rows_sampled_in_bands_equal_one_call(monkeypatch, threads, batch, height, width):
    """With several threads the grid's rows are sampled in bands, one a thread (the tests run
    one thread, so more are pretended): the pixels must not change."""
    frames = torch.rand(batch, height, width, 3, generator=torch.Generator().manual_seed(threads))
    matrix = motion_matrix(random_motion(threads), width, height)
    expected = {
        (border, sampling): warp_frames(frames, matrix, border=border, sampling=sampling)
        for border in BORDER_MODES
        for sampling in SAMPLING_MODES
    }
    monkeypatch.setattr(torch, "get_num_threads", lambda: threads)
    for (border, sampling), single in expected.items():
        banded = warp_frames(frames, matrix, border=border, sampling=sampling)
        assert torch.equal(banded, single)
        assert banded.stride() == single.stride()


def axis_motion(seed: int) -> Motion2D:
    """A zoom (out to 0.5, in to 1.5) and a pan about a random centre, without a turn."""
    zoom, tx, ty, cx, cy = torch.rand(5, generator=torch.Generator().manual_seed(seed)).tolist()
    return Motion2D(zoom=0.5 + zoom, translation_x=(tx - 0.5) * 80,
                    translation_y=(ty - 0.5) * 80, transform_center_x=cx,
                    transform_center_y=cy)  # fmt: skip


@pytest.mark.parametrize("seed", range(8))
@pytest.mark.parametrize("border", ["replicate", "wrap"])
def test_a_zoom_and_pan_is_sampled_along_axes_to_grid_samples_values(monkeypatch, seed, border):
    """Bicubic zooms and pans take two 1D passes (axis_bicubic.py), which must give
    grid_sample's values bit for bit, in float32 and float64, far outside the frame too."""
    height, width = [(37, 53), (64, 48), (31, 17), (96, 96)][seed % 4]
    dtype = torch.float64 if seed % 3 == 0 else torch.float32
    frames = torch.rand(1 + seed % 2, height, width, 3, dtype=dtype,
                        generator=torch.Generator().manual_seed(seed))  # fmt: skip
    matrix = motion_matrix(axis_motion(seed), width, height)
    grid = sampling_grid(matrix, height, width, torch.device("cpu"), wrap=border == "wrap")
    images = frames.permute(0, 3, 1, 2)
    if border == "wrap":
        images = torch.nn.functional.pad(images, [2] * 4, mode="circular")
    grid = grid.to(dtype)
    assert moves_along_axes(grid)
    expected = torch.nn.functional.grid_sample(
        images, grid.expand(len(frames), -1, -1, -1), mode="bicubic", padding_mode="border",
        align_corners=False,
    )  # fmt: skip
    assert torch.equal(sample_along_axes(images, grid), expected)

    def refused(*_arguments, **_options):
        raise AssertionError("a zoom and pan was sampled with grid_sample")

    monkeypatch.setattr(warp2d, "sample_rows_in_parallel", refused)
    warped = warp_frames(frames, matrix, border=border)
    assert torch.equal(warped, expected.clamp(0.0, 1.0).permute(0, 2, 3, 1))


def test_a_turn_or_a_perspective_flip_does_not_move_along_axes():
    for motion in (Motion2D(angle=0.01), Motion2D(zoom=1.1, enable_perspective_flip=True,
                                                  perspective_flip_theta=5.0)):  # fmt: skip
        grid = sampling_grid(motion_matrix(motion, 48, 32), 32, 48, torch.device("cpu"))
        assert not moves_along_axes(grid)
    still = sampling_grid(motion_matrix(Motion2D(), 48, 32), 32, 48, torch.device("cpu"))
    assert moves_along_axes(still)
