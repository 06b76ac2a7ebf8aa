"""The mask of an imported animation: its source, Deforum's settings for it, and which way
round it is.

Deforum's dialects disagree on what white means. The notebook and run.py keep the masked
(white) area: their k-diffusion callback resets it to the noised init latent at every step.
sd-webui-deforum hands the mask to the webui as an inpainting mask, which repaints white and
keeps black. The pack keeps white (stages/mask.py), so a webui file's mask is inverted once
more, and the report says so. The webui's mask_schedule names the mask it composes
({video_mask} is the mask video or, without one, mask_file); a schedule of one expression is
taken, renamed to the pack's names, and noise is masked with the same mask, as the webui
does whenever use_mask is on.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from ..stages.mask import MaskStage
from .context import ImportContext
from .reading import WEBUI
from .references import FileReference
from .report import IGNORED, MAPPED, TAKEN, UNSUPPORTED
from .values import to_text

_ONE_KEYFRAME = re.compile(r"\s*0\s*:\s*\(\s*([\"']?)(.*?)\1\s*\)\s*", re.S)
_KEYFRAME_START = re.compile(r"(?:^|,)\s*\d+\s*:")


@dataclass(frozen=True)
class MaskChoice:
    """What the render's MaskStage is made of once its files are found."""

    fields: dict[str, Any]  # MaskStage's parameters
    picture: FileReference | None = None  # mask_file
    video: FileReference | None = None  # video_mask_path, one mask per frame
    alpha_of_init: bool = False  # use_alpha_as_mask: the init image's alpha channel


def import_mask(context: ImportContext, init_image: FileReference | None) -> MaskChoice | None:
    """The mask when the file turns one on (use_mask, use_mask_video), else None."""
    use_mask = context.flag("use_mask", False)
    use_video = context.flag("use_mask_video", False)
    if not (use_mask or use_video):
        return None
    picture = video = None
    alpha = False
    if use_video:
        video = _reference(context, "video_mask_path", "mask video")
        if context.has("mask_file"):
            context.note("mask_file", IGNORED, "use_mask_video: the mask video is the mask")
    elif context.flag("use_alpha_as_mask", False):
        if init_image is None:
            context.note("use_alpha_as_mask", UNSUPPORTED, "there is no init image to take it from")
            return None
        alpha = True
        if context.has("mask_file"):
            context.note("mask_file", IGNORED, "use_alpha_as_mask: the init image's alpha is")
    else:
        picture = _reference(context, "mask_file", "mask")
    source = "video_mask" if use_video else "init_mask"
    special = {
        "invert_mask": _inverted(context),
        "mask_expression": _expression(context, source),
        "use_noise_mask": True,
    }
    if context.has("use_noise_mask"):
        context.note("use_noise_mask", MAPPED, "noise is masked whenever the mask is on")
    if context.has("noise_mask_schedule"):
        context.note("noise_mask_schedule", IGNORED, "noise is masked with the mask itself")
    fields = context.table(MaskStage, special)
    return MaskChoice(fields, picture, video, alpha)


def _reference(context: ImportContext, key: str, purpose: str) -> FileReference:
    path, _ = to_text(context.get(key, ""), key)
    context.note(key, TAKEN)
    return FileReference(key, path.strip(), purpose)


def _inverted(context: ImportContext) -> bool:
    written = context.flag("invert_mask", False)
    if context.dialect != WEBUI:
        return written
    why = "the webui repaints a mask's white areas; the pack keeps white, so it is inverted"
    context.note("invert_mask", MAPPED, f"{not written}: {why}")
    return not written


def _expression(context: ImportContext, source: str) -> str:
    """The mask_schedule's one expression in the pack's names; empty for the plain mask."""
    written = context.get("mask_schedule", "")
    if not isinstance(written, str) or not written.strip():
        return ""
    match = _ONE_KEYFRAME.fullmatch(written)
    if match is None or len(_KEYFRAME_START.findall(written)) > 1:
        why = "a mask schedule of several keyframes; the first expression is not read either"
        context.note("mask_schedule", UNSUPPORTED, why)
        return ""
    expression = match.group(2).strip()
    if source == "init_mask":  # the webui's {video_mask} is mask_file when there is no video
        expression = expression.replace("{video_mask}", "{init_mask}")
    plain = expression in ("", "{" + source + "}")
    if context.has("mask_schedule"):
        context.note("mask_schedule", MAPPED, f"the mask expression {expression!r}")
    return "" if plain else expression
