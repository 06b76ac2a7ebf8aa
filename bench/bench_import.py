"""Import benchmark: what loading the pack adds to ComfyUI's start-up.

ComfyUI has torch loaded before it imports custom nodes, so the figure that matters is the
time of importing the pack on top of torch, printed beside the time of importing torch itself
(the reference every pack pays). Each sample is a fresh interpreter; medians of N samples.

Run: .venv/bin/python bench/bench_import.py [--repeats 7]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]

PROBE = """
import importlib.util, json, sys, time
started = time.perf_counter()
import torch
torch_seconds = time.perf_counter() - started
root = sys.argv[1]
spec = importlib.util.spec_from_file_location(
    "deforum_pack", root + "/__init__.py", submodule_search_locations=[root])
module = importlib.util.module_from_spec(spec)
sys.modules["deforum_pack"] = module
started = time.perf_counter()
spec.loader.exec_module(module)
print(json.dumps({"torch": torch_seconds, "pack": time.perf_counter() - started}))
"""


def sample() -> dict[str, float]:
    """One fresh interpreter's import times in seconds."""
    result = subprocess.run(
        [sys.executable, "-c", PROBE, str(REPO_ROOT)], capture_output=True, text=True, check=True
    )
    return json.loads(result.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    samples = [sample() for _ in range(args.repeats)]
    torch_ms = statistics.median(s["torch"] for s in samples) * 1000
    pack_ms = statistics.median(s["pack"] for s in samples) * 1000
    spread = [round(s["pack"] * 1000) for s in samples]
    print(f"import torch (reference): {torch_ms:8.1f} ms median of {args.repeats}")
    print(f"import pack after torch:  {pack_ms:8.1f} ms median, samples {sorted(spread)}")
    print(f"ratio pack/torch: {pack_ms / torch_ms:.2f}")


if __name__ == "__main__":
    main()
