"""Short fingerprints of what makes two renders differ: images, model files, loaded weights.

A run's record names its init image, model files and weights by fingerprint, so a resume
can tell a changed input from an unchanged one. Model files are gigabytes: their fingerprint
reads the size and a few spread-out blocks rather than every byte, which tells any two real
checkpoints apart in milliseconds. Nothing here depends on the device a tensor is on.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable
from pathlib import Path

import torch

_BLOCK = 1 << 16
_BLOCKS = 16
_SAMPLES = 16
WEIGHT_SUFFIXES = (".safetensors", ".ckpt", ".pt", ".pth", ".bin", ".gguf")


def tensor_digest(tensor: torch.Tensor) -> str:
    """A short fingerprint of an image's values, to record which one a render used."""
    data = tensor.detach().to("cpu", torch.float32).contiguous().numpy().tobytes()
    return hashlib.sha256(data).hexdigest()[:16]


def _file_blocks(digest: hashlib._Hash, path: Path) -> None:
    size = path.stat().st_size
    digest.update(str(size).encode())
    with open(path, "rb") as stream:
        step = max(_BLOCK, size // _BLOCKS)
        for offset in range(0, size, step):
            stream.seek(offset)
            digest.update(stream.read(_BLOCK))
        stream.seek(max(0, size - _BLOCK))
        digest.update(stream.read(_BLOCK))


def file_fingerprint(path: str | os.PathLike) -> str:
    """A fingerprint of a weights file, or of every weights file in a model folder."""
    path = Path(path)
    digest = hashlib.sha256()
    if path.is_dir():
        files = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix in WEIGHT_SUFFIXES)
        for file in files:
            digest.update(file.relative_to(path).as_posix().encode())
            _file_blocks(digest, file)
    else:
        _file_blocks(digest, path)
    return digest.hexdigest()[:16]


def weights_fingerprint(named_tensors: Iterable[tuple[str, torch.Tensor]]) -> str:
    """A fingerprint of loaded weights: every tensor's name, shape and a few sampled values
    (as float32, wherever the tensor lives)."""
    digest = hashlib.sha256()
    for name, tensor in named_tensors:
        digest.update(f"{name}:{tuple(tensor.shape)}:{tensor.dtype}".encode())
        flat = tensor.detach().reshape(-1)
        if flat.numel():
            stride = max(1, flat.numel() // _SAMPLES)
            sample = flat[::stride][:_SAMPLES].to("cpu", torch.float32)
            digest.update(sample.numpy().tobytes())
    return digest.hexdigest()[:16]
