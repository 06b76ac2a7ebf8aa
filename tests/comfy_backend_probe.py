"""Run the ComfyUI backend inside a real ComfyUI, in this process, without a server.

    python comfy_backend_probe.py COMFYUI_TREE CHECKPOINT OUT

Loads the checkpoint with comfy.sd, diffuses a set of frames through ComfyBackend and saves
(torch.save) what comfy's sampler was given: every frame's first model call is recorded
through ComfyUI's own model wrapper hook (ModelPatcher.set_model_unet_function_wrapper), so
the test sees the latent the sampler starts from and the conditioning, not the backend's
idea of them. It also saves references computed with ComfyUI alone: prepare_noise for the
seeds, and the conditioning of a CLIP set by ComfyUI's CLIP Set Last Layer node.
The test (tests/integration/test_comfyui_frame_settings.py) runs it once per ComfyUI.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
SIZE = 64
SEED, SUBSEED = 5, 9
PROMPT = "a lake"


def main(tree: Path, checkpoint: Path, out: Path) -> None:
    sys.argv = [sys.argv[0], "--cpu"]
    sys.path[:0] = [str(tree), str(REPO_ROOT)]  # ComfyUI's nodes.py before the pack's nodes/
    os.chdir(tree)
    import comfy.options
    import torch

    comfy.options.enable_args_parsing()  # so comfy.cli_args reads --cpu
    import comfy.sample
    import comfy.sd

    import nodes as comfy_nodes
    from deforum_core.diffusion import DiffusionRequest, FrameText

    spec = importlib.util.spec_from_file_location(
        "probed_comfy_backend", REPO_ROOT / "nodes" / "comfy_backend.py"
    )
    assert spec is not None and spec.loader is not None
    backend_module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(backend_module)

    with torch.inference_mode():
        model, clip, vae = comfy.sd.load_checkpoint_guess_config(
            str(checkpoint), output_vae=True, output_clip=True
        )[:3]

    calls: list[dict[str, Any]] = []

    def record(apply_model: Any, args: dict[str, Any]) -> Any:
        calls.append(
            {
                "input": args["input"].detach().clone(),
                "crossattn": args["c"]["c_crossattn"].detach().clone(),
                "order": list(args["cond_or_uncond"]),
            }
        )
        return apply_model(args["input"], args["timestep"], **args["c"])

    spied = model.clone()
    spied.set_model_unet_function_wrapper(record)
    backend = backend_module.ComfyBackend(spied, clip, vae, "euler", "normal")
    image = torch.rand(1, SIZE, SIZE, 3, generator=torch.Generator().manual_seed(3))
    decoded: list[Any] = []  # the sampler's result, before the VAE
    decode = backend._decode
    backend._decode = lambda samples: decoded.append(samples.detach().clone()) or decode(samples)
    keep = torch.zeros(SIZE, SIZE)
    keep[:, : SIZE // 2] = 1.0  # the left half kept

    def run(strength: float = 0.5, with_image: bool = True, **fields: Any) -> dict[str, Any]:
        calls.clear()
        fields.setdefault("seed", SEED)
        request = DiffusionRequest(
            FrameText(PROMPT, "blurry"), strength, 4, 7.0, width=SIZE, height=SIZE,
            image=image if with_image else None, **fields,
        )  # fmt: skip
        with torch.inference_mode():
            frame = backend.diffuse(request).image.clone()
        first = calls[0]
        conditioned = next(call for call in calls if 0 in call["order"])
        rows = conditioned["crossattn"].shape[0] // len(conditioned["order"])
        at = conditioned["order"].index(0) * rows
        return {
            "frame": frame,
            "start": first["input"][:1],
            "cond": conditioned["crossattn"][at : at + rows],
            "samples": decoded[-1],
        }

    results: dict[str, Any] = {
        "plain": run(),
        "explicit_defaults": run(noise_multiplier=1.0, subseed=SUBSEED, clip_skip=1),
        "multiplier_0": run(noise_multiplier=0.0),
        "multiplier_1_05": run(noise_multiplier=1.05),
        "multiplier_2": run(noise_multiplier=2.0),
        "txt2img": run(strength=0.0, with_image=False),
        "txt2img_1_05": run(strength=0.0, with_image=False, noise_multiplier=1.05),
        "variation_0_5": run(subseed=SUBSEED, subseed_strength=0.5),
        "variation_1": run(subseed=SUBSEED, subseed_strength=1.0),
        "seed_is_subseed": run(seed=SUBSEED),
        "clip_skip_2": run(clip_skip=2),
        "after_clip_skip": run(),
        "masked": run(keep_mask=keep),
        "masked_other_seed": run(keep_mask=keep, seed=SUBSEED),
    }
    with torch.inference_mode():
        latent = vae.encode(image[..., :3])
        (last_layer,) = comfy_nodes.CLIPSetLastLayer().set_last_layer(clip, -2)
        tokens = last_layer.tokenize(PROMPT)
        reference_cond = last_layer.encode_from_tokens(tokens, return_pooled=True)[0]
    results["references"] = {
        "seed_noise": comfy.sample.prepare_noise(latent, SEED),
        "subseed_noise": comfy.sample.prepare_noise(latent, SUBSEED),
        "clip_skip_2_cond": reference_cond,
        "user_clip_layer": clip.layer_idx,
        "latent": latent,
    }
    torch.save(results, out)


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3]))
