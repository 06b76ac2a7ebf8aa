"""Colour coherence: hold each frame's colours to a reference by histogram matching.

Each channel of the frame is mapped so that its cumulative histogram follows the
reference's (the rule of skimage.exposure.match_histograms), in RGB, HSV or LAB. Unlike
Deforum, HSV and LAB matching happen on the channels they name (Deforum fed BGR frames to
RGB conversions). Everything runs in torch on the frames' device: channels are quantised
over their range (256 levels in RGB, as 8-bit images have, so results agree with skimage on
them; 4096 in HSV and LAB) and counted with one bincount, so no sort is needed.

Frames are [B, H, W, C] floats in 0..1 (ComfyUI's IMAGE layout).
"""

from __future__ import annotations

import torch

from .errors import DeforumError

COLOR_SPACES = ("RGB", "HSV", "LAB")
LEVELS = {"RGB": 256, "HSV": 4096, "LAB": 4096}
# (low, high) of each channel in the space it is matched in
_RANGES = {
    "RGB": ((0.0, 1.0), (0.0, 1.0), (0.0, 1.0)),
    "HSV": ((0.0, 2 * torch.pi), (0.0, 1.0), (0.0, 1.0)),
    "LAB": ((0.0, 100.0), (-128.0, 127.0), (-128.0, 127.0)),
}


def match_histograms(
    frames: torch.Tensor, reference: torch.Tensor, space: str = "RGB"
) -> torch.Tensor:
    """Frames [B, H, W, 3] with each channel's histogram matched to the reference's.

    reference is [1 or B, H', W', 3]; its size may differ from the frames'.
    """
    if space not in COLOR_SPACES:
        raise DeforumError(f"unknown colour space {space!r}; use one of {', '.join(COLOR_SPACES)}")
    if frames.shape[-1] != 3 or reference.shape[-1] != 3:
        raise DeforumError("colour matching needs RGB images with 3 channels")
    if reference.shape[0] not in (1, frames.shape[0]):
        raise DeforumError(
            f"the reference batch ({reference.shape[0]}) must be 1 or match the frames "
            f"({frames.shape[0]})"
        )
    for name, image in (("the frames", frames), ("the reference", reference)):
        if not torch.isfinite(image).all():
            raise DeforumError(
                f"{name} hold pixel values that are not numbers (NaN or infinite)",
                parameter="color_coherence",
                hint="check the node that made them (a diffusion with a far too high cfg?)",
            )
    reference = reference.to(frames.device, frames.dtype).expand(frames.shape[0], -1, -1, -1)
    levels = LEVELS[space]
    low, high = _channel_bounds(space, frames.device)
    source_index = _level_index(_to_space(frames, space), low, high, levels)
    reference_index = _level_index(_to_space(reference, space), low, high, levels)
    rows = frames.shape[0] * 3
    table = _transfer_table(
        _counts(source_index, rows, levels), _counts(reference_index, rows, levels)
    )
    matched = table.view(-1)[source_index]  # the matched level of every source value
    values = low.view(1, 1, 1, 3) + matched * ((high - low) / (levels - 1)).view(1, 1, 1, 3)
    return _from_space(values, space).clamp_(0.0, 1.0).to(frames.dtype)


def _channel_bounds(space: str, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    ranges = torch.tensor(_RANGES[space], dtype=torch.float32, device=device)
    return ranges[:, 0], ranges[:, 1]


def _row_offsets(batch: int, levels: int, device: torch.device) -> torch.Tensor:
    """Start of each (image, channel) row in a flat table of `levels` entries a row."""
    return (torch.arange(batch * 3, device=device) * levels).view(batch, 1, 1, 3)


def _level_index(
    channels: torch.Tensor, low: torch.Tensor, high: torch.Tensor, levels: int
) -> torch.Tensor:
    """Channels [B, H, W, 3] quantised over their range, as indices into a flat table of one
    row of `levels` entries per (image, channel): counting and lookup share this index."""
    scale = ((levels - 1) / (high - low)).view(1, 1, 1, 3)
    quantised = ((channels - low.view(1, 1, 1, 3)) * scale).round_().clamp_(0, levels - 1)
    return quantised.long() + _row_offsets(channels.shape[0], levels, channels.device)


def _counts(index: torch.Tensor, rows: int, levels: int) -> torch.Tensor:
    counts = torch.bincount(index.reshape(-1), minlength=rows * levels)
    return counts.view(rows, levels).to(torch.float64)


def _transfer_table(source_counts: torch.Tensor, reference_counts: torch.Tensor) -> torch.Tensor:
    """For every source level, the reference level with the same cumulative share, [rows, L].

    Each source level's quantile (share of pixels at or below it) is looked up in the
    reference's cumulative histogram and interpolated linearly between the neighbouring
    reference levels that occur, as np.interp over the occurring levels does.
    """
    rows, levels = source_counts.shape
    source_cdf = source_counts.cumsum(1) / source_counts.sum(1, keepdim=True)
    reference_cdf = reference_counts.cumsum(1) / reference_counts.sum(1, keepdim=True)
    level = torch.arange(levels, device=source_counts.device).expand(rows, -1)
    occurs = reference_counts > 0
    # index of the last occurring reference level at or below each level
    last_occurring = torch.where(occurs, level, torch.full_like(level, -1)).cummax(1).values
    first_occurring = (
        torch.where(occurs, level, torch.full_like(level, levels)).min(1, keepdim=True).values
    )
    upper = torch.searchsorted(reference_cdf.contiguous(), source_cdf.contiguous())
    upper = upper.clamp_(max=levels - 1)
    below = (upper - 1).clamp(min=0)
    lower = last_occurring.gather(1, below)
    lower_cdf = reference_cdf.gather(1, below)
    upper_cdf = reference_cdf.gather(1, upper)
    span = (upper_cdf - lower_cdf).clamp(min=1e-12)
    weight = ((source_cdf - lower_cdf) / span).clamp(0.0, 1.0)
    mapped = lower + weight * (upper - lower)
    return torch.where(upper <= first_occurring, first_occurring.double(), mapped).float()


def _to_space(frames: torch.Tensor, space: str) -> torch.Tensor:
    """Frames [B, H, W, 3] in the given space, still channel-last."""
    if space == "RGB":
        return frames.float()
    import kornia.color  # imported on first use: kornia is heavy for the pack's import

    convert = kornia.color.rgb_to_hsv if space == "HSV" else kornia.color.rgb_to_lab
    return convert(frames.float().permute(0, 3, 1, 2)).permute(0, 2, 3, 1)


def _from_space(channels: torch.Tensor, space: str) -> torch.Tensor:
    if space == "RGB":
        return channels
    import kornia.color

    convert = kornia.color.hsv_to_rgb if space == "HSV" else kornia.color.lab_to_rgb
    return convert(channels.permute(0, 3, 1, 2)).permute(0, 2, 3, 1)


def to_grayscale(frames: torch.Tensor) -> torch.Tensor:
    """Frames [B, H, W, 3] as grey (ITU-R BT.601 luma, as OpenCV) in all three channels."""
    weights = torch.tensor([0.299, 0.587, 0.114], dtype=frames.dtype, device=frames.device)
    return (frames @ weights).unsqueeze(-1).expand_as(frames).contiguous()
