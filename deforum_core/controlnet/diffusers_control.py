"""ControlNet in the diffusers backend: loading a ControlNetModel offline, and the residuals
it adds to each UNet call of a frame.

The backend runs its own denoising loop (Deforum's strength rule, its own noise), so the
ControlNet is called there the way diffusers' StableDiffusionControlNet(Img2Img)Pipeline
calls it: on the scaled model input with the frame's text embeddings and the hint in 0..1
(weight as controlnet_conditioning_scale), only on the steps inside guidance start..end
(counted over the steps the frame runs, as the pipelines and sd-webui-controlnet count
them), its down and middle residuals summed over the units and handed to the UNet.
Soft injection is ControlNetModel's guess_mode scaling; mode "controlnet" also leaves the
unconditional half of the batch without control (the pipelines' guess mode).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

from ..diffusion.backend import DiffusionError
from ..diffusion.pipeline_files import CHECKPOINT_SUFFIXES, ModelFileError
from ..fingerprint import file_fingerprint, weights_fingerprint
from ..geometry import stretch
from .hint import ControlHint

_CONFIG_HINT = (
    "single-file ControlNets need their config offline: pass `config`, a diffusers ControlNet "
    "folder of the same kind (config.json; weights are not needed), or load a diffusers folder"
)


class DiffusersControlNet:
    """A diffusers ControlNetModel and the file or folder it came from (for the run record)."""

    def __init__(self, model: Any, source: str | Path | None = None) -> None:
        self.model = model.eval().requires_grad_(False)
        self.source = None if source is None else Path(source)

    def describe(self) -> dict[str, Any]:
        if self.source is not None:
            fingerprint = file_fingerprint(self.source)
        else:
            fingerprint = weights_fingerprint(self.model.state_dict().items())
        name = None if self.source is None else self.source.name
        return {"type": "diffusers", "file": name, "weights_fingerprint": fingerprint}


def load_controlnet(source: str | Path, *, config: str | Path | None = None) -> DiffusersControlNet:
    """A ControlNet from a diffusers folder (config.json and weights; or its weights file)
    or a single checkpoint file with the config folder `config`, on the CPU in float32, never
    from a model hub. Errors name the file, never its contents."""
    path = Path(source).expanduser()
    if path.is_file() and not config and (path.parent / "config.json").is_file():
        path = path.parent  # the weights file of a diffusers folder, picked from a list
    if path.is_dir():
        if not (path / "config.json").is_file():
            raise ModelFileError(
                f"{path.name!r} is not a diffusers ControlNet folder (it has no config.json)",
                hint="give the folder saved by save_pretrained, or a single ControlNet file "
                "with `config`",
            )
        model = _loading(lambda cls: cls.from_pretrained(path, local_files_only=True), path)
        return DiffusersControlNet(model, path)
    if not path.is_file():
        raise ModelFileError(f"no ControlNet file or diffusers folder named {path.name!r}",
                             hint="put it into models/controlnet and pick it")  # fmt: skip
    if path.suffix.lower() not in CHECKPOINT_SUFFIXES:
        raise ModelFileError(f"{path.name!r} is not a ControlNet checkpoint file",
                             hint=f"use a {' or '.join(CHECKPOINT_SUFFIXES)} file or a "
                             "diffusers folder")  # fmt: skip
    folder = Path(config).expanduser() if config else None
    if folder is None or not (folder / "config.json").is_file():
        raise ModelFileError(f"could not load {path.name!r} offline: no ControlNet config "
                             "folder was given", hint=_CONFIG_HINT)  # fmt: skip
    model = _loading(lambda cls: cls.from_single_file(str(path), config=str(folder),
                                                      local_files_only=True), path)  # fmt: skip
    return DiffusersControlNet(model, path)


def _loading(load: Any, path: Path) -> Any:
    """Run a diffusers loader; its failure becomes the pack's own words (a library's text
    can quote the file's bytes; it stays in the chained cause, for the server's log)."""
    from diffusers import ControlNetModel

    try:
        return load(ControlNetModel)
    except Exception as error:  # diffusers raises OSError, ValueError, KeyError, ...
        raise ModelFileError(
            f"{path.name!r} cannot be read as a diffusers ControlNet",
            hint="give a complete ControlNet (a diffusers folder, or a single file with the "
            "config folder of its kind)",
        ) from error


class FrameControl:
    """The ControlNets of one frame, ready for its UNet calls."""

    def __init__(
        self,
        controls: Sequence[ControlHint],
        size: tuple[int, int],
        steps: int,
        device: torch.device,
        dtype: torch.dtype,
    ) -> None:
        width, height = size
        self.steps = steps
        self.units = []
        for control in controls:
            network = _moved(_network(control.model), device, dtype)
            hint = stretch(control.image[:1, ..., :3].float(), height, width)
            hint = hint.permute(0, 3, 1, 2).to(device, dtype)
            self.units.append((control, network, hint))

    def residuals(
        self,
        index: int,
        model_input: torch.Tensor,
        timestep: Any,
        unet_arguments: dict[str, Any],
        guided: bool,
    ) -> dict[str, Any]:
        """The UNet's extra keyword arguments for step `index` (0-based of the frame's
        steps): the summed residuals of the units active then, or nothing."""
        down: list[torch.Tensor] | None = None
        middle: torch.Tensor | None = None
        for control, network, hint in self.units:
            if not self._active(control, index):
                continue
            _check_fit(network, hint, model_input)
            half = guided and not control.on_unconditional  # the conditional half only
            unit_down, unit_middle = network(
                _half(model_input, half), timestep,
                encoder_hidden_states=_half(unet_arguments["encoder_hidden_states"], half),
                controlnet_cond=hint.expand(model_input.shape[0] // (2 if half else 1), -1,
                                            -1, -1),
                conditioning_scale=control.weight, guess_mode=control.soft,
                added_cond_kwargs=_halves(unet_arguments.get("added_cond_kwargs"), half),
                return_dict=False,
            )  # fmt: skip
            if half:  # the unconditional half (first, as the batch is built) gets none
                unit_down = [torch.cat([torch.zeros_like(r), r]) for r in unit_down]
                unit_middle = torch.cat([torch.zeros_like(unit_middle), unit_middle])
            if down is None:
                down, middle = list(unit_down), unit_middle
            else:
                down = [total + r for total, r in zip(down, unit_down, strict=True)]
                middle = middle + unit_middle
        if down is None:
            return {}
        return {"down_block_additional_residuals": down, "mid_block_additional_residual": middle}

    def _active(self, control: ControlHint, index: int) -> bool:
        """Inside guidance start..end, as diffusers' pipelines decide (controlnet_keep)."""
        return not (index / self.steps < control.start or (index + 1) / self.steps > control.end)


