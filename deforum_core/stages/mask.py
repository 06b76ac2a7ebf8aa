"""Deforum's masks as a stage: where diffusion may change a frame, and where it may not.

The mask is white where the frame is kept and black where it is diffused, grey in between
(the seeds: "a mask video's white areas are not affected by diffusion, black areas fully").
It comes from a picture (an IMAGE or a MASK, one for every frame) or a mask video (one
picture per frame), stretched to the frame size as Deforum stretches its masks, then
brightness- and contrast-adjusted as Deforum's prepare_mask does (torchvision's
adjust_brightness and adjust_contrast on the RGB mask before it is made grey) and inverted when
asked. The loop uses it three ways: the diffuser keeps the masked area (a latent noise mask
in ComfyUI, latents blended at every step in diffusers); with overlay_mask the kept area of
the frame as it started (before colour, contrast and noise) is pasted back after diffusion,
its edge blurred by mask_overlay_blur, so white areas come out pixel-exact; with
use_noise_mask the frame's noise is added only where it is diffused.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import torch

from ..enhance import gaussian_blur, odd_kernel_size
from ..errors import ScheduleError
from ..fingerprint import tensor_digest
from ..geometry import stretch
from ..mask_expression import parse_mask_expression
from ..params import ParameterTable, flag, integer, number, text
from .protocol import RenderInfo

if TYPE_CHECKING:
    from ..video_source import VideoSource

GREY = torch.tensor([0.299, 0.587, 0.114])  # ITU-R 601 luma, as PIL's convert("L")


@dataclass(frozen=True)
class MaskStage(ParameterTable):
    """The Deforum Mask node's settings, in widget order, and its mask picture or video."""

    invert_mask: bool = flag(
        False, "Swap kept and diffused areas (white diffused, black kept).",
        deforum_key="invert_mask",
    )  # fmt: skip
    mask_brightness_adjust: float = number(
        1.0, "Brightness factor on the mask before it is used (1 leaves it).", low=0.0,
        high=10.0, step=0.01, deforum_key="mask_brightness_adjust",
    )  # fmt: skip
    mask_contrast_adjust: float = number(
        1.0, "Contrast factor on the mask before it is used (1 leaves it).", low=0.0,
        high=10.0, step=0.01, deforum_key="mask_contrast_adjust",
    )  # fmt: skip
    overlay_mask: bool = flag(
        True, "Paste the kept area of the frame back after diffusion (exact where white).",
        deforum_key="overlay_mask",
    )  # fmt: skip
    mask_overlay_blur: int = integer(
        4, "Blur of the pasted area's edge, in pixels (0: a hard edge).", low=0, high=64,
        deforum_key="mask_overlay_blur",
    )  # fmt: skip
    use_noise_mask: bool = flag(
        False, "Add the frame's noise only where it is diffused.", deforum_key="use_noise_mask"
    )
    mask_expression: str = text(
        "", "Compose the masks, as Deforum's mask_schedule does: {init_mask} (the picture), "
        "{video_mask} (the mask video), {everywhere}, with ! & | ^ \\ and brackets. Empty: "
        "the one connected.",
    )  # fmt: skip
    picture: torch.Tensor | None = field(default=None, compare=False)  # [B,H,W,C] or [B,H,W]
    video: VideoSource | None = field(default=None, compare=False)  # a mask per frame

    def __post_init__(self) -> None:
        super().__post_init__()
        sources = {"init_mask": self.picture, "video_mask": self.video}
        if self.mask_expression.strip():
            needed = parse_mask_expression(self.mask_expression).names - {"everywhere"}
            missing = sorted(name for name in needed if sources[name] is None)
            if missing:
                raise ScheduleError(
                    f"the expression uses {', '.join('{' + m + '}' for m in missing)}, which "
                    "is not connected", parameter="mask_expression",
                    hint="connect the mask picture for {init_mask}, a mask video for "
                    "{video_mask}",
                )  # fmt: skip
        elif (self.picture is None) == (self.video is None):
            raise ScheduleError(
                "a mask needs one source: a mask picture or a mask video",
                parameter="mask",
                hint="connect a MASK or IMAGE to mask, or a Deforum Video Input to mask_video, "
                "or compose both with mask_expression",
            )
        if self.picture is not None and not torch.isfinite(self.picture).all():
            raise ScheduleError("the mask holds values that are not numbers", parameter="mask",
                                hint="check the node that made it")  # fmt: skip

    def bind(self, render: RenderInfo) -> BoundMask:
        """The mask for the render; a mask video shorter than it is refused up front."""
        if self.video is not None and self.video.frame_count < render.max_frames:
            raise ScheduleError(
                f"the mask video has {self.video.frame_count} frames, the animation "
                f"{render.max_frames}", parameter="mask_video",
                hint="use a mask video at least as long as the animation, or fewer frames",
            )  # fmt: skip
        return BoundMask(self, render.width, render.height)

    def describe(self) -> dict[str, Any]:
        picture = None if self.picture is None else tensor_digest(self.picture)
        video = None if self.video is None else self.video.describe()
        return {**super().describe(), "picture": picture, "video": video}


