"""A1111 variation seeds (slerp of two seeds' noise), the request checks of the per-frame A1111
settings, and the embedding cache's clip skip key."""

from __future__ import annotations

import math

import pytest
import torch

from deforum_core.diffusion import (
    DiffusionError,
    DiffusionRequest,
    Embedding,
    EmbeddingCache,
    FrameText,
    check_request,
    frame_embeddings,
)
from deforum_core.diffusion.variation import slerp, variation_noise


def reference_slerp(weight: float, start: torch.Tensor, end: torch.Tensor) -> torch.Tensor:
    """A1111's slerp written out one (image, channel, column) vector at a time, in float64."""
    result = torch.empty_like(start, dtype=torch.float64)
    for image in range(start.shape[0]):
        a_all, b_all = start[image].double(), end[image].double()
        cosines = {}
        for channel in range(a_all.shape[0]):
            for column in range(a_all.shape[2]):
                a, b = a_all[channel, :, column], b_all[channel, :, column]
                cosines[channel, column] = float(a @ b / (a.norm() * b.norm()))
        parallel = sum(cosines.values()) / len(cosines) > 0.9995
        for (channel, column), cosine in cosines.items():
            a, b = a_all[channel, :, column], b_all[channel, :, column]
            if parallel:
                vector = a * (1 - weight) + b * weight
            else:
                omega = math.acos(cosine)
                vector = (
                    math.sin((1 - weight) * omega) * a + math.sin(weight * omega) * b
                ) / math.sin(omega)
            result[image, channel, :, column] = vector
    return result


def noise(seed: int, shape=(2, 3, 5, 4)) -> torch.Tensor:
    return torch.randn(shape, generator=torch.Generator().manual_seed(seed))


@pytest.mark.parametrize("weight", [0.1, 0.5, 0.9])
def test_slerp_matches_a1111s_formula_per_column(weight: float) -> None:
    start, end = noise(1), noise(2)
    expected = reference_slerp(weight, start, end)
    assert torch.allclose(slerp(weight, start, end).double(), expected, atol=1e-5)


def test_slerp_ends_are_the_two_noises() -> None:
    start, end = noise(1), noise(2)
    assert torch.allclose(slerp(0.0, start, end), start, atol=1e-6)
    assert torch.equal(slerp(1.0, start, end), end)


def test_slerp_keeps_the_norm_of_equal_norm_columns_where_a_lerp_shrinks_it() -> None:
    start, end = noise(1), noise(2)
    end = end / end.norm(dim=2, keepdim=True) * start.norm(dim=2, keepdim=True)
    halfway = slerp(0.5, start, end)
    assert torch.allclose(halfway.norm(dim=2), start.norm(dim=2), rtol=1e-5)
    lerped = (start + end) / 2
    assert (lerped.norm(dim=2) < start.norm(dim=2) * 0.99).all()  # independent: ~1/sqrt(2)


def test_slerp_of_near_parallel_noise_interpolates_linearly() -> None:
    start = noise(1)
    end = start * 1.5  # same directions: A1111's mean-cosine fallback
    result = slerp(0.25, start, end)
    assert torch.allclose(result, start * 0.75 + end * 0.25)
    assert torch.isfinite(result).all()
    assert torch.equal(slerp(0.7, start, start.clone()), start * 0.3 + start * 0.7)


def test_slerp_refuses_noise_of_other_shapes() -> None:
    with pytest.raises(ValueError, match="one shape"):
        slerp(0.5, noise(1), noise(2, (2, 3, 5, 5)))


def test_variation_noise_draws_the_subseed_only_when_it_is_used() -> None:
    draws: list[str] = []

    def draw(name: str, seed: int):
        return lambda: draws.append(name) or noise(seed)

    assert torch.equal(variation_noise(draw("seed", 1), draw("subseed", 2), 0.0), noise(1))
    assert draws == ["seed"]
    draws.clear()
    varied = variation_noise(draw("seed", 1), draw("subseed", 2), 0.5)
    assert draws == ["subseed", "seed"]  # the seed's generator is the last one drawn from
    assert torch.equal(varied, slerp(0.5, noise(1), noise(2)))
    assert torch.equal(variation_noise(draw("seed", 1), draw("subseed", 2), 1.0), noise(2))


