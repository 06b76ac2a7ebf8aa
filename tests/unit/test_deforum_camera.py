"""Deforum's own cameras: where each pixel samples, against worked cases and against the
math of sd-webui-deforum's 3D warp and perspective flip, written out here another way (the
homogeneous 4x4 matrices and row vectors of pytorch3d, OpenCV's corner fitting)."""

from __future__ import annotations

import math

import cv2
import numpy as np
import pytest
import torch

from deforum_core.deforum_camera import (
    deforum_flip_matrix,
    deforum_rigid_motion,
    deforum_sampling_grid,
    deforum_warp_3d,
)
from deforum_core.stages import FrameContext, Motion2DStage, Motion3DStage, RenderInfo
from deforum_core.warp2d import Motion2D, motion_matrix, warp_frames
from deforum_core.warp3d import Camera3D

SIZES = [(64, 64), (128, 96), (96, 160)]  # (width, height)


def to_pixels(grid: torch.Tensor, width: int, height: int) -> np.ndarray:
    """grid_sample positions (-1..1, align_corners=False) as pixel coordinates."""
    scale = torch.tensor([width / 2, height / 2], dtype=torch.float64)
    return ((grid.double() + 1) * scale - 0.5).numpy()


def flat(width: int, height: int, value: float = 1.0) -> torch.Tensor:
    return torch.full((1, height, width), value)


def grid_of(camera: Camera3D, depth: torch.Tensor, aspect: float = 1.0) -> torch.Tensor:
    return deforum_sampling_grid(depth, deforum_rigid_motion(camera), camera.fov, aspect)


# -- worked cases -----------------------------------------------------------------------------


def test_translation_x_10_shifts_every_sample_by_the_projected_step():
    """tx 10 moves the camera by 10/200 = 0.05 along -x; with z = 1 each point is seen at
    (x - 0.05) / tan(20 deg): every pixel samples 0.05 / tan(20 deg) * W/2 = 8.79 px to its
    right, so the picture moves 8.79 px left."""
    width, height = 128, 96
    grid = to_pixels(grid_of(Camera3D(translation_x=10, fov=40), flat(width, height)), width,
                     height)  # fmt: skip
    shift = 0.05 / math.tan(math.radians(20)) * width / 2
    columns = np.arange(width)[None, :]
    assert shift == pytest.approx(8.7919, abs=1e-4)
    assert np.allclose(grid[0, ..., 0] - columns, shift, atol=1e-4)
    assert np.allclose(grid[0, ..., 1] - np.arange(height)[:, None], 0, atol=1e-4)


def test_translation_z_10_zooms_about_the_centre_by_1_over_0_95():
    """tz 10 moves the camera forward by 0.05: at z = 1 a point at x is seen at x / 0.95, so
    the sample sits (1/0.95 - 1) * x * K closer to the centre, x spread evenly from -1 to 1."""
    width, height = 64, 64
    grid = grid_of(Camera3D(translation_z=10, fov=40), flat(width, height))
    focal = 1 / math.tan(math.radians(20))
    xs = torch.linspace(-1, 1, width)
    centres = (torch.arange(width) + 0.5) * 2 / width - 1
    expected = centres - xs * focal * (1 / 0.95 - 1)
    assert torch.allclose(grid[0, 10, :, 0], expected, atol=1e-6)


def test_aspect_ratio_divides_the_sideways_step_and_near_far_change_nothing():
    width, height = 128, 96
    plain = grid_of(Camera3D(translation_x=10), flat(width, height), aspect=1.0)
    wide = grid_of(Camera3D(translation_x=10), flat(width, height), aspect=2.0)
    centres = grid_of(Camera3D(), flat(width, height))
    assert torch.allclose(wide - centres, (plain - centres) / 2, atol=1e-6)
    near_far = grid_of(Camera3D(translation_x=10, near=1, far=2), flat(width, height))
    assert torch.equal(near_far, plain)


# -- against Deforum's math, written the pytorch3d way ----------------------------------------


def euler_xyz(degrees: tuple[float, float, float]) -> np.ndarray:
    """pytorch3d's euler_angles_to_matrix(radians(...), "XYZ")."""
    x, y, z = np.radians(degrees)
    rx = np.array([[1, 0, 0], [0, np.cos(x), -np.sin(x)], [0, np.sin(x), np.cos(x)]])
    ry = np.array([[np.cos(y), 0, np.sin(y)], [0, 1, 0], [-np.sin(y), 0, np.cos(y)]])
    rz = np.array([[np.cos(z), -np.sin(z), 0], [np.sin(z), np.cos(z), 0], [0, 0, 1]])
    return rx @ ry @ rz


