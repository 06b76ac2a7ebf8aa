"""Deforum's strength→steps rule, the sampler-name map and the conditioning blend (pure torch)."""

import pytest
import torch

from deforum_core.diffusion import (
    DIFFUSERS_SAMPLERS,
    DiffusionError,
    DiffusionRequest,
    Embedding,
    EmbeddingCache,
    FrameText,
    blend_embeddings,
    check_request,
    check_size,
    frame_embeddings,
    scheduler_spec,
    start_step,
    steps_to_run,
)

# diffusers' k-diffusion schedulers trip numpy 2 deprecation warnings thousands of times
pytestmark = [
    pytest.mark.filterwarnings("ignore:__array_wrap__ must accept context:DeprecationWarning"),
    pytest.mark.filterwarnings("ignore:__array__ implementation doesn't accept:DeprecationWarning"),
]


@pytest.mark.parametrize(
    ("steps", "strength", "start"),
    [
        (10, 0.0, 0),
        (10, 1.0, 10),
        (10, 0.3, 3),
        (10, 0.25, 3),  # 2.5 rounds up, not to even
        (10, 0.35, 4),  # 3.5 rounds up
        (10, 0.65, 7),  # Deforum's default strength: 4 of 10 steps run (6.5 rounds up)
        (25, 0.65, 16),
        (4, 0.5, 2),
        (1, 0.49, 0),
    ],
)
def test_strength_sets_the_first_step(steps, strength, start):
    assert start_step(steps, strength) == start
    assert steps_to_run(steps, strength) == steps - start


def test_txt2img_runs_every_step_whatever_the_strength():
    assert start_step(10, 0.8, has_image=False) == 0
    assert steps_to_run(10, 1.0, has_image=False) == 10


def test_strength_zero_frame_is_txt2img_and_strength_one_keeps_the_input():
    image = torch.rand(1, 16, 16, 3)
    request = DiffusionRequest(FrameText("a cat"), 0.0, 10, 7.0, 1, image=image)
    assert request.start == 0 and not request.is_img2img
    request = DiffusionRequest(FrameText("a cat"), 0.5, 10, 7.0, 1, image=image)
    assert request.start == 5 and request.is_img2img and request.size == (16, 16)


@pytest.mark.parametrize(
    ("width", "height", "message"),
    [
        (65, 64, "width: 65 is not a multiple of 8\n  fix: use 64 or 72"),
        (64, 100, "height: 100 is not a multiple of 8\n  fix: use 96 or 104"),
        (0, 64, "width: must be a whole number of at least 8, got 0"),
    ],
)
def test_bad_sizes_name_the_parameter_and_the_fix(width, height, message):
    with pytest.raises(DiffusionError) as caught:
        check_size(width, height)
    assert str(caught.value).startswith(message)


def test_image_sides_must_be_multiples_of_8():
    request = DiffusionRequest(FrameText("a"), 0.5, 10, 7.0, 1, image=torch.rand(1, 33, 50, 3))
    with pytest.raises(DiffusionError, match=r"image is 50x33 pixels") as caught:
        check_request(request)
    assert "resize or crop it to 48x32 first" in str(caught.value)


def test_unknown_sampler_lists_the_valid_names():
    with pytest.raises(DiffusionError) as caught:
        scheduler_spec("euler_b")
    message = str(caught.value)
    assert "unknown sampler 'euler_b'" in message
    for name in ("euler", "euler_a", "lms", "klms", "heun", "dpm2", "dpm2_a", "ddim"):
        assert name in message


@pytest.mark.parametrize(
    ("name", "class_name", "karras"),
    [
        ("euler_ancestral", "EulerAncestralDiscreteScheduler", False),
        ("klms", "LMSDiscreteScheduler", False),
        ("DPM++ 2M Karras", "DPMSolverMultistepScheduler", True),
        ("dpmpp_2m", "DPMSolverMultistepScheduler", False),
    ],
)
def test_deforum_and_webui_spellings_map_to_schedulers(name, class_name, karras):
    spec = scheduler_spec(name)
    assert spec.class_name == class_name
    assert spec.overrides.get("use_karras_sigmas", False) is karras


def test_every_sampler_names_a_diffusers_scheduler():
    import diffusers

    for name, spec in DIFFUSERS_SAMPLERS.items():
        scheduler = getattr(diffusers, spec.class_name).from_config({}, **spec.overrides)
        for key, value in spec.overrides.items():
            assert scheduler.config[key] == value, (name, key)


def test_blend_pads_the_shorter_prompt_with_empty_chunks_and_lerps_pooled():
    short = Embedding(torch.zeros(1, 4, 2), torch.zeros(1, 3))
    long = Embedding(torch.ones(1, 8, 2), torch.ones(1, 3))
    pad = torch.full((1, 4, 2), 5.0)
    blended = blend_embeddings(short, long, 0.25, pad)
    assert blended.tokens.shape == (1, 8, 2)
    assert torch.allclose(blended.tokens[:, :4], torch.full((1, 4, 2), 0.25))
    assert torch.allclose(blended.tokens[:, 4:], torch.full((1, 4, 2), 5.0 * 0.75 + 0.25))
    assert torch.allclose(blended.pooled, torch.full((1, 3), 0.25))
    assert blend_embeddings(short, long, 0.0, pad) is short
    assert blend_embeddings(short, long, 1.0, pad) is long


def test_each_text_is_encoded_once_and_frames_blend_towards_the_next_prompt():
    texts = {"": 0.0, "a cat": 1.0, "a dog": 3.0, "blurry": -1.0}
    cache = EmbeddingCache(lambda text: Embedding(torch.full((1, 2, 1), texts[text])))
    text = FrameText("a cat", "blurry", "a dog", "blurry", blend=0.5)
    for _ in range(3):
        positive, negative = frame_embeddings(cache, text)
    assert torch.equal(positive.tokens, torch.full((1, 2, 1), 2.0))
    assert torch.equal(negative.tokens, torch.full((1, 2, 1), -1.0))
    assert cache.encoded == 4  # "a cat", "a dog", "" (padding) and "blurry", once each


def test_the_cache_forgets_the_least_recently_used_text():
    cache = EmbeddingCache(lambda text: Embedding(torch.zeros(1, 1, 1)), capacity=2)
    for text in ("a", "b", "a", "c", "a", "b"):
        cache(text)
    assert cache.encoded == 4  # "b" was dropped when "c" came in
