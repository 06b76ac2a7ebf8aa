"""The ComfyUI-native diffusion backend: the user's MODEL, CLIP and VAE, comfy's own sampler.

Everything from ComfyUI is imported inside functions, so the pack imports without ComfyUI
(tests, the command line). Only APIs present from March 2024 to today are called directly;
newer helpers (fix_empty_latent_channels) are used when they exist.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterator, Sequence
from functools import cached_property
from typing import Any

import torch

from deforum_core.controlnet import ControlHint
from deforum_core.diffusion.backend import (
    DiffusionError,
    DiffusionRequest,
    DiffusionResult,
    check_request,
    unchanged,
)
from deforum_core.diffusion.conditioning import Embedding, EmbeddingCache, frame_embeddings
from deforum_core.diffusion.variation import variation_noise
from deforum_core.errors import DeforumError
from deforum_core.fingerprint import weights_fingerprint

FALLBACK_SAMPLERS = ("euler", "euler_ancestral")
FALLBACK_SCHEDULERS = ("normal", "karras")


def comfy_sampler_names() -> tuple[list[str], list[str]]:
    """ComfyUI's sampler and scheduler names; a short fallback when ComfyUI is absent."""
    try:
        import comfy.samplers
    except ImportError:
        return list(FALLBACK_SAMPLERS), list(FALLBACK_SCHEDULERS)
    return list(comfy.samplers.KSampler.SAMPLERS), list(comfy.samplers.KSampler.SCHEDULERS)


