"""Deforum's 2D camera: rotation and zoom about a centre, translation, perspective flip.

Coordinates are continuous pixel coordinates in which the image spans [0, W] x [0, H]
(pixel (i, j) has its centre at (j + 0.5, i + 0.5)), so the transform centre 0.5, 0.5 is the
true image centre and a 90 degree turn of a square image is an exact rotation. Matrices map
source positions to destination positions, as Deforum's cv2.warpPerspective call does:
the frame is first translated, then rotated and zoomed about the centre (R.T), and the
perspective flip is applied last. Unlike Deforum, the flip keeps the translation.

Frames are [B, H, W, C] float tensors (ComfyUI's IMAGE layout) on any device.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from .axis_bicubic import can_sample_along_axes, sample_along_axes
from .deforum_camera import deforum_flip_matrix
from .geometry import (
    SAMPLING_MODES,
    FlipAngles,
    axis_rotation,
    check_choice,
    check_flip_fv,
    pixel_centres,
)

BORDER_MODES = ("replicate", "wrap", "reflect", "zeros")
_PADDING = {"replicate": "border", "reflect": "reflection", "zeros": "zeros", "wrap": "border"}
_WRAP_MARGIN = 2  # pixels of circular padding: enough for the bicubic footprint
_AFFINE_ROW = torch.tensor([0.0, 0.0, 1.0])  # an affine matrix's last row
_BAND_ROWS = 16  # the fewest grid rows worth a thread of their own


@dataclass(frozen=True)
class Motion2D:
    """The camera motion of one frame, in Deforum's units."""

    angle: float = 0.0  # degrees per frame, positive turns the picture counter-clockwise
    zoom: float = 1.0  # scale per frame, 1.0 is still
    translation_x: float = 0.0  # pixels per frame, positive moves the picture right
    translation_y: float = 0.0  # pixels per frame, positive moves the picture down
    transform_center_x: float = 0.5  # rotation and zoom centre, as a fraction of the width
    transform_center_y: float = 0.5
    enable_perspective_flip: bool = False
    perspective_flip_theta: float = 0.0  # degrees about the viewing axis, counter-clockwise
    perspective_flip_phi: float = 0.0  # degrees about the horizontal axis
    perspective_flip_gamma: float = 0.0  # degrees about the vertical axis
    perspective_flip_fv: float = 53.0  # field of view of the flip camera, degrees
    camera: str = "pinhole"  # the flip's: "pinhole" or "deforum" (deforum_camera.py)


def motion_matrix(motion: Motion2D, width: int, height: int) -> torch.Tensor:
    """The 3x3 float64 matrix mapping source to destination positions for this motion."""
    center_x = motion.transform_center_x * width
    center_y = motion.transform_center_y * height
    radians = math.radians(motion.angle)
    cos_a = motion.zoom * math.cos(radians)
    sin_a = motion.zoom * math.sin(radians)
    # y points down, so a counter-clockwise turn on screen uses +sin in the first row
    rotate_zoom = torch.tensor(
        [
            [cos_a, sin_a, (1 - cos_a) * center_x - sin_a * center_y],
            [-sin_a, cos_a, sin_a * center_x + (1 - cos_a) * center_y],
            [0.0, 0.0, 1.0],
        ],
        dtype=torch.float64,
    )
    translate = torch.tensor(
        [[1.0, 0.0, motion.translation_x], [0.0, 1.0, motion.translation_y], [0.0, 0.0, 1.0]],
        dtype=torch.float64,
    )
    matrix = rotate_zoom @ translate
    if motion.enable_perspective_flip:
        matrix = any_flip_matrix(motion, motion.camera, width, height) @ matrix
    return matrix


def any_flip_matrix(angles: FlipAngles, camera: str, width: int, height: int) -> torch.Tensor:
    """The perspective flip of a camera: Deforum's own, or the pinhole one (flip_matrix)."""
    if camera == "deforum":
        return deforum_flip_matrix(angles, width, height)
    return flip_matrix(angles, width, height)


