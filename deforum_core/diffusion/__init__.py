"""The img2img diffusion stage: one backend interface, Deforum's strength rule, diffusers.

The ComfyUI-native backend lives with the nodes (it needs ComfyUI); everything here runs
without ComfyUI, and diffusers is imported only when a diffusers model is loaded.
"""

from .backend import (
    DiffusionBackend,
    DiffusionError,
    DiffusionRequest,
    DiffusionResult,
    FrameText,
    check_request,
    check_size,
    unchanged,
)
from .conditioning import Embedding, EmbeddingCache, blend_embeddings, frame_embeddings
from .diffusers_backend import DiffusersBackend, load_diffusers_backend
from .samplers import DIFFUSERS_SAMPLERS, SAMPLER_ALIASES, scheduler_spec
from .steps import start_step, steps_to_run

__all__ = [
    "DIFFUSERS_SAMPLERS",
    "SAMPLER_ALIASES",
    "DiffusersBackend",
    "DiffusionBackend",
    "DiffusionError",
    "DiffusionRequest",
    "DiffusionResult",
    "Embedding",
    "EmbeddingCache",
    "FrameText",
    "blend_embeddings",
    "check_request",
    "check_size",
    "frame_embeddings",
    "load_diffusers_backend",
    "scheduler_spec",
    "start_step",
    "steps_to_run",
    "unchanged",
]