class BoundMask:
    """The mask of one render: kept(index) is frame index's mask at the frame size, worked
    out once per frame by the loop and handed to noise_area and overlay."""

    def __init__(self, stage: MaskStage, width: int, height: int) -> None:
        self.stage = stage
        self.size = (height, width)
        text = stage.mask_expression
        self.expression = parse_mask_expression(text) if text.strip() else None
        self._picture = None if stage.picture is None else self._grey(stage.picture)
        self._still = None
        if stage.video is None and self.expression is None:
            self._still = self._adjusted(self._picture, 0)

    def kept(self, index: int) -> torch.Tensor:
        """[H, W] in 0..1: 1 where frame `index` is kept as it is, 0 where it is diffused."""
        if self._still is not None:
            return self._still
        video = None if self.stage.video is None else self._grey(self.stage.video.frame(index))
        if self.expression is None:
            return self._adjusted(video, index)
        masks = {"init_mask": self._picture, "video_mask": video,
                 "everywhere": torch.ones(1, *self.size, 3)}  # fmt: skip
        used = {name: (m * GREY).sum(-1)[0] for name, m in masks.items() if m is not None}
        return self._adjusted(self.expression.evaluate(used), index)

    def overlay(
        self, original: torch.Tensor, diffused: torch.Tensor, kept: torch.Tensor
    ) -> torch.Tensor:
        """The diffused frame with the kept area (a frame's kept()) of the original pasted
        back when overlay_mask is on, its edge blurred by mask_overlay_blur."""
        if not self.stage.overlay_mask:
            return diffused
        weight = kept[None, :, :, None].to(diffused.device, diffused.dtype)
        blur = self.stage.mask_overlay_blur
        if blur:
            weight = gaussian_blur(weight, odd_kernel_size(2 * blur + 1), 0.0).clamp(0, 1)
        weight = torch.where(weight > 1 - 1e-6, torch.ones_like(weight), weight)
        return original.to(diffused) * weight + diffused * (1 - weight)

    def noise_area(self, kept: torch.Tensor) -> torch.Tensor | None:
        """Where a frame's noise goes with use_noise_mask (the diffused area of its kept()),
        else None."""
        return 1 - kept if self.stage.use_noise_mask else None

    def _grey(self, picture: torch.Tensor) -> torch.Tensor:
        """A mask picture (IMAGE or MASK) as RGB [1, H, W, 3] at the frame size."""
        if picture.ndim == 3:  # a ComfyUI MASK [B, H, W]
            picture = picture[..., None]
        rgb = picture[:1].float().cpu()
        rgb = rgb[..., :3] if rgb.shape[-1] >= 3 else rgb[..., :1].expand(-1, -1, -1, 3)
        return stretch(rgb, *self.size).clamp(0, 1)

    def _adjusted(self, rgb: torch.Tensor, index: int) -> torch.Tensor:
        """Grey levels [H, W] after brightness and contrast (towards the mean grey), as
        Deforum's prepare_mask adjusts the RGB mask before making it grey, and inversion;
        a composed mask is adjusted after composing, as Deforum does."""
        stage = self.stage
        if rgb.ndim == 2:  # a composed mask
            rgb = rgb[None, :, :, None].expand(-1, -1, -1, 3)
        rgb = (rgb * stage.mask_brightness_adjust).clamp(0, 1)
        if stage.mask_contrast_adjust != 1.0:
            mean = (rgb * GREY).sum(-1).mean()
            rgb = (mean + (rgb - mean) * stage.mask_contrast_adjust).clamp(0, 1)
        grey = (rgb * GREY).sum(-1)[0].clamp(0, 1)
        if not torch.isfinite(grey).all():
            raise ScheduleError("the mask holds values that are not numbers", parameter="mask",
                                frame=index, hint="check the mask video")  # fmt: skip
        return 1 - grey if stage.invert_mask else grey
