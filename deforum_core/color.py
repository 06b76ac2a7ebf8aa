"""Colour coherence: hold each frame's colours to a reference by histogram matching.

Each channel of the frame is mapped so that its cumulative histogram follows the
reference's (the rule of skimage.exposure.match_histograms), in RGB, HSV or LAB. Unlike
Deforum, HSV and LAB matching happen on the channels they name (Deforum fed BGR frames to
RGB conversions). Everything runs in torch on the frames' device: channels are quantised
over their range (256 levels in RGB, as 8-bit images have, so results agree with skimage on
them; 4096 in HSV and LAB) and counted with one bincount, so no sort is needed.

The LAB conversions are computed here with exactly the arithmetic of kornia's rgb_to_lab and
lab_to_rgb (the same float32 operations in the same order, D65 white), so the results are
bit for bit kornia's, but with fewer passes over the frame: what depends on one channel's
level only (L's share of X, Y and Z, the a and b terms) is computed once per level in small
tables, the reference's histogram can be computed once and reused (reference_histogram), and
intermediate results are updated in place. HSV uses kornia's conversions.

Frames are [B, H, W, C] floats in 0..1 (ComfyUI's IMAGE layout).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from .errors import DeforumError

COLOR_SPACES = ("RGB", "HSV", "LAB")
LEVELS = {"RGB": 256, "HSV": 4096, "LAB": 4096}
# (low, high) of each channel in the space it is matched in
_RANGES = {
    "RGB": ((0.0, 1.0), (0.0, 1.0), (0.0, 1.0)),
    "HSV": ((0.0, 2 * torch.pi), (0.0, 1.0), (0.0, 1.0)),
    "LAB": ((0.0, 100.0), (-128.0, 127.0), (-128.0, 127.0)),
}
# CIE LAB with the D65 white, sRGB primaries (the constants of kornia.color, after OpenCV)
_RGB_TO_XYZ = (
    (0.412453, 0.357580, 0.180423),
    (0.212671, 0.715160, 0.072169),
    (0.019334, 0.119193, 0.950227),
)
_XYZ_TO_RGB = (
    (3.2404813432005266, -1.5371515162713185, -0.4985363261688878),
    (-0.9692549499965682, 1.8759900014898907, 0.0415559265582928),
    (0.0556466391351772, -0.2040413383665112, 1.0573110696453443),
)
_WHITE = (0.95047, 1.0, 1.08883)
_LAB_EPSILON = 0.008856  # XYZ/white below this uses the linear part of f
_F_EPSILON = 0.2068966  # f above this is cubed back, below it the linear part is undone
_SRGB_KNEE = 0.04045  # sRGB values at or below it are linear
_LINEAR_KNEE = 0.0031308  # the same knee in linear light
# reference (images, channels, levels) beyond which float32 row offsets would lose integers
_FLOAT_INDEX_LIMIT = 1 << 24


@dataclass(frozen=True, eq=False)
class ReferenceHistogram:
    """What matching needs of a reference image, computed once (reference_histogram) and
    reusable for every frame matched to it: per (image, channel) row, its cumulative share
    of pixels at or below each level and where its occurring levels are."""

    space: str
    dtype: torch.dtype  # the frames' dtype it was made for (the reference is cast to it)
    batch: int
    cdf: torch.Tensor  # [batch * 3, levels] float64
    last_occurring: torch.Tensor  # [batch * 3, levels]: last occurring level at or below
    first_occurring: torch.Tensor  # [batch * 3, 1]: the lowest occurring level

    def to(self, device: torch.device) -> ReferenceHistogram:
        if self.cdf.device == device:
            return self
        return ReferenceHistogram(
            self.space, self.dtype, self.batch, self.cdf.to(device),
            self.last_occurring.to(device), self.first_occurring.to(device),
        )  # fmt: skip


def match_histograms(
    frames: torch.Tensor,
    reference: torch.Tensor | ReferenceHistogram,
    space: str = "RGB",
) -> torch.Tensor:
    """Frames [B, H, W, 3] with each channel's histogram matched to the reference's.

    reference is [1 or B, H', W', 3] (its size may differ from the frames'), or its
    reference_histogram made for this space and the frames' dtype.
    """
    _check_space(space)
    if frames.shape[-1] != 3:
        raise DeforumError("colour matching needs RGB images with 3 channels")
    _check_finite(frames, "the frames")
    histogram = (
        reference
        if isinstance(reference, ReferenceHistogram)
        else reference_histogram(reference, space, frames.dtype, frames.device)
    )
    if histogram.space != space or histogram.dtype != frames.dtype:
        raise DeforumError(
            f"the reference histogram was made for {histogram.space} {histogram.dtype}, "
            f"not {space} {frames.dtype}"
        )
    if histogram.batch not in (1, frames.shape[0]):
        raise DeforumError(
            f"the reference batch ({histogram.batch}) must be 1 or match the frames "
            f"({frames.shape[0]})"
        )
    histogram = histogram.to(frames.device)
    batch, levels = frames.shape[0], LEVELS[space]
    source_index = _level_index(frames, space)
    rows = batch * 3
    source_counts = _counts(source_index, rows, levels)
    table = _transfer_table(source_counts, histogram, batch)
    low, high = _channel_bounds(space, frames.device)
    step = ((high - low) / (levels - 1)).view(1, 3, 1)
    # the matched value of every level of every row, [B, 3, levels]
    values = low.view(1, 3, 1) + table.view(batch, 3, levels) * step
    if space == "LAB":  # already clamped to 0..1
        return _lab_levels_to_rgb(values, source_index).to(frames.dtype)
    matched = _from_space(_take(values, source_index).permute(0, 2, 3, 1), space)
    return matched.clamp_(0.0, 1.0).to(frames.dtype)


def reference_histogram(
    reference: torch.Tensor,
    space: str,
    dtype: torch.dtype = torch.float32,
    device: torch.device | str | None = None,
) -> ReferenceHistogram:
    """The reference's histogram in `space`, for matching frames of `dtype` to it; counted on
    `device` (default: the reference's), the frames' device, where the conversion rounds as
    it does for the frames."""
    _check_space(space)
    if reference.shape[-1] != 3:
        raise DeforumError("colour matching needs RGB images with 3 channels")
    reference = reference.to(device or reference.device, dtype)
    _check_finite(reference, "the reference")
    batch, levels = reference.shape[0], LEVELS[space]
    index = _level_index(reference, space)
    counts = _counts(index, batch * 3, levels)
    rows = counts.shape[0]
    cdf = counts.cumsum(1) / counts.sum(1, keepdim=True)
    level = torch.arange(levels, device=counts.device).expand(rows, -1)
    occurs = counts > 0
    # index of the last occurring reference level at or below each level
    last_occurring = torch.where(occurs, level, torch.full_like(level, -1)).cummax(1).values
    first_occurring = (
        torch.where(occurs, level, torch.full_like(level, levels)).min(1, keepdim=True).values
    )
    return ReferenceHistogram(space, dtype, batch, cdf, last_occurring, first_occurring)


def _check_space(space: str) -> None:
    if space not in COLOR_SPACES:
        raise DeforumError(f"unknown colour space {space!r}; use one of {', '.join(COLOR_SPACES)}")


def _check_finite(image: torch.Tensor, name: str) -> None:
    # one quick reduction: the sum is finite when every value is (unless huge values
    # overflow it, when the values themselves are checked); half floats are summed as
    # float32, which their sum of a frame's values would overflow
    wide = image.dtype in (torch.float32, torch.float64)
    if math.isfinite(float(image.sum() if wide else image.sum(dtype=torch.float32))):
        return
    if not bool(torch.isfinite(image).all()):
        raise DeforumError(
            f"{name} hold pixel values that are not numbers (NaN or infinite)",
            parameter="color_coherence",
            hint="check the node that made them (a diffusion with a far too high cfg?)",
        )


def _channel_bounds(space: str, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    ranges = torch.tensor(_RANGES[space], dtype=torch.float32, device=device)
    return ranges[:, 0], ranges[:, 1]


def _level_index(frames: torch.Tensor, space: str) -> torch.Tensor:
    """Frames [B, H, W, 3] as the level of each channel value in `space`, quantised over the
    channel's range and offset to index a flat table of one row of levels per (image,
    channel): [B, 3, H, W] int32 (int64 for huge batches). Counting and lookup share it."""
    levels = LEVELS[space]
    if space == "LAB":  # the same float32 bounds and scales, as numbers (no device sync)
        low, high = _channel_bounds(space, torch.device("cpu"))
        scale = ((levels - 1) / (high - low)).tolist()
        scaled = _lab_scaled(frames, low.tolist(), scale)
    else:
        low, high = _channel_bounds(space, frames.device)
        scale = (levels - 1) / (high - low)
        channels = _to_space(frames, space).permute(0, 3, 1, 2)
        scaled = (channels - low.view(1, 3, 1, 1)) * scale.view(1, 3, 1, 1)
    batch = frames.shape[0]
    quantised = scaled.round_().clamp_(0, levels - 1)
    if batch * 3 * levels <= _FLOAT_INDEX_LIMIT:  # the offsets added while still floats
        offsets = _row_offsets(batch, levels, frames.device, torch.float32)
        return quantised.add_(offsets).to(torch.int32)
    return quantised.long() + _row_offsets(batch, levels, frames.device, torch.long)


def _row_offsets(batch: int, levels: int, device: torch.device, dtype: torch.dtype):
    """Start of each (image, channel) row in a flat table of `levels` entries a row."""
    return (torch.arange(batch * 3, device=device, dtype=dtype) * levels).view(batch, 3, 1, 1)


def _counts(index: torch.Tensor, rows: int, levels: int) -> torch.Tensor:
    counts = torch.bincount(index.reshape(-1), minlength=rows * levels)
    return counts.view(rows, levels).to(torch.float64)


def _take(
    table: torch.Tensor, index: torch.Tensor, out: torch.Tensor | None = None
) -> torch.Tensor:
    """table.reshape(-1)[index], laid out in memory as index is (as indexing lays it out),
    into out when given; through index_select, the quickest gather on the CPU."""
    flat = table.reshape(-1)
    if out is None:
        out = torch.empty_like(index, dtype=table.dtype)
    order = _memory_order(index)
    if order is not None and order == _memory_order(out):
        torch.index_select(flat, 0, index.permute(order).view(-1),
                           out=out.permute(order).view(-1))  # fmt: skip
        return out
    return out.copy_(flat.index_select(0, index.reshape(-1)).view(index.shape))


def _memory_order(tensor: torch.Tensor) -> list[int] | None:
    """The permutation of dimensions that makes a dense tensor contiguous, else None."""
    order = sorted(range(tensor.dim()), key=lambda dim: -tensor.stride(dim))
    permuted = tensor.permute(order)
    return order if permuted.is_contiguous() else None


def _transfer_table(
    source_counts: torch.Tensor, reference: ReferenceHistogram, batch: int
) -> torch.Tensor:
    """For every source level, the reference level with the same cumulative share, [rows, L].

    Each source level's quantile (share of pixels at or below it) is looked up in the
    reference's cumulative histogram and interpolated linearly between the neighbouring
    reference levels that occur, as np.interp over the occurring levels does.
    """
    levels = source_counts.shape[1]
    reference_cdf = reference.cdf
    last_occurring = reference.last_occurring
    first_occurring = reference.first_occurring
    if batch > reference.batch:  # one reference for every frame
        reference_cdf = reference_cdf.repeat(batch, 1)
        last_occurring = last_occurring.repeat(batch, 1)
        first_occurring = first_occurring.repeat(batch, 1)
    source_cdf = source_counts.cumsum(1).div_(source_counts.sum(1, keepdim=True))
    upper = torch.searchsorted(reference_cdf, source_cdf).clamp_(max=levels - 1)
    below = (upper - 1).clamp_(min=0)
    lower = last_occurring.gather(1, below)
    lower_cdf = reference_cdf.gather(1, below)
    upper_cdf = reference_cdf.gather(1, upper)
    span = (upper_cdf - lower_cdf).clamp_(min=1e-12)
    weight = source_cdf.sub_(lower_cdf).div_(span).clamp_(0.0, 1.0)
    mapped = weight.mul_(upper - lower).add_(lower)  # lower + weight (upper - lower)
    return torch.where(upper <= first_occurring, first_occurring.double(), mapped).float()


def _constant(values, device: torch.device) -> torch.Tensor:
    return torch.tensor(values, dtype=torch.float32, device=device)


def _mix(matrix, image: torch.Tensor) -> torch.Tensor:
    """A 3x3 colour matrix applied to images [B, 3, H, W], as kornia applies it: an einsum on
    the CPU (which multiplies a contiguous image as one matrix product), a 1x1 convolution
    elsewhere, so that the sums round alike."""
    kernel = _constant(matrix, image.device)
    if image.device.type == "cpu":
        return torch.einsum("oi, ...ihw -> ...ohw", kernel, image).contiguous()
    return F.conv2d(image, kernel.view(3, 3, 1, 1))


def _lab_scaled(frames: torch.Tensor, low: list[float], scale: list[float]) -> torch.Tensor:
    """Frames [B, H, W, 3] as LAB, each channel shifted by -low and multiplied by scale:
    [B, 3, H, W] float32, the levels before rounding.

    The arithmetic is kornia's rgb_to_lab, operation for operation (sRGB to linear, to XYZ,
    divided by the white, f, then L = 116 fy - 16, a = 500 (fx - fy), b = 200 (fy - fz)),
    done in two reused buffers.
    """
    image = frames.float().permute(0, 3, 1, 2)
    if image.device.type == "cpu":  # one matrix product below, whatever the frames' layout
        image = image.contiguous()
    # sRGB to linear light: ((v + 0.055) / 1.055) ** 2.4 above the knee, v / 12.92 below
    curve = image + 0.055
    curve.clamp_(min=0.0).div_(1.055).pow_(2.4)
    above = image > _SRGB_KNEE
    spare = torch.div(image, 12.92)
    linear = torch.where(above, curve, spare, out=curve)
    xyz = _mix(_RGB_TO_XYZ, linear)
    xyz[:, 0::2].div_(_constant((_WHITE[0], _WHITE[2]), xyz.device).view(2, 1, 1))  # Y / 1
    # f: the cube root above epsilon, 7.787 t + 4 / 29 below (kornia clamps what it takes
    # the root of at epsilon, which changes no root that is kept)
    power = torch.pow(xyz, 1 / 3.0, out=spare)
    torch.gt(xyz, _LAB_EPSILON, out=above)
    f = torch.where(above, power, xyz.mul_(7.787).add_(4.0 / 29.0), out=xyz)
    fx, fy, fz = f.unbind(1)
    scaled = curve  # free again
    light, green_red, blue_yellow = scaled.unbind(1)
    torch.mul(fy, 116.0, out=light).sub_(16.0).mul_(scale[0])  # low[0] is 0
    torch.sub(fx, fy, out=green_red).mul_(500.0).sub_(low[1]).mul_(scale[1])
    torch.sub(fy, fz, out=blue_yellow).mul_(200.0).sub_(low[2]).mul_(scale[2])
    return scaled


def _f_inverse(f: torch.Tensor, out: torch.Tensor) -> torch.Tensor:
    """The inverse of LAB's f, as kornia's lab_to_rgb computes it, into out: f cubed above
    its knee, (f - 4 / 29) / 7.787 below. f is used up."""
    above = f > _F_EPSILON
    cube = f * f
    cube.mul_(f)  # what torch.pow(f, 3.0) computes
    linear = f.sub_(4.0 / 29.0).div_(7.787)
    return torch.where(above, cube, linear, out=out)


def _lab_levels_to_rgb(values: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
    """RGB [B, H, W, 3] of the LAB values [B, 3, levels] picked by index (_level_index),
    computed as kornia's lab_to_rgb (clipped to 0..1) computes them.

    fy = (L + 16) / 116 and Y depend on L's level only, a / 500 and b / 200 on a's and b's,
    so they are computed once per level and looked up; only fx = a / 500 + fy and
    fz = fy - b / 200 and what follows them are computed per pixel.
    """
    light, green_red, blue_yellow = values.unbind(1)
    fy = (light + 16.0) / 116.0
    per_level = torch.stack([fy, green_red / 500.0, blue_yellow / 200.0], dim=1)
    luminance = torch.zeros_like(per_level)  # Y of each L level (the white's Y is 1)
    _f_inverse(fy.clone(), out=luminance[:, 0])
    gathered = _take(per_level, index)
    fy_pixels, fxz = gathered[:, 0], gathered[:, 1:]
    fxz[:, 0].add_(fy_pixels)  # fx = a / 500 + fy
    torch.sub(fy_pixels, fxz[:, 1], out=fxz[:, 1]).clamp_(min=0.0)  # fz = fy - b / 200
    xyz = torch.empty_like(gathered)
    white_xz = _constant((_WHITE[0], _WHITE[2]), xyz.device).view(1, 2, 1, 1)
    _f_inverse(fxz, out=xyz[:, 0::2]).mul_(white_xz)
    _take(luminance, index[:, 0], out=xyz[:, 1])
    rgb = _mix(_XYZ_TO_RGB, xyz)
    # linear light to sRGB: 1.055 v ** (1 / 2.4) - 0.055 above the knee, 12.92 v below
    # (kornia clamps what it raises at the knee, which changes no power that is kept)
    above = rgb > _LINEAR_KNEE
    curve = torch.pow(rgb, 1 / 2.4, out=gathered).mul_(1.055).sub_(0.055)
    srgb = torch.where(above, curve, rgb.mul_(12.92), out=curve)
    return srgb.clamp_(0.0, 1.0).permute(0, 2, 3, 1)


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
