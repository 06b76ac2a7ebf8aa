"""Moving frames by a flow field or by a 3x3 matrix, as hybrid video motion does.

Both read the source bilinearly and fill what comes from outside the frame by mirroring
(OpenCV's BORDER_REFLECT_101, Deforum's choice), on the frames' device. Frames are
[B, H, W, C] floats in 0..1.
"""

from __future__ import annotations

import torch

from ..geometry import pixel_centres
from .sampling import pixel_indices, sample_bilinear


def warp_by_flow(frames: torch.Tensor, flow: torch.Tensor, factor: float = 1.0) -> torch.Tensor:
    """out(p) = frames(p - factor·flow(p)): Deforum's image_transform_optical_flow.

    Pulling each pixel from where the flow says it came from moves the content along the
    flow (a constant flow (3, 0) shifts the picture 3 px right); `factor` scales the motion.
    Deforum mirrors a quarter-size margin and then the margin again; mirroring about the
    edge pixels directly is the same for any motion within that margin and cleaner beyond.
    """
    _, height, width, _ = frames.shape
    positions = pixel_indices(height, width, frames.device) - factor * flow.to(
        frames.device, torch.float32
    )
    return sample_bilinear(frames, positions, "reflect_101")


def warp_by_matrix(frames: torch.Tensor, matrix: torch.Tensor) -> torch.Tensor:
    """Content moved by a source-to-destination matrix [3, 3]: out(p) = frames(M⁻¹p).

    The matrix is in the pack's pixel coordinates (pixel (i, j) centred at (j + 0.5, i + 0.5),
    as warp2d's motion matrices and estimate_transform's results are), so it composes with
    the 2D camera. warp2d.warp_frames would do the same but mirrors about the image edges
    (BORDER_REFLECT); Deforum's hybrid motion mirrors about the edge pixels.
    """
    _, height, width, _ = frames.shape
    inverse = torch.linalg.inv(matrix.to(torch.float64)).to(frames.device, torch.float32)
    source = pixel_centres(height, width, frames.device) @ inverse.T
    positions = source[:, :2] / source[:, 2:3] - 0.5
    return sample_bilinear(frames, positions.reshape(height, width, 2), "reflect_101")
