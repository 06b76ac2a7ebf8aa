"""3D warp on synthetic images with synthetic depth, checked against the pinhole model."""

import pytest
import torch

from deforum_core.warp2d import Motion2D, warp_2d
from deforum_core.warp3d import (
    TRANSLATION_SCALE,
    Camera3D,
    focal_length,
    rigid_motion,
    warp_3d,
)


def marker_image(size: int = 96, points=((30, 60),)) -> torch.Tensor:
    image = torch.zeros(1, size, size, 3)
    for row, col in points:
        image[0, row - 2 : row + 3, col - 2 : col + 3] = 1.0
    return image


def centroid(image: torch.Tensor, rows=slice(None), cols=slice(None)) -> tuple[float, float]:
    weights = image[0, rows, cols, 0].double()
    row_index = torch.arange(image.shape[1], dtype=torch.float64)[rows]
    col_index = torch.arange(image.shape[2], dtype=torch.float64)[cols]
    total = weights.sum()
    return (
        float((weights.sum(1) * row_index).sum() / total),
        float((weights.sum(0) * col_index).sum() / total),
    )


def move(image, depth, sampling="bilinear", **camera):
    return warp_3d(image, depth, rigid_motion(Camera3D(**camera)), camera.get("fov", 40.0),
                   sampling=sampling)  # fmt: skip


def test_zero_motion_is_the_identity():
    image = torch.rand(2, 24, 40, 3)
    depth = torch.rand(2, 24, 40) + 0.5
    assert warp_3d(image, depth, rigid_motion(Camera3D()), 40.0) is image


@pytest.mark.parametrize("translation_x", [10.0, -6.0])
def test_translation_x_with_constant_depth_shifts_like_the_2d_warp(translation_x):
    size, depth_value = 96, 2.0
    image = torch.rand(1, size, size, 3, generator=torch.Generator().manual_seed(1))
    depth = torch.full((1, size, size), depth_value)
    moved = move(image, depth, translation_x=translation_x)
    # pinhole: a camera shift T at depth z moves the picture by f*T/z half-heights
    shift = focal_length(40.0) * translation_x * TRANSLATION_SCALE / depth_value * size / 2
    expected = warp_2d(image, Motion2D(translation_x=-shift), sampling="bilinear")
    assert torch.allclose(moved[:, :, 12:-12], expected[:, :, 12:-12], atol=2e-3)


def test_translation_z_with_constant_depth_zooms_by_the_pinhole_factor():
    size, depth_value, forward = 96, 1.5, 30.0
    image = marker_image(size, [(20, 24), (70, 76), (40, 66)])
    depth = torch.full((1, size, size), depth_value)
    zoomed = move(image, depth, translation_z=forward)
    factor = depth_value / (depth_value - forward * TRANSLATION_SCALE)
    expected = warp_2d(image, Motion2D(zoom=factor), sampling="bilinear")
    for rows, cols in [(slice(0, 40), slice(0, 48)), (slice(50, 96), slice(50, 96))]:
        got, want = centroid(zoomed, rows, cols), centroid(expected, rows, cols)
        assert got == pytest.approx(want, abs=0.05)


def test_rotation_3d_z_equals_a_2d_rotation():
    image = torch.rand(1, 64, 64, 3, generator=torch.Generator().manual_seed(2))
    depth = torch.rand(1, 64, 64, generator=torch.Generator().manual_seed(3)) + 1.0
    rolled = move(image, depth, rotation_3d_z=3.0)  # depth does not matter for a roll
    expected = warp_2d(image, Motion2D(angle=3.0), sampling="bilinear")
    inner = (slice(None), slice(8, -8), slice(8, -8))
    assert torch.allclose(rolled[inner], expected[inner], atol=2e-3)


def test_near_plane_moves_more_than_far_plane():
    size = 96
    image = marker_image(size, [(30, 30), (70, 30)])
    depth = torch.full((1, size, size), 4.0)
    depth[:, :50] = 1.0  # the upper marker is near, the lower far
    moved = move(image, depth, translation_x=8.0)
    near_before, far_before = centroid(image, slice(0, 50)), centroid(image, slice(50, None))
    near_after, far_after = centroid(moved, slice(0, 50)), centroid(moved, slice(50, None))
    near_shift = near_before[1] - near_after[1]
    far_shift = far_before[1] - far_after[1]
    assert near_shift > 0 and far_shift > 0  # the camera moved right: the picture moves left
    assert near_shift == pytest.approx(4 * far_shift, rel=0.05)  # parallax: shift ~ 1/depth