def _check_fit(network: Any, hint: torch.Tensor, model_input: torch.Tensor) -> None:
    """A ControlNet's hint encoder scales the picture down by 2 for each of its blocks after
    the first; the result must be the size of the model's latents (1/8 of the frame for
    Stable Diffusion), else the ControlNet was made for another kind of model."""
    blocks = len(network.config.conditioning_embedding_out_channels)
    scale = 2 ** (blocks - 1)
    encoded = (hint.shape[-2] // scale, hint.shape[-1] // scale)
    if encoded != tuple(model_input.shape[-2:]):
        latent = hint.shape[-1] // model_input.shape[-1]
        raise DiffusionError(
            f"the ControlNet does not fit this model: it turns a frame into 1/{scale} of its "
            f"size, the model's latents are 1/{latent} of it",
            parameter="control_net",
            hint="load a ControlNet made for this model's type (an SD 1.5 ControlNet for an "
            "SD 1.5 model, an SDXL one for SDXL)",
        )


def _network(model: Any) -> Any:
    if isinstance(model, DiffusersControlNet):
        return model.model
    raise DiffusionError(
        f"the diffusers backend cannot run a {type(model).__name__} ControlNet",
        parameter="control_net",
        hint="load the ControlNet with Deforum ControlNet Loader for the diffusers backend "
        "(ComfyUI's Load ControlNet Model works with Deforum Diffuser)",
    )


def _moved(network: Any, device: torch.device, dtype: torch.dtype) -> Any:
    """The network on the UNet's device and dtype (moved once, on its first frame)."""
    parameter = next(network.parameters())
    if parameter.device != device or parameter.dtype != dtype:
        network.to(device=device, dtype=dtype)
    return network


def _half(batch: torch.Tensor, half: bool) -> torch.Tensor:
    return batch.chunk(2)[1] if half else batch


def _halves(arguments: dict[str, Any] | None, half: bool) -> dict[str, Any] | None:
    if arguments is None or not half:
        return arguments
    return {name: value.chunk(2)[1] for name, value in arguments.items()}