def fov_projection(near: float, far: float, aspect: float, fov: float) -> np.ndarray:
    """FoVPerspectiveCameras.compute_projection_matrix (column form)."""
    top = math.tan(math.radians(fov) / 2) * near
    right = top * aspect
    k = np.zeros((4, 4))
    k[0, 0], k[1, 1] = 2 * near / (2 * right), 2 * near / (2 * top)
    k[3, 2], k[2, 2], k[2, 3] = 1.0, far / (far - near), -(far * near) / (far - near)
    return k


def deforum_grid_reference(depth: np.ndarray, camera: Camera3D, aspect: float) -> np.ndarray:
    """sd-webui-deforum transform_image_3d_new's offset_coords_2d, [H, W, 2]."""
    height, width = depth.shape
    y, x = np.meshgrid(np.linspace(-1, 1, height), np.linspace(-1, 1, width), indexing="ij")
    world = np.stack([x.ravel(), y.ravel(), depth.ravel(), np.ones(x.size)], axis=1)
    t = np.array([-camera.translation_x, camera.translation_y, -camera.translation_z]) / 200
    r = euler_xyz((camera.rotation_3d_x, camera.rotation_3d_y, camera.rotation_3d_z))
    k = fov_projection(camera.near, camera.far, aspect, camera.fov)

    def seen(rotation, translation):
        world_to_view = np.eye(4)  # row vectors: X_view = X_world R + T
        world_to_view[:3, :3], world_to_view[3, :3] = rotation, translation
        clip = world @ world_to_view @ k.T
        return clip[:, :2] / clip[:, 3:4]

    offset = (seen(r, t) - seen(np.eye(3), np.zeros(3))).reshape(height, width, 2)
    across = (np.arange(width) + 0.5) * 2 / width - 1
    down = (np.arange(height) + 0.5) * 2 / height - 1
    centres = np.stack(np.meshgrid(across, down), axis=-1)
    return centres - offset


MOVES = [
    Camera3D(translation_x=10),
    Camera3D(translation_y=-7, translation_z=12, rotation_3d_y=1.5),
    Camera3D(
        translation_x=4,
        translation_y=3,
        translation_z=-8,
        rotation_3d_x=2,
        rotation_3d_y=-1,
        rotation_3d_z=3,
        fov=70,
        near=50,
        far=500,
    ),
]


@pytest.mark.parametrize(("width", "height"), SIZES)
@pytest.mark.parametrize("camera", MOVES, ids=["tx", "ty-tz-ry", "combined"])
@pytest.mark.parametrize("aspect", [1.0, "width/height"])
def test_sampling_positions_agree_with_deforum(width, height, camera, aspect):
    depth = 1 + torch.rand(height, width, generator=torch.Generator().manual_seed(width))
    ratio = width / height if aspect == "width/height" else aspect
    ours = to_pixels(grid_of(camera, depth[None], ratio)[0], width, height)
    theirs = deforum_grid_reference(depth.double().numpy(), camera, ratio)
    scale = np.array([width / 2, height / 2])
    error = np.abs(ours - ((theirs + 1) * scale - 0.5))
    assert error.mean() < 0.25 and error.max() < 1.0
    assert error.max() < 0.01  # in fact float32 rounding only


# -- the perspective flip ---------------------------------------------------------------------


def deforum_flip_reference(width, height, theta, phi, gamma, fv) -> np.ndarray:
    """get_flip_perspective_matrix: corners through Deforum's 4x4, fitted by OpenCV."""
    half = np.radians(fv / 2)
    diagonal = np.hypot(width, height)
    side, distance = diagonal / np.cos(half), diagonal / (2 * np.sin(half))
    near, far = distance - diagonal / 2, distance + diagonal / 2
    projection = np.eye(4)
    projection[0, 0] = projection[1, 1] = 1 / np.tan(half)
    projection[2, 2], projection[2, 3] = (
        -(far + near) / (far - near),
        -2 * far * near / (far - near),
    )
    projection[3, 2] = -1
    back = np.eye(4)
    back[2, 3] = -distance
    turn = np.eye(4)
    turn[:3, :3] = euler_xyz((phi, gamma, theta))  # getRotationMatrixManual: Rx Ry Rz
    corners = np.array([[[-width / 2, height / 2, 0], [width / 2, height / 2, 0],
                         [width / 2, -height / 2, 0], [-width / 2, -height / 2, 0]]])  # fmt: skip
    out = cv2.perspectiveTransform(corners, projection @ back @ turn)
    source = (corners[0, :, :2] + [width / 2, height / 2]).astype(np.float32)
    target = ((out[0, :, :2] + 1) * side / 2).astype(np.float32)
    fitted = cv2.getPerspectiveTransform(source, target)
    shift = np.array([[1, 0, (width - side) / 2], [0, 1, (height - side) / 2], [0, 0, 1]])
    return fitted @ shift


