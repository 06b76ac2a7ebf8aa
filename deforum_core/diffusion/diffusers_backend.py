"""The diffusers backend: SD 1.x/2.x/SDXL from a diffusers folder or a single checkpoint file.

Used by the command line and by the Deforum Diffusers Loader node. Loading never reaches a
model hub (local_files_only). The denoising loop is the pack's own rather than a diffusers
pipeline's __call__, so the strength→steps rule is exactly Deforum's (steps.py) instead of
diffusers' `int(steps * strength)`, and all noise comes from one seeded CPU generator (a
variation seed's noise from a second one). diffusers and transformers are imported inside
functions: importing the pack stays light.
"""

from __future__ import annotations

import inspect
from functools import cached_property
from pathlib import Path
from typing import Any

import torch

from ..fingerprint import file_fingerprint, weights_fingerprint
from .backend import DiffusionError, DiffusionRequest, DiffusionResult, check_request, unchanged
from .conditioning import Embedding, EmbeddingCache, frame_embeddings
from .masked import keeping_masked
from .pipeline_files import read_pipeline
from .samplers import scheduler_spec
from .variation import variation_noise


class DiffusersBackend:
    """Diffuses frames with a loaded StableDiffusion(XL)Pipeline's components."""

    name = "diffusers"

    def __init__(
        self, pipeline: Any, sampler: str = "euler_a", source: str | Path | None = None
    ) -> None:
        """source: the checkpoint file or diffusers folder the pipeline was loaded from."""
        import diffusers

        spec = scheduler_spec(sampler)
        self.sampler = sampler
        self.source = None if source is None else Path(source)
        self._scheduler_class = getattr(diffusers, spec.class_name)
        self._scheduler_config = {**pipeline.scheduler.config, **spec.overrides}
        self.pipeline = pipeline
        for component in pipeline.components.values():
            if isinstance(component, torch.nn.Module):
                component.eval()  # dropout and friends off: the same seed gives the same frame
        self.is_xl = getattr(pipeline, "text_encoder_2", None) is not None
        if self.is_xl:
            _check_xl_base(pipeline)
        self.embeddings = EmbeddingCache(self._encode_text)

    def with_sampler(self, sampler: Any) -> DiffusersBackend:
        """The same loaded model with a settings file's sampler (a SamplerChoice)."""
        if sampler.diffusers == self.sampler:
            return self
        chosen = DiffusersBackend(self.pipeline, sampler.diffusers, source=self.source)
        chosen.embeddings = self.embeddings  # the same text encoders
        return chosen

    @property
    def device(self) -> torch.device:
        return self.pipeline.unet.device

    def describe(self) -> dict[str, Any]:
        """What makes this backend's frames what they are, for the run's record. The
        scheduler's config is in it: the sampler name sets the class and a few overrides, but
        the rest (timestep spacing, beta schedule, prediction type) comes from the model's own
        scheduler config, which a folder can change without touching a weights file."""
        return {
            "backend": self.name,
            "sampler": self.sampler,
            "scheduler": self._scheduler_class.__name__,
            "scheduler_config": {
                key: value
                for key, value in sorted(self._scheduler_config.items())
                if not key.startswith("_")  # diffusers' bookkeeping: version, source class
            },
            "model_file": None if self.source is None else self.source.name,
            "model_fingerprint": self._fingerprint,
        }

    @cached_property
    def _fingerprint(self) -> str:
        """Of the model file or folder it was loaded from, else of the loaded weights."""
        if self.source is not None:
            return file_fingerprint(self.source)
        modules = [c for c in self.pipeline.components.values() if isinstance(c, torch.nn.Module)]
        return weights_fingerprint(
            (name, tensor) for module in modules for name, tensor in module.state_dict().items()
        )

    def diffuse(self, request: DiffusionRequest) -> DiffusionResult:
        self._check(request)
        kept = unchanged(request)
        if kept is not None:
            return kept
        with torch.inference_mode():
            image = self._diffuse(request)
        target = request.image.device if request.image is not None else torch.device("cpu")
        return DiffusionResult(image.to(target), request.steps - request.start)

    def start_latents(self, request: DiffusionRequest) -> torch.Tensor:
        """The latents the denoising loop of `request` starts from: the encoded input frame
        with the frame's noise added (img2img), or the scaled noise; a frame that runs no
        step (strength 1) has only its encoded input. diffuse() starts from exactly these, so
        tests and tools can see what the noise settings did."""
        self._check(request)
        with torch.inference_mode():
            if unchanged(request) is not None:
                return self._encode_image(request.image)
            return self._start(request)[2]

    def _check(self, request: DiffusionRequest) -> None:
        check_request(request)
        if request.clip_skip == 1:
            return
        if self.is_xl:
            raise DiffusionError(
                f"clip_skip {request.clip_skip} is not supported for SDXL models by the "
                "diffusers backend",
                hint="use clip skip 1: SDXL already reads its text encoders' penultimate "
                "layer, and A1111 ignores Clip skip for SDXL unless sdxl_clip_l_skip is on",
            )
        layers = self.pipeline.text_encoder.config.num_hidden_layers
        if request.clip_skip > layers:
            raise DiffusionError(
                f"clip_skip {request.clip_skip} is deeper than the model's text encoder, "
                f"which has {layers} layers",
                hint=f"use a clip skip from 1 to {layers}",
            )

    def _start(self, request: DiffusionRequest) -> tuple[Any, torch.Tensor, torch.Tensor, Any]:
        """The scheduler set to the frame's steps, the timesteps to run, the starting
        latents and the seeded generator the sampler's later noise comes from."""
        unet, vae = self.pipeline.unet, self.pipeline.vae
        scheduler = self._scheduler_class.from_config(self._scheduler_config)
        scheduler.set_timesteps(request.steps, device=self.device)
        begin = request.start * scheduler.order
        timesteps = scheduler.timesteps[begin:]
        if hasattr(scheduler, "set_begin_index"):
            scheduler.set_begin_index(begin)

        width, height = request.size
        factor = 2 ** (len(vae.config.block_out_channels) - 1)
        batch = request.image.shape[0] if request.image is not None else 1
        shape = (batch, unet.config.in_channels, height // factor, width // factor)
        generator = torch.Generator("cpu").manual_seed(request.seed)
        subseed = request.subseed
        noise = variation_noise(
            lambda: torch.randn(shape, generator=generator),
            lambda: torch.randn(shape, generator=torch.Generator("cpu").manual_seed(subseed)),
            request.subseed_strength,
        ).to(self.device, unet.dtype)
        if request.noise_scale != 1.0:
            noise = noise * request.noise_scale
        if request.is_img2img:
            encoded = self._encode_image(request.image)
            latents = scheduler.add_noise(encoded, noise, timesteps[:1])
            scheduler = keeping_masked(scheduler, request.keep_mask, encoded, noise, timesteps)
        else:
            latents = noise * scheduler.init_noise_sigma
        return scheduler, timesteps, latents, generator

    def _diffuse(self, request: DiffusionRequest) -> torch.Tensor:
        unet = self.pipeline.unet
        scheduler, timesteps, latents, generator = self._start(request)
        width, height = request.size
        batch = latents.shape[0]
        positive, negative = frame_embeddings(self.embeddings, request.text, request.clip_skip)
        guided = request.cfg != 1.0
        conditioning = self._unet_conditioning(positive, negative, batch, guided, (height, width))
        step_takes_generator = "generator" in inspect.signature(scheduler.step).parameters
        extra = {"generator": generator} if step_takes_generator else {}
        control = _frame_control(request, len(timesteps), self.device, unet.dtype)
        for done, timestep in enumerate(timesteps, 1):
            if request.check_cancel is not None:
                request.check_cancel()
            model_input = torch.cat([latents, latents]) if guided else latents
            model_input = scheduler.scale_model_input(model_input, timestep)
            residuals = {} if control is None else control.residuals(
                done - 1, model_input, timestep, conditioning, guided)  # fmt: skip
            prediction = unet(model_input, timestep, **conditioning, **residuals).sample
            if guided:
                unconditional, conditional = prediction.chunk(2)
                prediction = unconditional + request.cfg * (conditional - unconditional)
            latents = scheduler.step(prediction, timestep, latents, **extra).prev_sample
            request.report_step(done, len(timesteps))
        return self._decode(latents)

    def _unet_conditioning(
        self,
        positive: Embedding,
        negative: Embedding,
        batch: int,
        guided: bool,
        size: tuple[int, int],
    ) -> dict[str, Any]:
        """UNet keyword arguments: text embeddings (negative first when guided), and for
        SDXL the pooled embeddings and size ids (original size, crop 0,0, target size)."""
        parts = [negative, positive] if guided else [positive]
        dtype = self.pipeline.unet.dtype
        tokens = torch.cat([part.tokens.expand(batch, -1, -1) for part in parts]).to(dtype)
        arguments: dict[str, Any] = {"encoder_hidden_states": tokens}
        if self.is_xl:
            pooled = torch.cat([part.pooled.expand(batch, -1) for part in parts]).to(dtype)
            ids = torch.tensor([[*size, 0, 0, *size]], device=self.device, dtype=dtype)
            arguments["added_cond_kwargs"] = {
                "text_embeds": pooled,
                "time_ids": ids.expand(pooled.shape[0], -1),
            }
        return arguments

    def _encode_text(self, text: str, clip_skip: int = 1) -> Embedding:
        if clip_skip > 1:
            return Embedding(self._encode_skipping(text, clip_skip))
        encoded = self.pipeline.encode_prompt(
            prompt=text, device=self.device, num_images_per_prompt=1,
            do_classifier_free_guidance=False,
        )  # fmt: skip
        tokens = encoded[0]
        pooled = encoded[2] if self.is_xl else None
        if self.is_xl and not text and self.pipeline.config.force_zeros_for_empty_prompt:
            # SDXL was trained with zeros, not the encoded empty text, as "no prompt"
            tokens, pooled = torch.zeros_like(tokens), torch.zeros_like(pooled)
        return Embedding(tokens, pooled)

    def _encode_skipping(self, text: str, clip_skip: int) -> torch.Tensor:
        """A1111's clip skip (SD 1.x/2.x; SDXL is refused in _check): the text encoder's hidden
        state clip_skip layers from the end, through its final layer norm. This is what
        encode_prompt(clip_skip=clip_skip - 1) computes, done here because that diffusers path
        looks the norm up as text_encoder.text_model, which transformers 5.6 removed from
        CLIPTextModel (its layers now sit on the model itself; huggingface/diffusers#14124)."""
        pipeline = self.pipeline
        if hasattr(pipeline, "maybe_convert_prompt"):  # textual inversion tokens, as encode_prompt
            text = pipeline.maybe_convert_prompt(text, pipeline.tokenizer)
        inputs = pipeline.tokenizer(
            text, padding="max_length", max_length=pipeline.tokenizer.model_max_length,
            truncation=True, return_tensors="pt",
        )  # fmt: skip
        encoder = pipeline.text_encoder
        mask = None
        if getattr(encoder.config, "use_attention_mask", False):
            mask = inputs.attention_mask.to(self.device)
        output = encoder(inputs.input_ids.to(self.device), attention_mask=mask,
                         output_hidden_states=True)  # fmt: skip
        final_norm = getattr(encoder, "text_model", encoder).final_layer_norm
        return final_norm(output.hidden_states[-clip_skip]).to(encoder.dtype)

    def _encode_image(self, image: torch.Tensor) -> torch.Tensor:
        vae = self.pipeline.vae
        pixels = image[..., :3].permute(0, 3, 1, 2).to(self.device, vae.dtype) * 2.0 - 1.0
        latents = vae.encode(pixels).latent_dist.mode()
        shift = getattr(vae.config, "shift_factor", None) or 0.0
        return ((latents - shift) * vae.config.scaling_factor).to(self.pipeline.unet.dtype)

    def _decode(self, latents: torch.Tensor) -> torch.Tensor:
        vae = self.pipeline.vae
        shift = getattr(vae.config, "shift_factor", None) or 0.0
        latents = latents.to(vae.dtype) / vae.config.scaling_factor + shift
        pixels = vae.decode(latents).sample
        return (pixels / 2 + 0.5).clamp(0, 1).permute(0, 2, 3, 1).float()


def _frame_control(
    request: DiffusionRequest, steps: int, device: torch.device, dtype: torch.dtype
) -> Any:
    """The request's ControlNets for its UNet calls (controlnet/diffusers_control.py), or
    None without any."""
    if not request.control:
        return None
    from ..controlnet.diffusers_control import FrameControl

    return FrameControl(request.control, request.size, steps, device, dtype)


def _check_xl_base(pipeline: Any) -> None:
    """SDXL refiners condition on an aesthetic score instead of the crop/size ids."""
    unet = pipeline.unet
    expected = (
        6 * unet.config.addition_time_embed_dim + pipeline.text_encoder_2.config.projection_dim
    )
    if unet.add_embedding.linear_1.in_features != expected:
        raise DiffusionError(
            "SDXL refiner checkpoints are not supported by the Deforum diffusion stage",
            parameter="model",
            hint="load an SDXL base checkpoint",
        )


def default_device() -> torch.device:
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def load_diffusers_backend(
    source: str | Path,
    *,
    sampler: str = "euler_a",
    config: str | Path | None = None,
    device: str | torch.device | None = None,
) -> DiffusersBackend:
    """Load a diffusers folder or a single-file SD 1.x/2.x/SDXL checkpoint, offline.

    Half precision on a GPU, float32 on the CPU; the VAE stays float32 where its config asks
    for it (force_upcast), since SD VAEs overflow in half precision.
    """
    scheduler_spec(sampler)  # an unknown sampler fails before the model is loaded
    path = Path(source).expanduser()
    device = torch.device(device) if device is not None else default_device()
    dtype = torch.float16 if device.type == "cuda" else torch.float32
    pipeline = read_pipeline(path, dtype, config)
    pipeline.to(device)
    if getattr(pipeline.vae.config, "force_upcast", False):
        pipeline.vae.to(torch.float32)
    pipeline.set_progress_bar_config(disable=True)
    return DiffusersBackend(pipeline, sampler, source=path)