@pytest.mark.parametrize(
    ("camera", "row_sign", "col_sign"),
    [
        ({"translation_y": 10.0}, 1, 0),
        ({"rotation_3d_x": 2.0}, 1, 0),
        ({"rotation_3d_y": 2.0}, 0, -1),
        ({"translation_x": 10.0}, 0, -1),
    ],
)
def test_directions_follow_deforum(camera, row_sign, col_sign):
    image = marker_image(96, [(48, 48)])
    depth = torch.ones(1, 96, 96)
    row, col = centroid(move(image, depth, **camera))
    for delta, sign in ((row - 48.0, row_sign), (col - 48.0, col_sign)):
        assert (delta > 0.5) if sign > 0 else (delta < -0.5) if sign < 0 else abs(delta) < 0.05


def test_bad_arguments_are_named():
    image, depth = torch.rand(1, 8, 8, 3), torch.ones(1, 8, 8)
    motion = rigid_motion(Camera3D(translation_x=1))
    with pytest.raises(ValueError, match="unknown padding mode 'wrap'"):
        warp_3d(image, depth, motion, padding="wrap")
    with pytest.raises(ValueError, match="depth \\(1, 4, 4\\) does not match"):
        warp_3d(image, torch.ones(1, 4, 4), motion)
    with pytest.raises(ValueError, match="fov: must lie between 0 and 180"):
        warp_3d(image, depth, motion, fov=180)


def bar_scene(size: int = 64):
    """A near red bar (depth 1) in front of a blue background (depth 2) with a green stripe."""
    image = torch.zeros(1, size, size, 3)
    image[..., 2] = 1.0
    image[0, :, 24:40] = torch.tensor([1.0, 0.0, 0.0])
    image[0, :, 44:48] = torch.tensor([0.0, 1.0, 1.0])
    depth = torch.full((1, size, size), 2.0)
    depth[0, :, 24:40] = 1.0
    return image, depth


def red_columns(image: torch.Tensor) -> list[int]:
    return (image[0, 32, :, 0] > 0.5).nonzero().flatten().tolist()


def test_occlusion_aware_warp_keeps_a_near_object_in_front():
    image, depth = bar_scene()
    motion = rigid_motion(Camera3D(translation_x=30))
    shift = focal_length(40.0) * 30 * TRANSLATION_SCALE / 1.0 * 32  # the bar's pinhole shift
    aware = warp_3d(image, depth, motion, sampling="bilinear", occlusion_aware=True)
    columns = red_columns(aware)
    assert len(columns) == 16  # the bar keeps its width ...
    assert columns[0] == pytest.approx(24 - shift, abs=1)  # ... at the position it moved to
    plain = warp_3d(image, depth, motion, sampling="bilinear")
    assert len(red_columns(plain)) <= 12  # backward sampling lets the background eat its edge


def test_occlusion_aware_warp_fills_uncovered_background_from_the_background():
    image, depth = bar_scene()
    aware = warp_3d(image, depth, rigid_motion(Camera3D(translation_x=30)),
                    sampling="bilinear", occlusion_aware=True)  # fmt: skip
    right_edge = red_columns(aware)[-1]
    uncovered = aware[0, :, right_edge + 2 : right_edge + 7]
    assert torch.all(uncovered[..., 0] < 0.05)  # no red stretched over the uncovered strip
    assert torch.all(uncovered[..., 2] > 0.95)  # it continues the (blue) background


def test_occlusion_aware_warp_without_occlusions_is_the_plain_warp():
    image = torch.rand(1, 48, 48, 3, generator=torch.Generator().manual_seed(4))
    depth = torch.full((1, 48, 48), 1.5)
    for camera in (Camera3D(translation_x=7), Camera3D(translation_z=20), Camera3D()):
        motion = rigid_motion(camera)
        plain = warp_3d(image, depth, motion, sampling="bilinear")
        aware = warp_3d(image, depth, motion, sampling="bilinear", occlusion_aware=True)
        assert torch.equal(plain, aware)
