"""The ComfyUI backend's per-frame A1111 settings with stand-ins for comfy.sample and CLIP, so
the calls it makes are visible (tests/integration/test_comfyui_frame_settings.py runs the
same settings in both real ComfyUIs)."""

from __future__ import annotations

import importlib
import sys
import types

import pytest
import torch

from deforum_core.diffusion import DiffusionError, DiffusionRequest, FrameText
from deforum_core.diffusion.variation import slerp

LATENT = (1, 4, 4, 4)


class FakeClip:
    """Records clone() and clip_layer(); encodes a text as its layer index and length."""

    def __init__(self, log: list[tuple[str, int, int | None]], number: int = 0) -> None:
        self.log, self.number, self.layer_idx = log, number, None

    def clone(self) -> FakeClip:
        self.log.append(("clone", self.number, None))
        copy = FakeClip(self.log, number=len([e for e in self.log if e[0] == "clone"]))
        copy.layer_idx = self.layer_idx
        return copy

    def clip_layer(self, layer_idx: int) -> None:
        self.log.append(("clip_layer", self.number, layer_idx))
        self.layer_idx = layer_idx

    def tokenize(self, text: str) -> str:
        return text

    def encode_from_tokens(self, tokens: str, return_pooled: bool = False):
        self.log.append(("encode", self.number, self.layer_idx))
        layer = 0.0 if self.layer_idx is None else float(self.layer_idx)
        return torch.full((1, 2, 3), layer + len(tokens)), torch.zeros(1, 3)


class FakeVae:
    def encode(self, pixels: torch.Tensor) -> torch.Tensor:
        return torch.full(LATENT, 0.25)

    def decode(self, samples: torch.Tensor) -> torch.Tensor:
        return torch.zeros(1, 32, 32, 3)


@pytest.fixture
def sampled(monkeypatch):
    """comfy.sample as ComfyUI has it: prepare_noise from a seeded global generator, and a
    sample() that records what it was given."""
    given: list[dict] = []

    def prepare_noise(latent, seed, noise_inds=None):
        generator = torch.manual_seed(seed)
        return torch.randn(latent.size(), dtype=latent.dtype, generator=generator)

    def sample(model, noise, steps, cfg, sampler, scheduler, positive, negative, latent, **kw):
        given.append({"noise": noise, "positive": positive, "latent": latent, **kw})
        return latent

    comfy = types.ModuleType("comfy")
    comfy.sample = types.SimpleNamespace(prepare_noise=prepare_noise, sample=sample)
    monkeypatch.setitem(sys.modules, "comfy", comfy)
    monkeypatch.setitem(sys.modules, "comfy.sample", comfy.sample)
    monkeypatch.setitem(sys.modules, "latent_preview", None)  # no previews outside ComfyUI
    state = torch.random.get_rng_state()  # prepare_noise seeds torch's global generator
    yield given
    torch.random.set_rng_state(state)


@pytest.fixture
def backend_of(pack):
    module = importlib.import_module(f"{pack.__name__}.nodes.comfy_backend")

    def build(log: list) -> object:
        return module.ComfyBackend(object(), FakeClip(log), FakeVae(), "euler", "normal")

    return build


def request(strength: float = 0.5, image: bool = True, **fields) -> DiffusionRequest:
    return DiffusionRequest(
        FrameText("a cat", "dark"), strength, 4, 7.0, 5, width=32, height=32,
        image=torch.rand(1, 32, 32, 3) if image else None, **fields,
    )  # fmt: skip


def seed_noise(seed: int) -> torch.Tensor:
    return torch.randn(LATENT, generator=torch.Generator().manual_seed(seed))


