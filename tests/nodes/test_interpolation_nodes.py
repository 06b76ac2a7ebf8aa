"""Deforum Interpolation and Animate's Interpolation mode called as ComfyUI calls them, with the
ComfyUI backend over stand-ins for comfy.sample and CLIP: the conditioning comfy is given on a
frame between two prompts is their encodings slerped (tokens and pooled vector), a key frame's
is its own prompt's, and what the mode cannot do is refused naming the input."""

from __future__ import annotations

import importlib
import sys
import types

import pytest
import torch

from deforum_core.diffusion.conditioning import slerp_vectors
from deforum_core.errors import DeforumError
from deforum_core.prompts import parse_prompt_schedule

SIZE = 64


def encoding(text: str) -> tuple[torch.Tensor, torch.Tensor]:
    """A stand-in CLIP's tokens [1, 4, 8] and pooled vector [1, 8], drawn from the text."""
    generator = torch.Generator().manual_seed(sum(map(ord, text)) + 7 * len(text))
    return torch.randn(1, 4, 8, generator=generator), torch.randn(1, 8, generator=generator)


class FakeClip:
    def tokenize(self, text: str) -> str:
        return text

    def encode_from_tokens(self, tokens: str, return_pooled: bool = False):
        return encoding(tokens)


class FakeVae:
    def decode(self, samples: torch.Tensor) -> torch.Tensor:
        return torch.full((1, SIZE, SIZE, 3), 0.5)


@pytest.fixture
def sampled(monkeypatch):
    """comfy.sample with a sample() that records the conditioning it is given."""
    given: list[dict] = []

    def prepare_noise(latent, seed, noise_inds=None):
        return torch.randn(latent.size(), generator=torch.Generator().manual_seed(seed))

    def sample(model, noise, steps, cfg, sampler, scheduler, positive, negative, latent, **kw):
        given.append({"positive": positive, "negative": negative, "seed": kw["seed"]})
        return latent

    comfy = types.ModuleType("comfy")
    comfy.sample = types.SimpleNamespace(prepare_noise=prepare_noise, sample=sample)
    monkeypatch.setitem(sys.modules, "comfy", comfy)
    monkeypatch.setitem(sys.modules, "comfy.sample", comfy.sample)
    monkeypatch.setitem(sys.modules, "latent_preview", None)
    return given


def node(pack, node_id: str):
    return pack.NODE_CLASS_MAPPINGS[node_id]


def defaults(node_class) -> dict:
    required = node_class.INPUT_TYPES()["required"]
    return {name: spec[1]["default"] for name, spec in required.items() if "default" in spec[1]}


def interpolation(pack, **changes):
    settings_node = node(pack, "DeforumInterpolation")
    (stage,) = settings_node().build(**{**defaults(settings_node), **changes})
    return stage


def animate(pack, prompts: str, **changes):
    animate_node = node(pack, "DeforumAnimate")
    inputs = {**defaults(animate_node), "animation_mode": "Interpolation", "max_frames": 3,
              "width": SIZE, "height": SIZE, "base_seed": 1, "steps_schedule": "0:(2)",
              **changes}  # fmt: skip
    with torch.inference_mode():
        return animate_node().animate(prompts=parse_prompt_schedule(prompts), **inputs)


def test_the_node_is_a_stage_node_with_search_words(pack):
    settings_node = node(pack, "DeforumInterpolation")
    assert settings_node.CATEGORY == node(pack, "DeforumMask").CATEGORY
    assert settings_node.RETURN_TYPES == ("DEFORUM_INTERPOLATION",)
    assert {"morph", "interpolate", "prompt interpolation"} <= set(settings_node.SEARCH_ALIASES)
    required = settings_node.INPUT_TYPES()["required"]
    assert list(required) == ["interpolate_key_frames", "interpolate_x_frames", "conditioning",
                              "interpolate_noise"]  # fmt: skip
    assert all(spec[1]["tooltip"] for spec in required.values())
    optional = node(pack, "DeforumAnimate").INPUT_TYPES()["optional"]
    names = list(optional)
    assert names.index("interpolation") == names.index("mask") + 1  # appended after mask
    assert optional["interpolation"][0] == "DEFORUM_INTERPOLATION"


def test_comfy_is_given_the_slerped_conditioning_of_each_frame(pack, host, sampled):
    comfy_backend = importlib.import_module(f"{pack.__name__}.nodes.comfy_backend")
    diffuser = comfy_backend.ComfyBackend(object(), FakeClip(), FakeVae(), "euler", "normal")
    result = animate(pack, "0: a cat --neg blur\n9: a dog --neg fog", diffuser=diffuser,
                     interpolation=interpolation(pack, interpolate_x_frames=3))  # fmt: skip
    assert result["ui"]["run_dir"] and len(sampled) == 5  # (2 - 1) x (3 + 1) + 1 frames
    (cat, cat_pooled), (dog, dog_pooled) = encoding("a cat"), encoding("a dog")
    (blur, _), (fog, _) = encoding("blur"), encoding("fog")
    for index, given in enumerate(sampled):
        ((tokens, extras),) = given["positive"]
        ((negative, _),) = given["negative"]
        fraction = index / 4
        if index in (0, 4):  # the keys: their own prompt's encoding, unchanged
            assert torch.equal(tokens, cat if index == 0 else dog)
            assert torch.equal(negative, blur if index == 0 else fog)
            continue
        assert torch.equal(tokens, slerp_vectors(cat, dog, fraction))
        assert torch.equal(extras["pooled_output"], slerp_vectors(cat_pooled, dog_pooled, fraction))
        assert torch.equal(negative, slerp_vectors(blur, fog, fraction))
    assert [given["seed"] for given in sampled] == [1] * 4 + [5]  # key seeds: iter gives 1, 5


def test_one_prompt_and_a_3d_motion_are_refused_naming_the_input(pack, host):
    with pytest.raises(DeforumError, match=r"^prompts: Interpolation mode needs at least two"):
        animate(pack, "0: a cat", init_image=torch.rand(1, SIZE, SIZE, 3))
    motion_node = node(pack, "DeforumMotion3D")
    (motion,) = motion_node().build(**defaults(motion_node))
    with pytest.raises(DeforumError, match=r"^motion: Interpolation mode moves the init image"):
        animate(pack, "0: a cat\n5: a dog", motion=motion, init_image=torch.rand(1, SIZE, SIZE, 3))


def test_a_motion_preview_renders_the_prompts_frame_count(pack, host):
    init_image = torch.rand(1, SIZE, SIZE, 3)
    result = animate(pack, "0: a cat\n5: a dog", max_frames=40, init_image=init_image,
                     interpolation=interpolation(pack, interpolate_key_frames=True))  # fmt: skip
    run = result["result"][0]
    assert run.frames == 6 and len(list(run.path.glob("frame_*.png"))) == 6
