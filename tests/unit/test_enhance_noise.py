"""Contrast, anti-blur and noise: identities, saturation, OpenCV agreement, seeds."""

from contextlib import contextmanager

import cv2
import numpy as np
import pytest
import torch

from deforum_core.enhance import (
    _blur,
    _convolves_channels_last,
    adjust_contrast,
    gaussian_blur,
    odd_kernel_size,
    unsharp_mask,
)
from deforum_core.noise import add_noise, perlin_octaves


def random_frames(seed: int = 0, shape=(2, 40, 56, 3)) -> torch.Tensor:
    return torch.rand(shape, generator=torch.Generator().manual_seed(seed))


def test_neutral_settings_are_exact_identities():
    frames = random_frames()
    assert torch.equal(adjust_contrast(frames, 1.0), frames)
    assert torch.equal(unsharp_mask(frames, 0.0, 5, 1.0, 0), frames)
    assert torch.equal(add_noise(frames, 0.0, seed=1), frames)
    assert torch.equal(add_noise(frames, 0.0, seed=1, noise_type="perlin"), frames)


def test_contrast_saturates_at_white_instead_of_wrapping():
    near_white = torch.full((1, 8, 8, 3), 0.9)
    near_white[0, 0, 0] = 0.3
    boosted = adjust_contrast(near_white, 2.0)
    assert torch.all(boosted[0, 1:] == 1.0)  # Deforum's uint8 cast wrapped 0.9*2 to dark
    assert boosted[0, 0, 0].tolist() == pytest.approx([0.6] * 3)
    assert torch.all(adjust_contrast(near_white, 0.5) == near_white * 0.5)


def deforum_unsharp_reference(image: np.ndarray, kernel: int, sigma: float, amount: float):
    """Deforum's formula on uint8 with OpenCV's blur, in float to avoid its uint8 wrap."""
    blurred = cv2.GaussianBlur(image, (kernel, kernel), sigma).astype(np.float64)
    sharpened = (amount + 1) * image.astype(np.float64) - amount * blurred
    return np.clip(sharpened, 0, 255)


@pytest.mark.parametrize(("kernel", "sigma", "amount"), [(5, 1.0, 0.5), (9, 2.5, 1.2), (3, 0, 0.3)])
def test_unsharp_mask_agrees_with_opencv(kernel, sigma, amount):
    rng = np.random.default_rng(kernel)
    image = rng.integers(0, 256, (48, 64, 3), dtype=np.uint8)
    expected = deforum_unsharp_reference(image, kernel, sigma, amount)
    frames = torch.from_numpy(image).float().div(255).unsqueeze(0)
    ours = unsharp_mask(frames, amount, kernel, sigma)[0].numpy() * 255
    assert np.abs(ours - expected).max() <= 1.0 + 2 * amount  # OpenCV blurs uint8 in fixed point


def test_gaussian_blur_matches_opencv_reflect101_edges():
    rng = np.random.default_rng(3)
    image = rng.random((30, 20, 3)).astype(np.float32)
    expected = cv2.GaussianBlur(image, (7, 7), 1.5)
    ours = gaussian_blur(torch.from_numpy(image).unsqueeze(0), 7, 1.5)[0].numpy()
    assert np.abs(ours - expected).max() < 1e-5


def test_threshold_leaves_low_detail_pixels_alone():
    frames = torch.full((1, 32, 32, 3), 0.5)
    frames[0, 10:20, 10:20] = 0.8  # a strong edge
    frames[0, 25, 25] = 0.51  # a faint speck
    sharpened = unsharp_mask(frames, 1.0, 5, 1.0, threshold=10)
    assert sharpened[0, 25, 25].tolist() == pytest.approx([0.51] * 3)  # 0.01 < 10/255
    assert sharpened[0, 10, 10, 0] > 0.8  # the edge is sharpened
    unthresholded = unsharp_mask(frames, 1.0, 5, 1.0, threshold=0)
    assert unthresholded[0, 25, 25, 0] > 0.51


def test_masks_limit_sharpening_and_noise():
    frames = random_frames(1, (1, 16, 16, 3))
    mask = torch.zeros(16, 16)
    mask[:, 8:] = 1.0
    sharpened = unsharp_mask(frames, 1.0, 5, 1.0, mask=mask)
    assert torch.equal(sharpened[0, :, :8], frames[0, :, :8])
    assert not torch.equal(sharpened[0, :, 8:], frames[0, :, 8:])
    noised = add_noise(frames, 0.5, seed=3, mask=mask)
    assert torch.equal(noised[0, :, :8], frames[0, :, :8])
    with pytest.raises(ValueError, match="resize the mask"):
        add_noise(frames, 0.5, seed=3, mask=torch.ones(8, 8))


@pytest.mark.parametrize("kernel", [(4, 5), (5, 5), (0, 1), (6.4, 7), (1, 1)])
def test_kernel_sizes_become_odd(kernel):
    assert odd_kernel_size(kernel[0]) == kernel[1]