def test_noise_multiplier_scales_the_noise_given_to_comfy_for_img2img_only(
    backend_of, sampled
) -> None:
    backend = backend_of([])
    backend.diffuse(request())
    backend.diffuse(request(noise_multiplier=1.05))
    backend.diffuse(request(strength=0.0, image=False, noise_multiplier=1.05))
    plain, scaled, txt2img = (given["noise"] for given in sampled)
    assert torch.equal(plain, seed_noise(5))  # the default is prepare_noise's own noise
    assert torch.equal(scaled, seed_noise(5) * 1.05)
    assert torch.equal(txt2img, seed_noise(5))
    assert sampled[1]["seed"] == 5 and sampled[1]["start_step"] == 2


def test_variation_noise_is_given_to_comfy(backend_of, sampled) -> None:
    backend = backend_of([])
    backend.diffuse(request(subseed=9, subseed_strength=0.0))
    backend.diffuse(request(subseed=9, subseed_strength=0.3))
    backend.diffuse(request(subseed=9, subseed_strength=1.0))
    none, some, full = (given["noise"] for given in sampled)
    assert torch.equal(none, seed_noise(5))
    assert torch.equal(some, slerp(0.3, seed_noise(5), seed_noise(9)))
    assert torch.equal(full, seed_noise(9))
    # the seed's noise is drawn last: torch's global generator (which 2024 ComfyUI's
    # ancestral samplers go on drawing from) is where it is without a subseed
    expected_next = torch.randn(3, generator=_after_seed_draw(5))
    backend.diffuse(request(subseed=9, subseed_strength=0.5))
    assert torch.equal(torch.randn(3), expected_next)


def _after_seed_draw(seed: int) -> torch.Generator:
    generator = torch.Generator().manual_seed(seed)
    torch.randn(LATENT, generator=generator)
    return generator


def test_clip_skip_sets_the_layer_on_a_clone_never_on_the_users_clip(backend_of, sampled):
    log: list = []
    backend = backend_of(log)
    backend.diffuse(request())
    assert log == [("encode", 0, None), ("encode", 0, None)]  # the user's CLIP, as connected
    log.clear()
    for _ in range(2):
        backend.diffuse(request(clip_skip=2))
    backend.diffuse(request(clip_skip=3))
    assert log == [
        ("clone", 0, None), ("clip_layer", 1, -2), ("encode", 1, -2), ("encode", 1, -2),
        ("clone", 0, None), ("clip_layer", 2, -3), ("encode", 2, -3), ("encode", 2, -3),
    ]  # fmt: skip
    assert backend.clip.layer_idx is None
    positive = [given["positive"][0][0] for given in sampled]
    assert torch.equal(positive[0], torch.full((1, 2, 3), 5.0))  # "a cat": 5 characters
    assert torch.equal(positive[1], torch.full((1, 2, 3), 3.0))  # layer -2
    assert torch.equal(positive[3], torch.full((1, 2, 3), 2.0))  # layer -3
    log.clear()
    backend.diffuse(request())  # clip skip 1 again: cached, and still the user's CLIP
    assert log == []


def test_bad_settings_are_refused_before_sampling(backend_of, sampled) -> None:
    backend = backend_of([])
    for fields, field in (
        ({"noise_multiplier": -1.0}, "noise_multiplier"),
        ({"subseed_strength": 2.0}, "subseed_strength"),
        ({"subseed": -1}, "subseed"),
        ({"clip_skip": 0}, "clip_skip"),
    ):
        with pytest.raises(DiffusionError, match=f"^{field} "):
            backend.diffuse(request(**fields))
    assert sampled == []


def test_a_keep_mask_becomes_comfys_latent_noise_mask_for_img2img_only(backend_of, sampled):
    keep = torch.zeros(32, 32)
    keep[:, :16] = 1.0  # the left half is kept
    backend = backend_of([])
    backend.diffuse(request(keep_mask=keep))
    backend.diffuse(request())
    backend.diffuse(request(strength=0.0, image=False, keep_mask=keep))
    masked, free, txt2img = (given["noise_mask"] for given in sampled)
    assert masked.shape == (1, 1, 32, 32)
    assert torch.equal(masked[0, 0], 1 - keep)  # ComfyUI's mask is 1 where it denoises
    assert free is None and txt2img is None
