"""Colour coherence: histogram matching in RGB, HSV and LAB, checked against skimage."""

import numpy as np
import pytest
import torch
from skimage.exposure import match_histograms as skimage_match_histograms

from deforum_core.color import _RANGES, LEVELS, _to_space, match_histograms, to_grayscale
from deforum_core.errors import ScheduleError
from deforum_core.stages import ColorCoherenceStage, FrameContext, RenderInfo


def uint8_image(seed: int, height: int, width: int, low: int = 0, high: int = 256) -> torch.Tensor:
    """A smooth random image whose values are whole multiples of 1/255, [1, H, W, 3]."""
    generator = torch.Generator().manual_seed(seed)
    coarse = torch.rand(1, 3, height // 8, width // 8, generator=generator)
    smooth = torch.nn.functional.interpolate(coarse, (height, width), mode="bilinear")
    levels = (low + smooth * (high - 1 - low)).round()
    return (levels / 255).permute(0, 2, 3, 1).contiguous()


def test_rgb_agrees_with_skimage_within_one_level():
    source = uint8_image(0, 96, 64)
    reference = uint8_image(1, 64, 80, low=40, high=220)
    ours = match_histograms(source, reference, "RGB")[0].numpy() * 255
    theirs = skimage_match_histograms(
        (source[0].numpy() * 255).round().astype(np.uint8),
        (reference[0].numpy() * 255).round().astype(np.uint8),
        channel_axis=-1,
    ).astype(np.float64)
    assert np.abs(ours - theirs).max() <= 1.0


def noise_image(seed: int, size: int, power: float, low: float, high: float) -> torch.Tensor:
    """Per-pixel random colours, skewed by power and spread over low..high, in 1/255 steps."""
    generator = torch.Generator().manual_seed(seed)
    values = low + torch.rand(1, size, size, 3, generator=generator) ** power * (high - low)
    return (values * 255).round() / 255


def cumulative_histograms(image: torch.Tensor, space: str) -> torch.Tensor:
    """Per-channel cumulative share of pixels at or below each level of the space, [3, L]."""
    low, high = torch.tensor(_RANGES[space]).T
    scaled = (_to_space(image, space)[0] - low) / (high - low) * (LEVELS[space] - 1)
    levels = scaled.round().clamp(0, LEVELS[space] - 1).long().reshape(-1, 3).T
    counts = torch.stack([torch.bincount(row, minlength=LEVELS[space]) for row in levels])
    return counts.cumsum(1).double() / levels.shape[1]


@pytest.mark.parametrize("space", ["RGB", "HSV", "LAB"])
def test_matched_output_has_the_references_histogram_within_a_bin(space):
    source = noise_image(2, 96, power=1.0, low=0.05, high=0.7)
    reference = noise_image(3, 80, power=1.6, low=0.25, high=0.95)
    matched = match_histograms(source, reference, space)
    got, wanted = cumulative_histograms(matched, space), cumulative_histograms(reference, space)
    source_cdf = cumulative_histograms(source, space)
    # matching cannot split one source level, so allow the largest single-level share
    spike = torch.diff(source_cdf, dim=1, prepend=torch.zeros(3, 1)).max()
    below = torch.nn.functional.pad(wanted[:, :-1], (1, 0))  # one bin lower
    above = torch.nn.functional.pad(wanted[:, 1:], (0, 1), value=1.0)  # one bin higher
    assert torch.all(got >= below - spike - 1e-9), (below - got).max()
    assert torch.all(got <= above + spike + 1e-9), (got - above).max()
    assert (source_cdf - wanted).abs().max() > 0.2  # there was something to correct


@pytest.mark.parametrize(("space", "tolerance"), [("RGB", 1e-4), ("HSV", 0.5), ("LAB", 1.5)])
def test_matching_a_frame_to_itself_changes_nothing_beyond_rounding(space, tolerance):
    frame = uint8_image(4, 48, 48)
    error = (match_histograms(frame, frame, space) - frame).abs() * 255
    assert error.max() <= tolerance  # LAB is steep near black: its levels show most there
    assert error.mean() <= 0.05


def test_batches_use_one_reference_or_one_each():
    frames = torch.cat([uint8_image(5, 32, 32), uint8_image(6, 32, 32)])
    reference = uint8_image(7, 32, 32, low=100)
    both = match_histograms(frames, reference, "RGB")
    one = match_histograms(frames[1:], reference, "RGB")
    assert torch.equal(both[1:], one)
    pairwise = match_histograms(frames, torch.cat([reference, frames[0:1]]), "RGB")
    assert torch.equal(pairwise[1:], match_histograms(frames[1:], frames[0:1], "RGB"))
    with pytest.raises(ValueError, match="reference batch"):
        match_histograms(frames, torch.cat([reference] * 3), "RGB")


def test_grayscale_uses_luma_in_every_channel():
    frame = torch.tensor([[[[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]]])
    grey = to_grayscale(frame)
    assert grey[0, 0, 0].tolist() == pytest.approx([0.299] * 3)
    assert grey[0, 0, 1].tolist() == pytest.approx([0.587] * 3)


def bound(stage: ColorCoherenceStage):
    return stage.bind(RenderInfo(25, 32, 32))


def test_coherence_stage_reference_refresh_and_modes():
    stage = bound(ColorCoherenceStage("LAB", refresh_every=10))
    assert [t for t in range(25) if stage.refreshes_reference(t)] == [0, 10, 20]
    rgb = bound(ColorCoherenceStage("RGB"))
    assert [t for t in range(25) if rgb.refreshes_reference(t)] == [0]
    frame, reference = uint8_image(8, 32, 32), uint8_image(9, 32, 32, low=120)
    at_0 = FrameContext(0, reference=reference)
    assert torch.equal(bound(ColorCoherenceStage("None")).apply(frame, at_0), frame)
    assert torch.equal(rgb.apply(frame, FrameContext(0)), frame)  # no reference yet
    image_stage = bound(ColorCoherenceStage("Image", image=reference))
    assert not image_stage.refreshes_reference(0)
    assert torch.allclose(
        image_stage.apply(frame, FrameContext(0)), match_histograms(frame, reference, "LAB"), atol=0
    )
    grey = bound(ColorCoherenceStage("None", force_grayscale=True)).apply(frame, FrameContext(0))
    assert torch.equal(grey[..., 0], grey[..., 2])


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"color_coherence": "YUV"}, "unknown color_coherence 'YUV'"),
        ({"color_coherence": "Image"}, "needs an image"),
        ({"color_coherence": "LAB", "refresh_every": -1}, "refresh_every: -1 is outside 0..100000"),
    ],
)
def test_coherence_stage_errors(arguments, message):
    with pytest.raises(ScheduleError, match=message):
        ColorCoherenceStage(**arguments)