def sources(matrix: np.ndarray, width: int, height: int, centre: float) -> np.ndarray:
    """Where each output pixel samples (pixel centres at whole numbers + centre)."""
    y, x = np.mgrid[0:height, 0:width].astype(np.float64) + centre
    points = np.stack([x, y, np.ones_like(x)], axis=-1) @ np.linalg.inv(matrix).T
    return points[..., :2] / points[..., 2:]


ANGLES = [(0, 0, 0, 53), (10, 0, 0, 53), (0, 20, 0, 53), (0, 0, 25, 40), (15, -25, 30, 70)]


@pytest.mark.parametrize(("width", "height"), SIZES)
@pytest.mark.parametrize("angles", ANGLES, ids=lambda a: "theta{}-phi{}-gamma{}-fv{}".format(*a))
def test_the_flip_samples_where_deforums_does(width, height, angles):
    theta, phi, gamma, fv = angles
    motion = Motion2D(perspective_flip_theta=theta, perspective_flip_phi=phi,
                      perspective_flip_gamma=gamma, perspective_flip_fv=fv)  # fmt: skip
    ours = sources(deforum_flip_matrix(motion, width, height).numpy(), width, height, 0.5) - 0.5
    theirs = sources(deforum_flip_reference(width, height, theta, phi, gamma, fv), width, height,
                     0.0)  # fmt: skip
    error = np.abs(ours - theirs)
    assert error.mean() < 0.25 and error.max() < 1.0


def test_zero_angles_zoom_out_slightly_as_in_deforum():
    matrix = deforum_flip_matrix(Motion2D(), 128, 96).numpy()
    matrix = matrix / matrix[2, 2]
    assert matrix[0, 0] == pytest.approx(0.99445, abs=1e-5) and matrix[0, 1] == pytest.approx(0)


def test_a_positive_theta_turns_against_the_2d_angle():
    """Deforum's flip theta turns the picture the other way round than its 2D angle does."""
    turned = deforum_flip_matrix(Motion2D(perspective_flip_theta=10), 128, 96).numpy()
    rotated = motion_matrix(Motion2D(angle=-10), 128, 96).numpy()
    assert np.sign(turned[0, 1]) == np.sign(rotated[0, 1]) != 0


# -- through the stages -----------------------------------------------------------------------


def test_the_2d_stage_keeps_the_translation_deforum_dropped():
    stage = Motion2DStage(zoom="0:(1)", translation_x="0:(6)", enable_perspective_flip=True,
                          perspective_flip_phi="0:(10)", camera="deforum")  # fmt: skip
    matrix = stage.bind(RenderInfo(1, 128, 96)).matrices[0].numpy()
    flip = deforum_flip_matrix(Motion2D(perspective_flip_phi=10), 128, 96).numpy()
    assert np.allclose(matrix, flip @ np.array([[1, 0, 6], [0, 1, 0], [0, 0, 1]]))


def test_the_3d_stage_warps_with_deforums_camera_and_flip():
    stage = Motion3DStage(translation_x="0:(10)", translation_z="0:(0)", fov="0:(40)",
                          enable_perspective_flip=True, perspective_flip_theta="0:(5)",
                          sampling_mode="bilinear", camera="deforum")  # fmt: skip
    bound = stage.bind(RenderInfo(1, 64, 48))
    frames = torch.rand(1, 48, 64, 3, generator=torch.Generator().manual_seed(1))
    depth = 1 + torch.rand(1, 48, 64, generator=torch.Generator().manual_seed(2))
    moved = bound.apply(frames, FrameContext(0, depth=depth))
    flipped = warp_frames(frames, deforum_flip_matrix(Motion2D(perspective_flip_theta=5), 64, 48),
                          border="replicate", sampling="bilinear")  # fmt: skip
    expected = deforum_warp_3d(flipped, depth, deforum_rigid_motion(Camera3D(translation_x=10)),
                               40.0, 1.0, sampling="bilinear")  # fmt: skip
    assert torch.allclose(moved, expected, atol=1e-6)


def test_occlusion_needs_the_pinhole_camera():
    with pytest.raises(ValueError, match="occlusion_aware works with the pinhole camera"):
        Motion3DStage(occlusion_aware=True, camera="deforum")
    assert Motion3DStage(occlusion_aware=True, camera="pinhole").occlusion_aware
