"""The fast colour matching equals the straightforward one bit for bit, and its cache.

The reference path below is the matching as first written: kornia's rgb_to_lab / rgb_to_hsv
on the whole frame and the reference, one bincount, np.interp-like transfer, one lookup per
pixel, kornia's lab_to_rgb / hsv_to_rgb. The engine's path (own LAB arithmetic with per-level
tables, in-place passes, the reference's histogram counted once) must give the very same
floats, laid out in memory the same way, on frames of odd sizes, batches and layouts, values
outside 0..1 and dark frames (where LAB's linear segments apply).
"""

import kornia.color
import pytest
import torch

from deforum_core.color import (
    _RANGES,
    LEVELS,
    match_histograms,
    reference_histogram,
)
from deforum_core.errors import DeforumError
from deforum_core.stages import ColorCoherenceStage, FrameContext, RenderInfo


def reference_path(frames: torch.Tensor, reference: torch.Tensor, space: str) -> torch.Tensor:
    reference = reference.to(frames.device, frames.dtype).expand(frames.shape[0], -1, -1, -1)
    levels = LEVELS[space]
    ranges = torch.tensor(_RANGES[space], dtype=torch.float32)
    low, high = ranges[:, 0], ranges[:, 1]
    batch = frames.shape[0]
    offsets = (torch.arange(batch * 3) * levels).view(batch, 1, 1, 3)

    def to_space(images):
        if space == "RGB":
            return images.float()
        convert = kornia.color.rgb_to_hsv if space == "HSV" else kornia.color.rgb_to_lab
        return convert(images.float().permute(0, 3, 1, 2)).permute(0, 2, 3, 1)

    def index(images):
        scale = ((levels - 1) / (high - low)).view(1, 1, 1, 3)
        quantised = ((to_space(images) - low.view(1, 1, 1, 3)) * scale).round_()
        return quantised.clamp_(0, levels - 1).long() + offsets

    def counts(indices):
        return torch.bincount(indices.reshape(-1), minlength=batch * 3 * levels).view(
            batch * 3, levels
        ).double()  # fmt: skip

    source, target = index(frames), index(reference)
    source_counts, reference_counts = counts(source), counts(target)
    source_cdf = source_counts.cumsum(1) / source_counts.sum(1, keepdim=True)
    reference_cdf = reference_counts.cumsum(1) / reference_counts.sum(1, keepdim=True)
    level = torch.arange(levels).expand(batch * 3, -1)
    occurs = reference_counts > 0
    last = torch.where(occurs, level, torch.full_like(level, -1)).cummax(1).values
    first = torch.where(occurs, level, torch.full_like(level, levels)).min(1, keepdim=True).values
    upper = torch.searchsorted(reference_cdf, source_cdf).clamp_(max=levels - 1)
    below = (upper - 1).clamp(min=0)
    lower_cdf, upper_cdf = reference_cdf.gather(1, below), reference_cdf.gather(1, upper)
    weight = ((source_cdf - lower_cdf) / (upper_cdf - lower_cdf).clamp(min=1e-12)).clamp(0, 1)
    mapped = last.gather(1, below) + weight * (upper - last.gather(1, below))
    table = torch.where(upper <= first, first.double(), mapped).float()
    matched = table.view(-1)[source]
    values = low.view(1, 1, 1, 3) + matched * ((high - low) / (levels - 1)).view(1, 1, 1, 3)
    if space != "RGB":
        convert = kornia.color.hsv_to_rgb if space == "HSV" else kornia.color.lab_to_rgb
        values = convert(values.permute(0, 3, 1, 2)).permute(0, 2, 3, 1)
    return values.clamp_(0.0, 1.0).to(frames.dtype)


