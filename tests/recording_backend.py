"""A stand-in diffuser for render tests: fast, deterministic, and it records every request."""

from __future__ import annotations

import torch

from deforum_core.diffusion.backend import DiffusionRequest, DiffusionResult
from deforum_core.render.rundir import quantize


class RecordingBackend:
    """A stand-in diffuser: returns a random picture drawn from the request's seed, mixed
    with the input by strength, and records every request."""

    name = "recording"

    def describe(self) -> dict:
        return {"backend": self.name}

    def __init__(self) -> None:
        self.requests: list[DiffusionRequest] = []
        self.outputs: list[torch.Tensor] = []

    def diffuse(self, request: DiffusionRequest) -> DiffusionResult:
        self.requests.append(request)
        generator = torch.Generator().manual_seed(request.seed)
        fresh = torch.rand(1, request.height, request.width, 3, generator=generator)
        if request.image is not None:
            fresh = request.image * request.strength + fresh * (1 - request.strength)
        self.outputs.append(quantize(fresh))
        return DiffusionResult(fresh, request.steps)
