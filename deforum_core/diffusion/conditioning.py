"""Prompt conditioning shared by the backends: encode each text once, blend between prompts.

Deforum interpolates from the current keyframed prompt to the next one by the prompt
schedule's weight. Encoders give [B, 77·k, C] embeddings (k token chunks) and an optional
pooled vector; two prompts may have different chunk counts, so the shorter one is padded
with chunks of the empty prompt (what the text encoder itself puts after a short prompt)
before they are interpolated: linearly (Deforum's blend), or spherically (FrameText's
interpolation "spherical", Interpolation mode's default): each token vector, and the pooled
vector, turns from the first prompt's towards the second's by the weight's share of the angle
between them, its length going linearly from one length to the other. A linear blend of two
vectors that point different ways is shorter than both (by cos(angle/2) halfway), which
weakens the conditioning mid-morph; the spherical one keeps it as strong as the prompts'.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

import torch

from .backend import LINEAR, PROMPT_INTERPOLATIONS, DiffusionError, FrameText


@dataclass(frozen=True)
class Embedding:
    """A text encoder's output for one prompt: token embeddings and an optional pooled one."""

    tokens: torch.Tensor  # [B, T, C]
    pooled: torch.Tensor | None = None


class EmbeddingCache:
    """Encodes each distinct text once; keeps the most recently used `capacity` texts.

    Prompts with per-frame math render a new text on every frame, so the cache is bounded.
    Entries are keyed on the text and the clip skip it was encoded with (a scheduled clip skip
    encodes the same prompt from another layer): clip skip 1, the last layer, calls
    encode(text), so one-argument encoders keep working; deeper ones call encode(text, clip_skip).
    """

    def __init__(self, encode: Callable[..., Embedding], capacity: int = 32) -> None:
        self._encode = encode
        self._capacity = capacity
        self._entries: OrderedDict[tuple[str, int], Embedding] = OrderedDict()
        self.encoded = 0  # how many texts were actually run through the encoder

    def __call__(self, text: str, clip_skip: int = 1) -> Embedding:
        key = (text, clip_skip)
        entry = self._entries.get(key)
        if entry is None:
            entry = self._encode(text) if clip_skip == 1 else self._encode(text, clip_skip)
            self.encoded += 1
            self._entries[key] = entry
            if len(self._entries) > self._capacity:
                self._entries.popitem(last=False)
        else:
            self._entries.move_to_end(key)
        return entry


def pad_tokens(tokens: torch.Tensor, length: int, pad_chunk: torch.Tensor) -> torch.Tensor:
    """Extend [B, T, C] token embeddings to `length` tokens with copies of `pad_chunk`."""
    missing = length - tokens.shape[1]
    if missing <= 0:
        return tokens
    chunk = pad_chunk.to(tokens).expand(tokens.shape[0], -1, -1)
    copies = -(-missing // chunk.shape[1])
    padding = chunk.repeat(1, copies, 1)[:, :missing]
    return torch.cat([tokens, padding], dim=1)


PARALLEL_COSINE = 0.9995  # closer than this (about 1.8 degrees), vectors are lerped


def slerp_vectors(start: torch.Tensor, end: torch.Tensor, weight: float) -> torch.Tensor:
    """Spherical interpolation of the vectors along the last dimension: the direction turns
    by weight·angle from start's towards end's, the length goes linearly from start's to
    end's. Vectors (nearly) parallel, antiparallel or zero are interpolated linearly, so
    equal vectors stay exactly as they are. Computed in float32 or better, returned in
    start's dtype."""
    work = torch.promote_types(start.dtype, torch.float32)
    a, b = start.to(work), end.to(device=start.device, dtype=work)
    a_length = a.norm(dim=-1, keepdim=True)
    b_length = b.norm(dim=-1, keepdim=True)
    a_unit = a / a_length.clamp_min(1e-12)
    b_unit = b / b_length.clamp_min(1e-12)
    cosine = (a_unit * b_unit).sum(dim=-1, keepdim=True).clamp(-1.0, 1.0)
    angle = torch.acos(cosine)
    sine = torch.sin(angle)
    turnable = (cosine.abs() < PARALLEL_COSINE) & (a_length > 0) & (b_length > 0)
    safe_sine = torch.where(turnable, sine, torch.ones_like(sine))
    direction = (torch.sin((1.0 - weight) * angle) * a_unit
                 + torch.sin(weight * angle) * b_unit) / safe_sine  # fmt: skip
    turned = direction * torch.lerp(a_length, b_length, weight)
    return torch.where(turnable, turned, torch.lerp(a, b, weight)).to(start.dtype)


def blend_embeddings(
    current: Embedding,
    following: Embedding,
    weight: float,
    pad_chunk: torch.Tensor,
    interpolation: str = LINEAR,
) -> Embedding:
    """Interpolation current→following by `weight` (0 gives current exactly, 1 following),
    linear or spherical (see slerp_vectors), of the token and the pooled embeddings."""
    if weight <= 0.0:
        return current
    if weight >= 1.0:
        return following
    if interpolation not in PROMPT_INTERPOLATIONS:
        raise DiffusionError(f"unknown prompt interpolation {interpolation!r}",
                             hint=f"use one of {', '.join(PROMPT_INTERPOLATIONS)}")  # fmt: skip
    mix = _lerp if interpolation == LINEAR else slerp_vectors
    length = max(current.tokens.shape[1], following.tokens.shape[1])
    start = pad_tokens(current.tokens, length, pad_chunk)
    end = pad_tokens(following.tokens, length, pad_chunk)
    pooled = None
    if current.pooled is not None and following.pooled is not None:
        pooled = mix(current.pooled, following.pooled.to(current.pooled), weight)
    return Embedding(mix(start, end.to(start), weight), pooled)


def _lerp(start: torch.Tensor, end: torch.Tensor, weight: float) -> torch.Tensor:
    return torch.lerp(start, end, weight)


def frame_embeddings(
    cache: EmbeddingCache, text: FrameText, clip_skip: int = 1
) -> tuple[Embedding, Embedding]:
    """Positive and negative embeddings of one frame, blended towards the next prompts, all
    read from the text encoder layer `clip_skip` counts back from the last (1: the last)."""
    pairs = ((text.positive, text.next_positive), (text.negative, text.next_negative))
    results = []
    for current, following in pairs:
        embedding = cache(current, clip_skip)
        if text.blend > 0.0 and following is not None and following != current:
            following_embedding = cache(following, clip_skip)
            pad_chunk = cache("", clip_skip).tokens
            embedding = blend_embeddings(embedding, following_embedding, text.blend, pad_chunk,
                                         text.interpolation)  # fmt: skip
        results.append(embedding)
    return results[0], results[1]