def random_frames(seed: int, batch: int, height: int, width: int, kind: str) -> torch.Tensor:
    """Random frames: 8-bit levels, per-pixel noise or smooth, wide (beyond 0..1) or dark."""
    generator = torch.Generator().manual_seed(seed)
    if kind == "smooth":
        coarse = torch.rand(batch, 3, height // 4 + 1, width // 4 + 1, generator=generator)
        size = (height, width)
        frames = torch.nn.functional.interpolate(coarse, size, mode="bicubic").permute(0, 2, 3, 1)
    else:
        frames = torch.rand(batch, height, width, 3, generator=generator)
    frames = (frames.clamp(0, 1) * 255).round() / 255
    if kind == "wide":
        return frames * 1.4 - 0.2  # as unclamped decoded frames can be
    return frames * 0.05 if kind == "dark" else frames


CASES = [
    (1, 37, 53, "noise"),
    (1, 61, 29, "smooth"),
    (2, 23, 41, "noise"),
    (1, 33, 47, "wide"),
    (1, 45, 31, "dark"),
    (3, 17, 19, "smooth"),
]


@pytest.mark.parametrize("space", ["LAB", "RGB", "HSV"])
@pytest.mark.parametrize(("batch", "height", "width", "kind"), CASES)
@pytest.mark.parametrize("channels_first_memory", [False, True])
def test_fast_path_equals_the_reference_path_bit_for_bit(
    space, batch, height, width, kind, channels_first_memory
):
    frames = random_frames(height * width, batch, height, width, kind)
    if kind != "wide":  # a warped frame is not on 8-bit levels
        frames = (frames + torch.rand(frames.shape) / 255).clamp(0, 1)
    if channels_first_memory:  # as the warp leaves its frames
        frames = frames.permute(0, 3, 1, 2).contiguous().permute(0, 2, 3, 1)
    reference = random_frames(7, 1 if batch != 2 else 2, height + 4, width - 3, "smooth")
    expected = reference_path(frames, reference, space)
    got = match_histograms(frames, reference, space)
    assert torch.equal(got, expected)
    assert got.stride() == expected.stride()  # what follows (the anti-blur) sees one layout
    histogram = reference_histogram(reference, space)
    assert torch.equal(match_histograms(frames, histogram, space), expected)


def test_half_precision_frames_match_as_before():
    frames = random_frames(3, 1, 29, 35, "smooth").half()
    reference = random_frames(4, 1, 31, 33, "noise")
    expected = reference_path(frames, reference, "LAB")
    assert torch.equal(match_histograms(frames, reference, "LAB"), expected)
    histogram = reference_histogram(reference, "LAB", torch.float16)
    assert torch.equal(match_histograms(frames, histogram, "LAB"), expected)


def test_a_histogram_must_fit_the_space_dtype_and_batch():
    frames = random_frames(1, 2, 16, 16, "noise")
    reference = random_frames(2, 1, 16, 16, "noise")
    with pytest.raises(DeforumError, match="made for RGB"):
        match_histograms(frames, reference_histogram(reference, "RGB"), "LAB")
    with pytest.raises(DeforumError, match=r"made for LAB torch\.float16"):
        match_histograms(frames, reference_histogram(reference, "LAB", torch.float16), "LAB")
    three = reference_histogram(torch.cat([reference] * 3), "LAB")
    with pytest.raises(DeforumError, match="reference batch"):
        match_histograms(frames, three, "LAB")


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), float("-inf")])
def test_frames_and_references_that_are_not_numbers_are_named(bad):
    frames = random_frames(1, 1, 12, 12, "noise")
    broken = frames.clone()
    broken[0, 3, 4, 1] = bad
    with pytest.raises(DeforumError, match="the frames hold pixel values that are not numbers"):
        match_histograms(broken, frames, "LAB")
    with pytest.raises(DeforumError, match="the reference hold pixel values that are not"):
        match_histograms(frames, broken, "LAB")


def bound_lab():
    return ColorCoherenceStage("LAB").bind(RenderInfo(10, 24, 20))


def test_the_stage_counts_a_reference_once_and_anew_when_it_changes():
    stage = bound_lab()
    frames = random_frames(5, 1, 20, 24, "smooth")
    first = random_frames(6, 1, 20, 24, "noise")
    matched = stage.apply(frames, FrameContext(1, reference=first))
    histogram = stage._reference[2]
    assert torch.equal(matched, match_histograms(frames, first, "LAB"))
    stage.apply(frames, FrameContext(2, reference=first))
    assert stage._reference[2] is histogram  # the same reference: counted once
    second = random_frames(7, 1, 20, 24, "smooth")  # a refreshed reference
    assert torch.equal(
        stage.apply(frames, FrameContext(3, reference=second)),
        match_histograms(frames, second, "LAB"),
    )
    assert stage._reference[2] is not histogram
    second.mul_(0.5)  # changed in place: its version counter moves on
    assert torch.equal(
        stage.apply(frames, FrameContext(4, reference=second)),
        match_histograms(frames, second, "LAB"),
    )


def test_the_cache_notices_an_inference_tensor_changed_in_place():
    stage = bound_lab()
    with torch.inference_mode():  # as ComfyUI runs nodes: no version counters
        frames = random_frames(8, 1, 20, 24, "smooth")
        reference = random_frames(9, 1, 20, 24, "noise")
        stage.apply(frames, FrameContext(1, reference=reference))
        reference[0, :10] = 0.25
        assert torch.equal(
            stage.apply(frames, FrameContext(2, reference=reference)),
            match_histograms(frames, reference, "LAB"),
        )


def test_the_cache_follows_the_frames_dtype():
    stage = bound_lab()
    reference = random_frames(10, 1, 20, 24, "noise")
    frames = random_frames(11, 1, 20, 24, "smooth")
    stage.apply(frames, FrameContext(1, reference=reference))
    half = stage.apply(frames.half(), FrameContext(2, reference=reference))
    assert half.dtype == torch.float16
    assert torch.equal(half, match_histograms(frames.half(), reference, "LAB"))