def flip_matrix(angles: FlipAngles, width: int, height: int) -> torch.Tensor:
    """Homography of the picture plane turned in 3D and seen by a pinhole camera.

    The plane is rotated about its centre by theta (viewing axis), phi (horizontal axis)
    and gamma (vertical axis), placed at the distance where the field of view fv spans the
    image diagonal, and projected back so that zero angles give the identity.
    """
    fv = check_flip_fv(angles.perspective_flip_fv)
    distance = math.hypot(width, height) / (2.0 * math.sin(math.radians(fv) / 2.0))
    # y points down: a negative turn about the viewing axis is counter-clockwise on screen,
    # so a positive theta turns the same way as a positive 2D angle
    rotation = (
        axis_rotation(2, -angles.perspective_flip_theta)
        @ axis_rotation(1, angles.perspective_flip_gamma)
        @ axis_rotation(0, angles.perspective_flip_phi)
    )
    # picture point (x, y) relative to the centre -> camera space -> projected with focal
    # length = distance, so an unrotated plane maps onto itself
    center = torch.tensor(
        [[1.0, 0.0, -width / 2], [0.0, 1.0, -height / 2], [0.0, 0.0, 1.0]], dtype=torch.float64
    )
    place = torch.stack(
        [rotation[:, 0], rotation[:, 1], torch.tensor([0.0, 0.0, distance], dtype=torch.float64)],
        dim=1,
    )
    project = torch.tensor(
        [[distance, 0.0, width / 2 * 1.0], [0.0, distance, height / 2 * 1.0], [0.0, 0.0, 1.0]],
        dtype=torch.float64,
    )
    return project @ place @ center


def warp_frames(
    frames: torch.Tensor,
    matrix: torch.Tensor,
    *,
    border: str = "replicate",
    sampling: str = "bicubic",
) -> torch.Tensor:
    """Move frames [B, H, W, C] by a source-to-destination matrix [3, 3].

    Sampling happens on the frames' device with torch.grid_sample (or, for a bicubic zoom and
    pan on the CPU, its equal in two 1D passes: axis_bicubic.py); bicubic results are clamped
    to 0..1 so that repeated warps never drift out of range.
    """
    check_choice(border, BORDER_MODES, "border", "border mode")
    check_choice(sampling, SAMPLING_MODES, "sampling", "sampling mode")
    _, height, width, _ = frames.shape
    images = frames.permute(0, 3, 1, 2)
    wrap = border == "wrap"
    if wrap:
        images = F.pad(images, [_WRAP_MARGIN] * 4, mode="circular")
    grid = sampling_grid(matrix, height, width, frames.device, wrap=wrap).to(frames.dtype)
    padding = _PADDING[border]
    if can_sample_along_axes(images, grid, sampling, padding):  # zoom and pan: two 1D passes
        warped = sample_along_axes(images, grid)
    else:
        warped = sample_rows_in_parallel(images, grid, mode=sampling, padding_mode=padding)
    if sampling == "bicubic":
        warped = warped.clamp_(0.0, 1.0)
    return warped.permute(0, 2, 3, 1)


