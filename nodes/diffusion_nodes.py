"""Diffusion nodes: build a DEFORUM_DIFFUSER (ComfyUI model or diffusers), diffuse an IMAGE."""

from __future__ import annotations

from typing import Any, ClassVar

from deforum_core.diffusion.backend import (
    DiffusionBackend,
    DiffusionError,
    DiffusionRequest,
    FrameText,
    check_size,
)
from deforum_core.diffusion.samplers import DIFFUSERS_SAMPLERS
from deforum_core.errors import ScheduleError
from deforum_core.prompts import PromptSchedule

from .comfy_backend import ComfyBackend, comfy_sampler_names
from .comfy_bridge import check_interrupt, folder_paths_module
from .model_paths import typed_model_path
from .widgets import SEED_LIMIT, queue_check

CATEGORY = "Deforum/diffusion"
SIZE_LIMIT = 8192
NO_CHECKPOINT = "(use path)"
DIFFUSER_TOOLTIP = "The diffusion backend with its sampler settings, shared by Deforum stages."


class DeforumDiffuser:
    """A DEFORUM_DIFFUSER that samples with the connected ComfyUI model, CLIP and VAE."""

    DESCRIPTION = (
        "Deforum's diffusion backend from a loaded checkpoint: frames are denoised by "
        "ComfyUI's own sampler with the chosen sampler and scheduler."
    )
    CATEGORY = CATEGORY
    SEARCH_ALIASES: ClassVar[list[str]] = [
        "diffuser",
        "sampler",
        "img2img",
        "checkpoint",
        "animation",
    ]
    FUNCTION = "build"
    RETURN_TYPES = ("DEFORUM_DIFFUSER",)
    RETURN_NAMES = ("diffuser",)
    OUTPUT_TOOLTIPS = (DIFFUSER_TOOLTIP,)

    @classmethod
    def INPUT_TYPES(cls):
        samplers, schedulers = comfy_sampler_names()
        return {
            "required": {
                "model": ("MODEL", {"tooltip": "The diffusion model, e.g. from Load Checkpoint."}),
                "clip": ("CLIP", {"tooltip": "The text encoder that encodes the prompts."}),
                "vae": ("VAE", {"tooltip": "The VAE that encodes and decodes the frames."}),
                "sampler_name": (
                    samplers,
                    {
                        "default": "euler_ancestral"
                        if "euler_ancestral" in samplers
                        else samplers[0],
                        "tooltip": "ComfyUI sampler; euler_ancestral is Deforum's default.",
                    },
                ),
                "scheduler": (
                    schedulers,
                    {
                        "default": _default(schedulers, "normal"),
                        "tooltip": "ComfyUI noise schedule.",
                    },
                ),
            }
        }

    def build(self, model, clip, vae, sampler_name, scheduler):
        return (ComfyBackend(model, clip, vae, sampler_name, scheduler),)


def _default(choices: list[str], preferred: str) -> str:
    return preferred if preferred in choices else choices[0]


def _checkpoint_names() -> list[str]:
    folders = folder_paths_module()
    return folders.get_filename_list("checkpoints") if folders else []


class DeforumDiffusersLoader:
    """A DEFORUM_DIFFUSER that samples with diffusers, from a checkpoint file or folder."""

    DESCRIPTION = (
        "Deforum's diffusers backend: loads an SD 1.x/2.x/SDXL checkpoint from ComfyUI's "
        "checkpoints folder or a path (a file or a diffusers folder), offline."
    )
    CATEGORY = CATEGORY
    SEARCH_ALIASES: ClassVar[list[str]] = [
        "diffusers",
        "checkpoint loader",
        "model loader",
        "sampler",
    ]
    FUNCTION = "load"
    RETURN_TYPES = ("DEFORUM_DIFFUSER",)
    RETURN_NAMES = ("diffuser",)
    OUTPUT_TOOLTIPS = (DIFFUSER_TOOLTIP,)

    @classmethod
    def INPUT_TYPES(cls):
        return {
            "required": {
                "ckpt_name": (
                    [NO_CHECKPOINT, *_checkpoint_names()],
                    {
                        "tooltip": f"A file in ComfyUI's checkpoints folder; {NO_CHECKPOINT} "
                        "loads `path` instead."
                    },
                ),
                "path": (
                    "STRING",
                    {
                        "default": "",
                        "tooltip": "A checkpoint file or diffusers folder, used when ckpt_name "
                        f"is {NO_CHECKPOINT}.",
                    },
                ),
                "sampler": (
                    list(DIFFUSERS_SAMPLERS),
                    {"default": "euler_a", "tooltip": "Deforum sampler name."},
                ),
                "config": (
                    "STRING",
                    {
                        "default": "",
                        "tooltip": "For single-file checkpoints: a diffusers folder of the same "
                        "model type whose configs and tokenizers are used (nothing is "
                        "downloaded). Required for single files; ignored for diffusers folders.",
                    },
                ),
            }
        }

    def load(self, ckpt_name, path, sampler, config):
        from deforum_core.diffusion.diffusers_backend import load_diffusers_backend

        if ckpt_name != NO_CHECKPOINT:
            source = folder_paths_module().get_full_path("checkpoints", ckpt_name)
        elif path.strip():
            source = typed_model_path(path, parameter="path")
        else:
            raise DiffusionError(
                "no model chosen",
                parameter="ckpt_name",
                hint=f"pick a ckpt_name, or set ckpt_name to {NO_CHECKPOINT} and fill in path",
            )
        folder = typed_model_path(config, parameter="config") if config.strip() else None
        try:
            return (load_diffusers_backend(source, sampler=sampler, config=folder),)
        except DiffusionError as error:
            if error.parameter != "model":
                raise
            chosen_by = "path" if ckpt_name == NO_CHECKPOINT else "ckpt_name"
            raise DiffusionError(error.reason, parameter=chosen_by, hint=error.hint) from None


