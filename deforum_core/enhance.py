"""Contrast and anti-blur: the per-frame touch-ups Deforum applies before diffusion.

Contrast scales the pixel values (Deforum's contrast schedule is a multiplier) and saturates
at white instead of wrapping around as Deforum's uint8 cast did. Anti-blur is an unsharp
mask: the frame plus `amount` times its difference from a Gaussian blur, leaving alone the
pixels whose difference is under the threshold. Threshold is in Deforum's 0..255 units.

Frames are [B, H, W, C] floats in 0..1 (ComfyUI's IMAGE layout).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import torch
import torch.nn.functional as F

from .errors import DeforumError


@dataclass(frozen=True)
class Enhancement:
    """One frame's contrast and anti-blur settings."""

    contrast: float = 1.0
    amount: float = 0.0
    kernel: float = 5.0
    sigma: float = 1.0
    threshold: float = 0.0


def adjust_contrast(frames: torch.Tensor, contrast: float) -> torch.Tensor:
    """Frames multiplied by contrast, clamped to 0..1; contrast 1 returns the input itself."""
    if contrast == 1.0:
        return frames
    return (frames * contrast).clamp_(0.0, 1.0)


def odd_kernel_size(kernel: float) -> int:
    """A scheduled kernel size as a usable one: rounded, at least 1, and odd (even rounds up)."""
    size = max(1, round(kernel))
    return size if size % 2 == 1 else size + 1


@lru_cache(maxsize=16)
def _gaussian_kernel(size: int, sigma: float, device: torch.device, dtype: torch.dtype):
    """1D Gaussian weights; sigma <= 0 derives it from the size as OpenCV does."""
    if sigma <= 0:
        sigma = 0.3 * ((size - 1) * 0.5 - 1) + 0.8
    offsets = torch.arange(size, dtype=torch.float64) - (size - 1) / 2
    weights = torch.exp(-(offsets**2) / (2 * sigma * sigma))
    return (weights / weights.sum()).to(device, dtype)


def gaussian_blur(frames: torch.Tensor, kernel: int, sigma: float) -> torch.Tensor:
    """Separable Gaussian blur of frames [B, H, W, C], edges mirrored like OpenCV's default."""
    return _blur(frames, kernel, sigma, channels_last=_convolves_channels_last(frames))


def _convolves_channels_last(frames: torch.Tensor) -> bool:
    """Whether to blur with the channels last in memory: on the CPU with oneDNN (mkldnn) on,
    where a depthwise convolution gives the same values in either layout but is several
    times faster channels-last. With oneDNN off (ATen's own convolutions, as the tests pin
    them) the two layouts round differently, so the frames' own layout is kept."""
    return (
        frames.device.type == "cpu"
        and frames.dtype == torch.float32
        and torch.backends.mkldnn.is_available()
        and torch.backends.mkldnn.enabled
    )


def _blur(frames: torch.Tensor, kernel: int, sigma: float, *, channels_last: bool):
    weights = _gaussian_kernel(kernel, float(sigma), frames.device, frames.dtype)
    channels = frames.shape[-1]
    images = frames.permute(0, 3, 1, 2)
    if channels_last:
        images = images.contiguous(memory_format=torch.channels_last)
    pad = kernel // 2
    if pad and min(images.shape[-2:]) > pad:
        images = F.pad(images, [pad, pad, pad, pad], mode="reflect")
    elif pad:
        images = F.pad(images, [pad, pad, pad, pad], mode="replicate")
    horizontal = weights.view(1, 1, 1, -1).expand(channels, 1, 1, -1)
    vertical = weights.view(1, 1, -1, 1).expand(channels, 1, -1, 1)
    blurred = F.conv2d(F.conv2d(images, horizontal, groups=channels), vertical, groups=channels)
    return blurred.permute(0, 2, 3, 1)


def unsharp_mask(
    frames: torch.Tensor,
    amount: float,
    kernel: float = 5,
    sigma: float = 1.0,
    threshold: float = 0.0,
    mask: torch.Tensor | None = None,
) -> torch.Tensor:
    """Deforum's anti-blur; amount 0 returns the input itself.

    mask, when given ([H, W] or [B, H, W], 1 where sharpening applies), limits the effect.
    """
    if amount == 0:
        return frames
    blurred = gaussian_blur(frames, odd_kernel_size(kernel), sigma)
    flat = (frames - blurred).abs_() < threshold / 255.0 if threshold > 0 else None
    # frames (1 + amount) - blurred amount, laid out in memory as the frames are
    sharpened = (frames * (1.0 + amount)).sub_(blurred.mul_(amount)).clamp_(0.0, 1.0)
    if flat is not None:
        sharpened = torch.where(flat, frames, sharpened, out=sharpened)
    if mask is not None:
        weight = _mask_weight(mask, frames)
        sharpened = frames + (sharpened - frames) * weight
    return sharpened


def _mask_weight(mask: torch.Tensor, frames: torch.Tensor) -> torch.Tensor:
    """A mask [H, W] or [B, H, W] as weights broadcastable over frames [B, H, W, C]."""
    if mask.shape[-2:] != frames.shape[1:3]:
        raise DeforumError(
            f"mask is {tuple(mask.shape[-2:])} but the frames are {tuple(frames.shape[1:3])}; "
            "resize the mask to the frame size"
        )
    weight = mask.to(frames.device, frames.dtype)
    return weight.reshape(-1, *frames.shape[1:3], 1) if weight.dim() == 3 else weight[..., None]