def sample_rows_in_parallel(
    images: torch.Tensor, grid: torch.Tensor, *, mode: str, padding_mode: str
) -> torch.Tensor:
    """F.grid_sample(images [B, C, H', W'], grid [1, H, W, 2] for every image), align_corners
    False, as a contiguous [B, C, H, W].

    On the CPU torch samples the images of a batch in parallel but each image's rows one
    after another, so a single frame keeps one core busy; here the grid's rows are cut into
    bands sampled as a batch (the images repeated without a copy), one band a thread. Every
    output pixel is computed from its own grid entry exactly as before: the same values.
    """
    batch, channels = images.shape[:2]
    _, height, width, _ = grid.shape
    bands = 1
    if images.device.type == "cpu":
        bands = max(1, min(torch.get_num_threads() // batch, height // _BAND_ROWS))
    if bands == 1:
        return F.grid_sample(images, grid.expand(batch, -1, -1, -1), mode=mode,
                             padding_mode=padding_mode, align_corners=False)  # fmt: skip
    rows = height // bands
    main = bands * rows
    repeated = images.unsqueeze(1).expand(-1, bands, -1, -1, -1).flatten(0, 1)
    banded = grid[:, :main].reshape(bands, rows, width, 2)
    if batch > 1:
        banded = banded.repeat(batch, 1, 1, 1)
    sampled = F.grid_sample(repeated, banded, mode=mode, padding_mode=padding_mode,
                            align_corners=False)  # fmt: skip
    warped = images.new_empty((batch, channels, height, width))
    warped[:, :, :main].view(batch, channels, bands, rows, width).copy_(
        sampled.view(batch, bands, channels, rows, width).transpose(1, 2)
    )
    if main < height:  # the rows left over
        warped[:, :, main:] = F.grid_sample(
            images, grid[:, main:].expand(batch, -1, -1, -1), mode=mode,
            padding_mode=padding_mode, align_corners=False,
        )  # fmt: skip
    return warped


def sampling_grid(
    matrix: torch.Tensor, height: int, width: int, device: torch.device, *, wrap: bool = False
) -> torch.Tensor:
    """grid_sample's grid [1, H, W, 2] (align_corners=False) of the source position of every
    destination pixel centre under a source-to-destination matrix; with wrap, positions
    taken modulo the size, in an image padded by _WRAP_MARGIN on every side.

    The grid is laid out as two planes, x then y ([2, H, W] in memory, a permuted view), so
    that each step below runs over contiguous memory; grid_sample reads either layout. An
    affine inverse (last row exactly 0, 0, 1) gives every position a w of exactly 1, so the
    perspective division (by 1) is skipped, and its x (and y) is a column's term plus a row's
    term plus the offset, added in the order of the full product's three-term dot product:
    the same values bit for bit (test_warp2d checks every bit), without a pass of the pixel
    centres through a matrix product.
    """
    inverse = torch.linalg.inv(matrix.to(torch.float64)).to(torch.float32)
    if torch.equal(inverse[2], _AFFINE_ROW):
        planes = _affine_planes(inverse.tolist(), height, width, device)
    else:
        source = pixel_centres(height, width, device) @ inverse.to(device).T
        planes = (source[:, :2] / source[:, 2:3]).T.reshape(2, height, width)
    size = torch.tensor([width, height], dtype=torch.float32, device=device)
    if wrap:
        planes = torch.remainder(planes, size.view(2, 1, 1)).add_(_WRAP_MARGIN)
        size = size + 2 * _WRAP_MARGIN
    for plane, scale in zip(planes, (2.0 / size).tolist(), strict=True):  # float32 values
        plane.mul_(scale).sub_(1.0)
    return planes.permute(1, 2, 0).unsqueeze(0)


def _affine_planes(
    inverse: list[list[float]], height: int, width: int, device: torch.device
) -> torch.Tensor:
    """Source x and y [2, H, W] of every pixel centre under an affine inverse (3x3 float32
    values): (centre x * m0 + centre y * m1) + m2 for each of its first two rows m."""
    columns = torch.arange(width, dtype=torch.float32, device=device).add_(0.5)
    rows = torch.arange(height, dtype=torch.float32, device=device).add_(0.5)
    planes = torch.empty((2, height, width), dtype=torch.float32, device=device)
    for plane, (across, down, offset) in zip(planes, inverse[:2], strict=True):
        torch.add((columns * across).view(1, width), (rows * down).view(height, 1), out=plane)
        plane.add_(offset)
    return planes


def warp_2d(
    frames: torch.Tensor, motion: Motion2D, *, border: str = "replicate", sampling: str = "bicubic"
) -> torch.Tensor:
    """Apply one frame's 2D motion to frames [B, H, W, C]."""
    _, height, width, _ = frames.shape
    return warp_frames(
        frames, motion_matrix(motion, width, height), border=border, sampling=sampling
    )
