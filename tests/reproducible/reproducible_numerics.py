"""The numerics the tests render with: the same kernels whatever the CPU offers.

The render digests (tests/golden/render_digests.json) fail on a level of difference, and torch
picks its kernels by the CPU it runs on: ATen's vectorised code by instruction set (AVX2,
AVX-512), oneDNN's convolutions by instruction set and cache sizes, MKL by vendor, and
reductions split by the thread count. Measured on one machine with the tiny models: each of
those choices alone moves a 3D render's sixth frame by 20 to 88 levels. Pinned here, in the
test process and (through sitecustomize.py on PYTHONPATH) in every process it starts: ATen's
portable kernels, one thread, MKL's conditional numerical reproducibility, oneDNN and NNPACK
off.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import os
import sys
from pathlib import Path

ENVIRONMENT = {
    "ATEN_CPU_CAPABILITY": "default",  # read when torch loads
    "MKL_CBWR": "COMPATIBLE",  # the same results on every Intel and AMD CPU
    "OMP_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
}
FOLDER = Path(__file__).resolve().parent


def pin_numerics() -> None:
    """Pin the kernels for this process and the processes it starts; call before torch loads."""
    if "torch" in sys.modules:
        raise RuntimeError(
            "torch was imported before the tests pinned their numerics; start the tests with "
            "the command in README.md, without plugins that import torch"
        )
    os.environ.update(ENVIRONMENT)
    paths = [str(FOLDER), *filter(None, os.environ.get("PYTHONPATH", "").split(os.pathsep))]
    os.environ["PYTHONPATH"] = os.pathsep.join(dict.fromkeys(paths))
    sys.meta_path.insert(0, _TorchHook())


def _turn_onednn_off(torch) -> None:
    """oneDNN and NNPACK off (ATen's own convolutions), one intra-op thread."""
    torch.backends.mkldnn.enabled = False
    torch.backends.nnpack.set_flags(False)
    torch.set_num_threads(1)


class _TorchHook(importlib.abc.MetaPathFinder):
    """Turns oneDNN off as soon as torch has loaded (no environment variable does that)."""

    def find_spec(self, name, path=None, target=None):
        if name != "torch":
            return None
        sys.meta_path.remove(self)
        spec = importlib.machinery.PathFinder.find_spec(name, path)
        if spec is None or spec.loader is None:
            return spec
        load = spec.loader.exec_module

        def exec_module(module) -> None:
            load(module)
            _turn_onednn_off(module)

        spec.loader.exec_module = exec_module
        return spec