class DeforumImg2Img:
    """One Deforum diffusion step on its own: an IMAGE (or nothing, for txt2img) in, IMAGE out."""

    DESCRIPTION = (
        "Diffuses an image with Deforum's strength rule: strength 1 keeps it, 0 ignores it, "
        "and about (1-strength)·steps steps run. Without an image it is txt2img at width x "
        "height. With a prompt schedule the frame's prompts (and their blend) are used."
    )
    CATEGORY = CATEGORY
    SEARCH_ALIASES: ClassVar[list[str]] = ["img2img", "txt2img", "diffuse", "strength", "sampler"]
    FUNCTION = "diffuse"
    RETURN_TYPES = ("IMAGE",)
    RETURN_NAMES = ("image",)
    OUTPUT_TOOLTIPS = ("The diffused frames, the same size as the input.",)

    @classmethod
    def INPUT_TYPES(cls):
        size = {"min": 8, "max": SIZE_LIMIT, "step": 8}
        return {
            "required": {
                "diffuser": ("DEFORUM_DIFFUSER", {"tooltip": DIFFUSER_TOOLTIP}),
                "prompt": (
                    "STRING",
                    {
                        "multiline": True,
                        "dynamicPrompts": False,
                        "default": "a lake by a mountain at sunrise",
                        "tooltip": "Positive prompt; ignored when a prompt schedule is connected.",
                    },
                ),
                "negative": (
                    "STRING",
                    {
                        "multiline": True,
                        "dynamicPrompts": False,
                        "default": "",
                        "tooltip": "Negative prompt; ignored when a prompt schedule is connected.",
                    },
                ),
                "strength": (
                    "FLOAT",
                    {
                        "default": 0.65,
                        "min": 0.0,
                        "max": 1.0,
                        "step": 0.01,
                        "tooltip": "How much of the input survives: 1 returns it unchanged, 0 "
                        "ignores it; round(strength·steps) of the steps are skipped.",
                    },
                ),
                "steps": (
                    "INT",
                    {"default": 25, "min": 1, "max": 10_000, "tooltip": "Sampler steps."},
                ),
                "cfg": (
                    "FLOAT",
                    {
                        "default": 7.0,
                        "min": 0.0,
                        "max": 100.0,
                        "step": 0.1,
                        "tooltip": "Classifier-free guidance scale (Deforum's scale).",
                    },
                ),
                "seed": (
                    "INT",
                    {"default": 0, "min": 0, "max": SEED_LIMIT, "tooltip": "Noise seed."},
                ),
                "width": (
                    "INT",
                    {**size, "default": 512, "tooltip": "txt2img width (an image keeps its own)."},
                ),
                "height": (
                    "INT",
                    {**size, "default": 512, "tooltip": "txt2img height (an image keeps its own)."},
                ),
            },
            "optional": {
                "image": ("IMAGE", {"tooltip": "Frames to diffuse; leave empty for txt2img."}),
                "prompts": (
                    "DEFORUM_PROMPTS",
                    {"tooltip": "A Deforum prompt schedule; its prompts for `frame` are used."},
                ),
                "frame": (
                    "INT",
                    {
                        "default": 0,
                        "min": 0,
                        "max": 100_000,
                        "tooltip": "Frame whose prompts are taken from the prompt schedule.",
                    },
                ),
                "max_frames": (
                    "INT",
                    {
                        "default": 120,
                        "min": 1,
                        "max": 100_000,
                        "tooltip": "Frame count the prompt schedule is evaluated for (max_f).",
                    },
                ),
            },
        }

    @queue_check
    def VALIDATE_INPUTS(cls, width=None, height=None) -> None:
        """Sizes are checked here, at queue time; declaring them skips ComfyUI's own range
        check, so the upper limit is checked here too."""
        if not isinstance(width, int) or not isinstance(height, int):
            return  # a linked input arrives at run time
        check_size(width, height)
        for name, value in (("width", width), ("height", height)):
            if value > SIZE_LIMIT:
                raise DiffusionError(f"must be at most {SIZE_LIMIT}, got {value}",
                                     parameter=name)  # fmt: skip

    def diffuse(
        self,
        diffuser: DiffusionBackend,
        prompt: str,
        negative: str,
        strength: float,
        steps: int,
        cfg: float,
        seed: int,
        width: int,
        height: int,
        image=None,
        prompts: PromptSchedule | None = None,
        frame: int = 0,
        max_frames: int = 120,
    ) -> dict[str, Any]:
        text = (
            _frame_text(prompts, frame, max_frames, seed)
            if prompts is not None
            else FrameText(prompt, negative)
        )
        request = DiffusionRequest(
            text, strength, steps, cfg, seed, width, height, image, check_cancel=check_interrupt
        )
        try:
            result = diffuser.diffuse(request)
        except DiffusionError as error:
            raise DiffusionError(f"Deforum Img2Img: {error.reason}", hint=error.hint) from None
        return {"ui": {"steps_run": [result.steps_run]}, "result": (result.image,)}


def _frame_text(prompts: PromptSchedule, frame: int, max_frames: int, seed: int) -> FrameText:
    """The prompts of one frame of a schedule, with the blend towards the next keyframe."""
    if frame >= max_frames:
        raise ScheduleError(
            f"frame {frame} is past the last frame {max_frames - 1}",
            parameter="frame",
            hint="use a frame below max_frames, or raise max_frames",
        )
    return FrameText.from_prompt(prompts.frames(max_frames, seed=seed)[frame])
