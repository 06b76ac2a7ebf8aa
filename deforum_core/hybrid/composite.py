"""Hybrid video compositing: a frame blended with the video's frame, through a mask.

sd-webui-deforum's hybrid_composite (hybrid_video.py) in torch, on the frames' device:

    mask  = made by the mask type from the frame and the video frame (None: no mask)
    mask  = inverted, equalised before, contrast, auto-contrast, equalised after (as asked)
    comp  = frame where the mask is white, the video where it is black (PIL's composite)
    out   = frame·(1 - alpha) + comp·alpha    (without a mask, comp is the video frame)

The mask types: Depth (the frame's own depth), Video Depth (the video frame's depth), Blend
(the two frames' greys mixed by mask_blend_alpha) and Difference (the absolute difference of
their greys). Deforum works on 8-bit PIL images; here everything is float in 0..1, and only
histogram equalisation steps through 8-bit levels, as its definition needs. Where Deforum's
auto-contrast divides by zero (a flat mask), the mask is left as it is.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from ..errors import DeforumError

MASK_TYPES = ("None", "Depth", "Video Depth", "Blend", "Difference")
EQUALIZE = ("None", "Before", "After", "Both")
_LUMA = (0.299, 0.587, 0.114)  # ITU-R 601-2, PIL's RGB to L


@dataclass(frozen=True)
class MaskOptions:
    """How a composite mask is made and shaped (sd-webui-deforum's hybrid_comp_mask_*)."""

    kind: str = "None"
    inverse: bool = False
    equalize: str = "None"
    auto_contrast: bool = False
    blend_alpha: float = 0.5  # Blend: the video grey's share
    contrast: float = 1.0
    cutoff_low: float = 0.0  # auto-contrast: percentiles, 0..100
    cutoff_high: float = 100.0


def grey(frames: torch.Tensor) -> torch.Tensor:
    """Frames [B, H, W, 3] as grey levels [B, H, W]."""
    weights = torch.tensor(_LUMA, dtype=frames.dtype, device=frames.device)
    return frames[..., :3] @ weights


def normalized(depth: torch.Tensor) -> torch.Tensor:
    """Depth [B, H, W] scaled to 0..1 per map (far bright), as Deforum saves depth maps."""
    flat = depth.flatten(1)
    low, high = flat.min(dim=1).values, flat.max(dim=1).values
    span = (high - low).clamp_min(torch.finfo(depth.dtype).eps)
    return (depth - low[:, None, None]) / span[:, None, None]


def equalize(mask: torch.Tensor) -> torch.Tensor:
    """Histogram equalisation of each mask [B, H, W] on its 8-bit levels (PIL's
    ImageOps.equalize: a step of (count - last level's count) / 255 per output level)."""
    levels = (mask * 255.0).round().clamp(0, 255).long()
    out = []
    for single in levels:
        counts = torch.bincount(single.flatten(), minlength=256)
        used = counts[counts > 0]
        step = int(used.sum() - used[-1]) // 255 if used.numel() > 1 else 0
        if step == 0:
            out.append(single.to(mask.dtype) / 255.0)
            continue
        before = torch.cumsum(counts, 0) - counts  # pixels below each level
        lut = ((before + step // 2) // step).clamp(max=255)
        out.append(lut[single].to(mask.dtype) / 255.0)
    return torch.stack(out)


def contrast(mask: torch.Tensor, factor: float) -> torch.Tensor:
    """PIL's ImageEnhance.Contrast: each mask pushed away from its mean level by factor."""
    mean = ((mask.flatten(1).mean(dim=1) * 255.0 + 0.5).floor() / 255.0)[:, None, None]
    return (mean + factor * (mask - mean)).clamp(0.0, 1.0)


def auto_contrast(mask: torch.Tensor, low: float, high: float) -> torch.Tensor:
    """Each mask stretched so its `low` and `high` percentiles become black and white."""
    quantiles = torch.tensor([low / 100.0, high / 100.0], dtype=mask.dtype, device=mask.device)
    out = []
    for single in mask:
        bottom, top = torch.quantile(single.flatten(), quantiles)
        if top <= bottom:
            out.append(single)  # a flat mask: Deforum divides by zero here
        else:
            out.append(((single - bottom) / (top - bottom)).clamp(0.0, 1.0))
    return torch.stack(out)


def make_mask(
    options: MaskOptions,
    frames: torch.Tensor,
    video: torch.Tensor,
    depth: torch.Tensor | None = None,
) -> torch.Tensor | None:
    """The composite mask [B, H, W] (white keeps the frame), None for mask type None.
    `depth`: for Depth the frame's depth, for Video Depth the video frame's, [B, H, W]."""
    if options.kind == "None":
        return None
    if options.kind in ("Depth", "Video Depth"):
        if depth is None:
            raise DeforumError(
                f"mask type {options.kind} needs a depth model",
                parameter="comp_mask_type",
                hint="connect a Deforum Depth Model to the hybrid video node, or pick Blend",
            )
        mask = normalized(depth.to(frames.dtype))
    elif options.kind == "Blend":
        mask = torch.lerp(grey(frames), grey(video), options.blend_alpha)
    else:  # Difference
        mask = (grey(frames) - grey(video)).abs()
    if options.inverse:
        mask = 1.0 - mask
    if options.equalize in ("Before", "Both"):
        mask = equalize(mask)
    mask = contrast(mask, options.contrast)
    if options.auto_contrast:
        mask = auto_contrast(mask, options.cutoff_low, options.cutoff_high)
    if options.equalize in ("After", "Both"):
        mask = equalize(mask)
    return mask


def composite(
    frames: torch.Tensor, video: torch.Tensor, mask: torch.Tensor | None, alpha: float
) -> torch.Tensor:
    """frames·(1 - alpha) + comp·alpha, comp being the frames where the mask is white and the
    video where it is black (the video itself without a mask)."""
    comp = video if mask is None else torch.lerp(video, frames, mask[..., None].to(frames.dtype))
    return torch.lerp(frames, comp, alpha)