@pytest.mark.parametrize("noise_type", ["gaussian", "perlin"])
def test_same_seed_same_noise_other_seed_other_noise(noise_type):
    frames = torch.full((1, 64, 64, 3), 0.5)
    first = add_noise(frames, 0.2, seed=7, noise_type=noise_type)
    assert torch.equal(first, add_noise(frames, 0.2, seed=7, noise_type=noise_type))
    other = add_noise(frames, 0.2, seed=8, noise_type=noise_type)
    assert (first - other).abs().mean() > 0.01


def test_noise_is_additive_with_standard_deviation_half_the_amount():
    frames = torch.full((1, 128, 128, 3), 0.5)
    noise = add_noise(frames, 0.2, seed=1) - frames
    assert abs(float(noise.mean())) < 0.003  # no pull towards grey or any other value
    assert float(noise.std()) == pytest.approx(0.1, rel=0.03)
    dark = torch.full((1, 128, 128, 3), 0.2)
    assert float((add_noise(dark, 0.2, seed=1) - dark).mean()) == pytest.approx(0.0, abs=0.003)


def test_perlin_envelope_is_smooth_and_shapes_the_noise():
    generator = torch.Generator().manual_seed(0)
    field = perlin_octaves(64, 96, (4, 4), octaves=1, persistence=0.5, generator=generator)
    assert field.shape == (64, 96)
    assert field.abs().max() <= 1.5
    assert (field[:, 1:] - field[:, :-1]).abs().max() < 0.2  # neighbours are close: smooth
    frames = torch.full((1, 64, 96, 3), 0.5)
    noise = (add_noise(frames, 0.4, seed=2, noise_type="perlin") - frames).abs().mean(-1)[0]
    assert noise.std() > 0  # varying strength across the frame


@contextmanager
def onednn(enabled: bool):
    """oneDNN (mkldnn) convolutions on or off for a while."""
    before = torch.backends.mkldnn.enabled
    torch.backends.mkldnn.enabled = enabled
    try:
        yield
    finally:
        torch.backends.mkldnn.enabled = before


@pytest.mark.parametrize(("height", "width"), [(37, 53), (64, 48), (5, 7), (3, 40)])
@pytest.mark.parametrize(("kernel", "sigma"), [(5, 1.0), (3, 0), (9, 2.5), (1, 1.0)])
def test_channels_last_blur_equals_the_layout_blur_with_onednn(height, width, kernel, sigma):
    """With oneDNN on (as users run torch), the blur convolves channels-last, several times
    faster on frames laid out channels-first (as the warp and the colour match leave them):
    the values must not change. (The tests otherwise run with oneDNN off, where the frames'
    own layout is kept.)"""
    frames = random_frames(height, (2, height, width, 3))
    channels_first = frames.permute(0, 3, 1, 2).contiguous().permute(0, 2, 3, 1)
    with onednn(True):
        for layout in (frames, channels_first):
            fast = _blur(layout, kernel, sigma, channels_last=True)
            assert torch.equal(fast, _blur(layout, kernel, sigma, channels_last=False))


def test_without_onednn_the_blur_keeps_the_frames_layout():
    channels_first = random_frames(2).permute(0, 3, 1, 2).contiguous().permute(0, 2, 3, 1)
    with onednn(False):
        assert not _convolves_channels_last(channels_first)
        assert torch.equal(
            gaussian_blur(channels_first, 5, 1.0),
            _blur(channels_first, 5, 1.0, channels_last=False),
        )
    with onednn(True):
        assert _convolves_channels_last(channels_first) == torch.backends.mkldnn.is_available()
        assert not _convolves_channels_last(channels_first.half())


@pytest.mark.parametrize("threshold", [0, 6])
@pytest.mark.parametrize("channels_first_memory", [False, True])
def test_sharpened_and_noised_frames_keep_the_layout_and_values(threshold, channels_first_memory):
    """In-place arithmetic must give the values and the memory layout of the plain formulas:
    the layout decides how the next convolution (the VAE's) rounds."""
    frames = random_frames(4, (1, 33, 47, 3))
    if channels_first_memory:
        frames = frames.permute(0, 3, 1, 2).contiguous().permute(0, 2, 3, 1)
    blurred = gaussian_blur(frames, 5, 1.0)
    expected = (frames * 1.3 - blurred * 0.3).clamp_(0.0, 1.0)
    if threshold:
        expected = torch.where((frames - blurred).abs() < threshold / 255.0, frames, expected)
    sharpened = unsharp_mask(frames, 0.3, 5, 1.0, threshold)
    assert torch.equal(sharpened, expected)
    assert sharpened.stride() == expected.stride()
    noise = torch.randn(frames.shape, generator=torch.Generator().manual_seed(9))
    expected = (frames + noise * (0.1 / 2)).clamp_(0.0, 1.0)
    noised = add_noise(frames, 0.1, seed=9)
    assert torch.equal(noised, expected)
    assert noised.stride() == expected.stride()