class ComfyBackend:
    """Diffuses frames through comfy.sample.sample, as KSampler (Advanced) does.

    The sampler builds the full schedule of `steps` sigmas and starts at Deforum's start
    step, so a frame of strength s runs steps - round(s·steps) steps. The noise it is given is
    prepare_noise's (KSampler's own) for the seed, varied towards the subseed and scaled by
    the noise multiplier; ComfyUI adds it to the input latent at the start sigma.
    """

    name = "comfyui"

    def __init__(self, model: Any, clip: Any, vae: Any, sampler_name: str, scheduler: str) -> None:
        self.model = model
        self.clip = clip
        self.vae = vae
        self.sampler_name = sampler_name
        self.scheduler = scheduler
        self.embeddings = EmbeddingCache(self._encode_text)
        self._skipping_clips: dict[int, Any] = {}

    def with_sampler(self, sampler: Any) -> ComfyBackend:
        """The same model with a settings file's sampler (a SamplerChoice), as far as this
        ComfyUI has it."""
        samplers, schedulers = comfy_sampler_names()
        for name, known, what in ((sampler.comfy_sampler, samplers, "sampler"),
                                  (sampler.comfy_scheduler, schedulers, "scheduler")):  # fmt: skip
            if name not in known:
                raise DeforumError(
                    f"this ComfyUI has no {what} {name!r}, which the settings' sampler needs",
                    parameter="use_file_sampler",
                    hint="update ComfyUI, or turn use_file_sampler off to use the diffuser's",
                )
        if (sampler.comfy_sampler, sampler.comfy_scheduler) == (self.sampler_name, self.scheduler):
            return self
        chosen = ComfyBackend(self.model, self.clip, self.vae, sampler.comfy_sampler,
                              sampler.comfy_scheduler)  # fmt: skip
        chosen.embeddings, chosen._skipping_clips = self.embeddings, self._skipping_clips
        return chosen

    def describe(self) -> dict[str, Any]:
        return {
            "backend": self.name,
            "sampler": self.sampler_name,
            "scheduler": self.scheduler,
            "model_file": None,  # ComfyUI's MODEL does not carry the file it was loaded from
            "model_fingerprint": self._fingerprint,
        }

    @cached_property
    def _fingerprint(self) -> str:
        """Of the model, text encoder and VAE weights, with any patches (LoRAs) on them."""
        vae = getattr(self.vae, "patcher", None) or getattr(self.vae, "first_stage_model", None)
        parts = [("model", self.model), ("clip", getattr(self.clip, "patcher", None)), ("vae", vae)]
        return weights_fingerprint(
            named for name, part in parts if part is not None for named in _weights(name, part)
        )

    def diffuse(self, request: DiffusionRequest) -> DiffusionResult:
        check_request(request)
        kept = unchanged(request)
        if kept is not None:
            return kept
        import comfy.sample

        latent = self._latent(request)
        positive, negative = frame_embeddings(self.embeddings, request.text, request.clip_skip)
        noise = self._noise(request, latent)
        steps_run = 0
        previewer = _latent_previewer(self.model) if request.on_step is not None else None

        def callback(step: int, x0: torch.Tensor, x: torch.Tensor, total: int) -> None:
            nonlocal steps_run
            steps_run += 1
            preview = None if previewer is None else _step_preview(previewer, x0, request.size)
            request.report_step(steps_run, total, preview)

        positive, negative = _controlled(_conditioning(positive), _conditioning(negative),
                                         request.control, self.vae)  # fmt: skip
        samples = comfy.sample.sample(
            self.model, noise, request.steps, request.cfg, self.sampler_name, self.scheduler,
            positive, negative, latent,
            denoise=1.0, start_step=request.start, callback=callback, seed=request.seed,
            noise_mask=self._noise_mask(request),
        )  # fmt: skip
        return DiffusionResult(self._decode(samples), steps_run)

    @staticmethod
    def _noise_mask(request: DiffusionRequest) -> torch.Tensor | None:
        """ComfyUI's latent noise mask (1 where the frame is diffused) of the kept area."""
        if request.keep_mask is None or not request.is_img2img:
            return None
        return (1 - request.keep_mask.float())[None, None]

    def _noise(self, request: DiffusionRequest, latent: torch.Tensor) -> torch.Tensor:
        """KSampler's noise for the seed (prepare_noise), slerped towards the subseed's and
        scaled by the noise multiplier for img2img frames, as A1111 does."""
        import comfy.sample

        noise = variation_noise(
            lambda: comfy.sample.prepare_noise(latent, request.seed),
            lambda: comfy.sample.prepare_noise(latent, request.subseed),
            request.subseed_strength,
        )
        if request.noise_scale != 1.0:
            noise = noise * request.noise_scale
        return noise

    def _latent(self, request: DiffusionRequest) -> torch.Tensor:
        """The encoded input frame, or an empty latent (txt2img and strength-0 frames: comfy
        leaves an all-zero latent unshifted, so the input cannot leak into the result)."""
        if request.is_img2img:
            return self.vae.encode(request.image[..., :3])
        width, height = request.size
        batch = request.image.shape[0] if request.image is not None else 1
        channels = getattr(self.vae, "latent_channels", 4)
        scale = getattr(self.vae, "downscale_ratio", 8)
        latent = torch.zeros(batch, channels, height // scale, width // scale)
        import comfy.sample

        fix_channels = getattr(comfy.sample, "fix_empty_latent_channels", None)  # newer only
        return fix_channels(self.model, latent) if fix_channels is not None else latent

    def _decode(self, samples: torch.Tensor) -> torch.Tensor:
        image = self.vae.decode(samples)
        if image.ndim == 5:  # video VAEs decode [B, T, H, W, C]
            image = image.reshape(-1, *image.shape[-3:])
        return image

    def _encode_text(self, text: str, clip_skip: int = 1) -> Embedding:
        clip = self._clip(clip_skip)
        tokens = clip.tokenize(text)
        cond, pooled = clip.encode_from_tokens(tokens, return_pooled=True)
        return Embedding(cond, pooled)

    def _clip(self, clip_skip: int) -> Any:
        """The CLIP that reads layer -clip_skip: for 1 the user's CLIP as connected (with any
        CLIP Set Last Layer already applied upstream); deeper ones a clone set the way
        ComfyUI's CLIP Set Last Layer node sets it, so the user's CLIP is never changed."""
        if clip_skip == 1:
            return self.clip
        clip = self._skipping_clips.get(clip_skip)
        if clip is None:
            clip = self.clip.clone()
            clip.clip_layer(-clip_skip)
            self._skipping_clips[clip_skip] = clip
        return clip


_NO_VALUES = torch.empty(0)


def _weights(name: str, part: Any) -> Iterator[tuple[str, torch.Tensor]]:
    """A ModelPatcher's (or a module's) weights and patches as named tensors; a patch's
    numbers (LoRA strengths) are carried in the names."""
    module = getattr(part, "model", part)
    if isinstance(module, torch.nn.Module):
        for key, tensor in module.state_dict().items():
            yield f"{name}.{key}", tensor
    for key, patches in sorted(getattr(part, "patches", {}).items()):
        for index, value in enumerate(_leaves(patches)):
            if isinstance(value, torch.Tensor):
                yield f"{name}.patch.{key}.{index}", value
            else:
                yield f"{name}.patch.{key}.{index}={value!r}", _NO_VALUES


def _leaves(value: Any) -> Iterator[Any]:
    """The tensors and plain values in a nested patch entry (tuples, lists, adapters)."""
    if isinstance(value, list | tuple):
        for item in value:
            yield from _leaves(item)
    elif hasattr(value, "weights"):  # newer ComfyUI wraps LoRA weights in adapter objects
        yield type(value).__name__
        yield from _leaves(value.weights)
    elif isinstance(value, torch.Tensor | int | float | str | bool) or value is None:
        yield value
    else:
        yield type(value).__name__


def _conditioning(embedding: Embedding) -> list[list[Any]]:
    """ComfyUI's CONDITIONING: a list of [token embeddings, {"pooled_output": ...}]."""
    extras = {"pooled_output": embedding.pooled} if embedding.pooled is not None else {}
    return [[embedding.tokens, extras]]


def _controlled(
    positive: list[list[Any]], negative: list[list[Any]], controls: Sequence[ControlHint], vae: Any
) -> tuple[list[list[Any]], list[list[Any]]]:
    """The conditioning with the frame's ControlNets, chained in order the way ComfyUI's
    Apply ControlNet (Advanced) node chains them: a copy of the CONTROL_NET given the hint
    ([B, C, H, W] in 0..1), the weight as strength and (start, end) as its percent range,
    linked to the control already there (set_previous_controlnet) and put in each entry's
    'control', one copy shared by the positive and negative entries that had the same one.

    Mode controlnet leaves the negative conditioning without the unit, so the unconditional
    pass runs without it. ComfyUI's ControlNet scales every block by one strength, so
    soft injection (modes prompt and controlnet) is not available: mode prompt applies as
    balanced here (the diffusers backend has both)."""
    for control in controls:
        model = control.model
        if not callable(getattr(model, "set_cond_hint", None)):
            raise DiffusionError(
                f"the ComfyUI backend cannot run a {type(model).__name__} ControlNet",
                parameter="control_net",
                hint="load it with ComfyUI's Load ControlNet Model (Deforum ControlNet Loader "
                "is for the diffusers backend)",
            )
        made: dict[int, Any] = {}  # one copy per control it follows, as ComfyUI's node does
        positive = _with_control(positive, control, vae, made)
        if control.on_unconditional:
            negative = _with_control(negative, control, vae, made)
    return positive, negative


def _with_control(
    conditioning: list[list[Any]], control: ControlHint, vae: Any, made: dict[int, Any]
) -> list[list[Any]]:
    hinted = []
    for tokens, extras in conditioning:
        extras = extras.copy()
        previous = extras.get("control")
        if id(previous) not in made:
            model = control.model
            takes_vae = "vae" in inspect.signature(model.set_cond_hint).parameters  # 2025 on
            options = {"vae": vae} if takes_vae else {}
            chained = model.copy().set_cond_hint(
                control.image[..., :3].movedim(-1, 1), control.weight,
                (control.start, control.end), **options,
            )  # fmt: skip
            chained.set_previous_controlnet(previous)
            made[id(previous)] = chained
        extras["control"] = made[id(previous)]
        extras["control_apply_to_uncond"] = False
        hinted.append([tokens, extras])
    return hinted


def _latent_previewer(model: Any) -> Any:
    """ComfyUI's latent previewer (its --preview-method), None without one. Only the
    pictures are taken from it: the progress is the loop's, over the whole render (ComfyUI's
    own sampler callback would start a bar of its own on every frame)."""
    try:
        import latent_preview
    except ImportError:
        return None
    return latent_preview.get_previewer(model.load_device, model.model.latent_format)


def _step_preview(previewer: Any, x0: torch.Tensor, size: tuple[int, int]) -> Any:
    """The latent preview of a step at the frame's own size (the page labels a preview with
    its size; a latent's is an eighth of the frame's)."""
    _, picture, _ = previewer.decode_latent_to_preview_image("JPEG", x0)
    return picture.resize(size)
