"""Forward-backward consistency of optical flow, and flow that trusts only consistent pixels.

Ruder, Dosovitskiy and Brox (2016): a pixel's forward motion is reliable when following it
and then the backward flow found at its destination comes back near the start. Where it does
not, the pixel was covered in the second frame (an occlusion) or the flow is wrong there.
"""

from __future__ import annotations

import math

import torch

from ..enhance import gaussian_blur
from .errors import FlowError
from .estimate import estimate_flow
from .raft import RaftModel
from .sampling import pixel_indices, sample_bilinear


def flow_consistency(forward: torch.Tensor, backward: torch.Tensor) -> torch.Tensor:
    """[H, W] float32: 1 where forward then backward flow return near the start, else 0.

    The round trip's squared miss must stay under 0.01·(|fwd|² + |bwd at the target|²) + 0.5
    px², the threshold of Ruder et al. that Deforum's make_consistency (channel 0) uses; the
    backward flow is read bilinearly at the target, clamped inside the frame as Deforum does.
    """
    height, width, _ = forward.shape
    backward = backward.to(forward.device, torch.float32)
    forward = forward.float()
    target = pixel_indices(height, width, forward.device) + forward
    back_at_target = sample_bilinear(backward.unsqueeze(0), target, "replicate")[0]
    miss = (forward + back_at_target).square().sum(dim=-1)
    threshold = 0.01 * (forward.square().sum(-1) + back_at_target.square().sum(-1)) + 0.5
    return (miss < threshold).float()


def reliable_flow(
    first: torch.Tensor,
    second: torch.Tensor,
    method: str,
    raft: RaftModel | None = None,
    blur: float = 2.0,
) -> torch.Tensor:
    """Forward flow weighted by its consistency map, softened by a Gaussian of sigma `blur`.

    Unreliable pixels get weight 0, so they simply do not move. Deforum weights them -0.75,
    which moves them backwards against the flow (and blurs that into their neighbours); it
    also cuts its blur off at one sigma with black edges. Here the blur is a full Gaussian
    (three sigmas, mirrored edges) and the weights stay within 0..1. blur 0: no blur.
    """
    if blur < 0:
        raise FlowError(
            f"must be 0 or more, got {blur:g}", parameter="consistency_blur",
            hint="use 0 for a sharp consistency mask, or a sigma such as 2",
        )  # fmt: skip
    forward = estimate_flow(first, second, method, raft)
    backward = estimate_flow(second, first, method, raft)
    weights = flow_consistency(forward, backward)
    if blur > 0:
        kernel = 2 * math.ceil(3 * blur) + 1
        weights = gaussian_blur(weights[None, :, :, None], kernel, blur)[0, :, :, 0]
    return forward * weights.unsqueeze(-1)
