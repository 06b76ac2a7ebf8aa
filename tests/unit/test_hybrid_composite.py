"""Hybrid compositing: every mask type gives, pixel for pixel, the blend its definition says,
and the mask shaping matches the PIL operations sd-webui-deforum uses."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image, ImageEnhance, ImageOps

from deforum_core.errors import DeforumError
from deforum_core.hybrid.composite import (
    MaskOptions,
    auto_contrast,
    composite,
    contrast,
    equalize,
    grey,
    make_mask,
    normalized,
)
from deforum_core.render.rundir import quantize


def pictures(seed: int, count: int = 2, size: tuple[int, int] = (24, 32)) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    return quantize(torch.rand(count, *size, 3, generator=generator))


FRAME, VIDEO = pictures(1), pictures(2)
DEPTH = 1.0 + torch.rand(2, 24, 32, generator=torch.Generator().manual_seed(3))  # z in 1..2


def by_definition(mask: torch.Tensor | None, alpha: float) -> torch.Tensor:
    """out = frame·(1-alpha) + comp·alpha, comp = frame·m + video·(1-m) (video without m)."""
    comp = VIDEO if mask is None else FRAME * mask[..., None] + VIDEO * (1 - mask[..., None])
    return FRAME * (1 - alpha) + comp * alpha


def grey_by_definition(frames: torch.Tensor) -> torch.Tensor:
    return 0.299 * frames[..., 0] + 0.587 * frames[..., 1] + 0.114 * frames[..., 2]


@pytest.mark.parametrize("alpha", [0.0, 0.3, 0.5, 1.0])
@pytest.mark.parametrize(
    ("kind", "expected_mask"),
    [
        ("None", lambda: None),
        ("Blend", lambda: 0.6 * grey_by_definition(FRAME) + 0.4 * grey_by_definition(VIDEO)),
        ("Difference", lambda: (grey_by_definition(FRAME) - grey_by_definition(VIDEO)).abs()),
        ("Depth", lambda: (DEPTH - DEPTH.amin((1, 2), True))
         / (DEPTH.amax((1, 2), True) - DEPTH.amin((1, 2), True))),
        ("Video Depth", lambda: (DEPTH - DEPTH.amin((1, 2), True))
         / (DEPTH.amax((1, 2), True) - DEPTH.amin((1, 2), True))),
    ],
)  # fmt: skip
def test_each_mask_type_blends_as_its_definition_says(kind, expected_mask, alpha) -> None:
    options = MaskOptions(kind=kind, blend_alpha=0.4)
    mask = make_mask(options, FRAME, VIDEO, depth=DEPTH)
    expected = expected_mask()
    if expected is None:
        assert mask is None
    else:
        assert torch.allclose(mask, expected, atol=1e-6)
    blended = composite(FRAME, VIDEO, mask, alpha)  # every pixel, to float precision
    assert (blended - by_definition(expected, alpha)).abs().max() < 1e-6


def test_white_keeps_the_frame_and_black_takes_the_video() -> None:
    white, black = torch.ones(2, 24, 32), torch.zeros(2, 24, 32)
    assert torch.equal(composite(FRAME, VIDEO, white, 1.0), FRAME)
    assert torch.equal(composite(FRAME, VIDEO, black, 1.0), VIDEO)
    assert torch.equal(composite(FRAME, VIDEO, black, 0.0), FRAME)


def pil_mask(mask: torch.Tensor) -> Image.Image:
    return Image.fromarray((mask * 255).round().to(torch.uint8).numpy(), mode="L")


def test_equalize_is_pils() -> None:
    mask = grey(FRAME)[:1] ** 2  # a skewed histogram
    expected = np.asarray(ImageOps.equalize(pil_mask(mask[0])))
    assert np.array_equal((equalize(mask)[0] * 255).round().to(torch.uint8).numpy(), expected)
    flat = torch.full((1, 8, 8), 0.5)
    assert torch.equal(equalize(flat), (flat * 255).round() / 255)  # one level: unchanged


@pytest.mark.parametrize("factor", [0.0, 0.5, 1.0, 1.7])
def test_contrast_is_pils_within_a_level(factor: float) -> None:
    mask = (grey(FRAME)[:1] * 255).round() / 255
    expected = np.asarray(ImageEnhance.Contrast(pil_mask(mask[0])).enhance(factor), np.int16)
    ours = (contrast(mask, factor)[0] * 255).round().to(torch.int16).numpy()
    assert np.abs(ours - expected).max() <= 1


def test_auto_contrast_stretches_the_percentiles_to_black_and_white() -> None:
    mask = 0.25 + 0.5 * grey(FRAME)[:1]
    stretched = auto_contrast(mask, 10, 90)
    values = mask.flatten().numpy()
    low, high = np.percentile(values, 10), np.percentile(values, 90)
    expected = np.clip((mask[0].numpy() - low) / (high - low), 0, 1)
    assert np.allclose(stretched[0].numpy(), expected, atol=1e-5)
    flat = torch.full((1, 4, 4), 0.3)
    assert torch.equal(auto_contrast(flat, 0, 100), flat)  # Deforum would divide by zero


def test_the_mask_is_shaped_in_deforums_order() -> None:
    """inverse, equalise before, contrast, auto-contrast, equalise after."""
    options = MaskOptions(kind="Difference", inverse=True, equalize="Both", auto_contrast=True,
                          contrast=1.5, cutoff_low=5, cutoff_high=95)  # fmt: skip
    raw = (grey(FRAME) - grey(VIDEO)).abs()
    expected = equalize(auto_contrast(contrast(equalize(1 - raw), 1.5), 5, 95))
    assert torch.equal(make_mask(options, FRAME, VIDEO), expected)


def test_depth_masks_need_a_depth_map() -> None:
    with pytest.raises(DeforumError, match="comp_mask_type: mask type Depth needs a depth model"):
        make_mask(MaskOptions(kind="Depth"), FRAME, VIDEO)


def test_depth_is_normalised_per_map_far_bright() -> None:
    near_far = torch.tensor([[[1.0, 1.5, 2.0]], [[3.0, 3.0, 5.0]]])
    assert torch.allclose(normalized(near_far), torch.tensor([[[0.0, 0.5, 1.0]], [[0, 0, 1.0]]]))