def request(**fields) -> DiffusionRequest:
    return DiffusionRequest(FrameText("a"), 0.5, 4, 7.0, 1, width=64, height=64, **fields)


def test_the_new_fields_default_to_todays_frames() -> None:
    plain = request()
    assert (plain.noise_multiplier, plain.subseed, plain.subseed_strength, plain.clip_skip) == (
        1.0, 0, 0.0, 1,
    )  # fmt: skip
    check_request(plain)


def test_the_noise_multiplier_applies_to_img2img_frames_only() -> None:
    image = torch.rand(1, 64, 64, 3)
    assert request(image=image, noise_multiplier=1.05).noise_scale == 1.05
    assert request(noise_multiplier=1.05).noise_scale == 1.0  # txt2img
    starts_from_noise = DiffusionRequest(FrameText("a"), 0.0, 4, 7.0, 1, image=image,
                                         noise_multiplier=1.05)  # fmt: skip
    assert starts_from_noise.noise_scale == 1.0  # strength 0: pure noise, like txt2img


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"noise_multiplier": -0.1}, "noise_multiplier must be a number from 0, got -0.1"),
        ({"noise_multiplier": math.nan}, "noise_multiplier must be a number from 0"),
        ({"noise_multiplier": math.inf}, "noise_multiplier must be a number from 0"),
        ({"noise_multiplier": "1.05"}, "noise_multiplier must be a number from 0"),
        ({"subseed_strength": 1.5}, r"subseed_strength must lie in 0\.\.1, got 1\.5"),
        ({"subseed_strength": -0.1}, r"subseed_strength must lie in 0\.\.1"),
        ({"subseed_strength": math.nan}, r"subseed_strength must lie in 0\.\.1"),
        ({"subseed": -1}, r"subseed must be a whole number in 0\.\.4294967295 like seed"),
        ({"subseed": 2**32}, r"subseed must be a whole number in 0\.\.4294967295"),
        ({"subseed": 3.0}, "subseed must be a whole number"),
        ({"subseed": True}, "subseed must be a whole number"),
        ({"clip_skip": 0}, r"clip_skip must be a whole number in 1\.\.24, got 0"),
        ({"clip_skip": 25}, r"clip_skip must be a whole number in 1\.\.24"),
        ({"clip_skip": 2.0}, "clip_skip must be a whole number"),
    ],
)
def test_bad_settings_name_the_field_and_the_fix(fields: dict, message: str) -> None:
    with pytest.raises(DiffusionError, match=message) as caught:
        check_request(request(**fields))
    assert "fix: " in str(caught.value)


def test_the_edges_of_each_range_are_accepted() -> None:
    for fields in (
        {"noise_multiplier": 0.0}, {"noise_multiplier": 2}, {"subseed_strength": 1.0},
        {"subseed": 2**32 - 1}, {"clip_skip": 24},
    ):  # fmt: skip
        check_request(request(**fields))


def test_the_embedding_cache_keys_on_clip_skip() -> None:
    calls: list[tuple] = []

    def encode(text: str, *clip_skip: int) -> Embedding:
        calls.append((text, *clip_skip))
        return Embedding(torch.full((1, 2, 1), float(len(text) + 10 * sum(clip_skip))))

    cache = EmbeddingCache(encode)
    text = FrameText("a cat", "dark", "a dog", "dark", blend=0.5)
    for _ in range(2):
        plain = frame_embeddings(cache, text)
        skipped = frame_embeddings(cache, text, clip_skip=2)
    assert calls == [
        ("a cat",), ("a dog",), ("",), ("dark",),  # clip skip 1: encode(text), as before
        ("a cat", 2), ("a dog", 2), ("", 2), ("dark", 2),
    ]  # fmt: skip
    assert torch.equal(plain[0].tokens, torch.full((1, 2, 1), 5.0))
    assert torch.equal(skipped[0].tokens, torch.full((1, 2, 1), 25.0))
    assert cache.encoded == 8
