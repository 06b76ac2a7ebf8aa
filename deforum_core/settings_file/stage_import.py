"""The stages of an imported animation: camera, colour coherence, contrast and anti-blur,
noise, and the depth a 3D camera moves through.

Most of their keys map one to one (see context.py); what needs Deforum's behaviour is here:
'uniform' noise is Gaussian, colour coherence 'Video Input' without hybrid video matches in
LAB to the first frame, use_depth_warping off means flat depth, and depth_algorithm names
become the pack's depth models.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..depth.specs import DEFAULT_MODEL_TYPE, MODEL_TYPES
from ..stages import ColorCoherenceStage, EnhanceStage, Motion2DStage, Motion3DStage, NoiseStage
from .context import ImportContext
from .hybrid_import import HybridChoice
from .reading import WEBUI
from .references import FileReference
from .report import IGNORED, MAPPED, TAKEN, UNSUPPORTED
from .values import to_text

# Deforum's depth_algorithm names and the pack's model for each (None: family absent).
DEPTH_ALGORITHMS: dict[str, str | None] = {
    "midas-3-hybrid": "Midas-3-Hybrid",
    "midas+adabins (old)": "Midas-3-Hybrid",
    "midas-3.1-beitlarge": None,
    "zoe": None,
    "zoe+adabins (old)": None,
    "leres": None,
    "adabins": None,
    **{name.lower(): name for name in MODEL_TYPES},
}
OLD_BLENDS = ("midas+adabins (old)", "zoe+adabins (old)")


@dataclass(frozen=True)
class DepthChoice:
    """The depth a 3D render uses: a pack model type, or None for flat depth (Deforum's
    use_depth_warping off), and the depth_algorithm the file asked for."""

    model_type: str | None
    requested: str


def import_stages(
    context: ImportContext, mode: str, hybrid: HybridChoice | None = None
) -> dict[str, Any]:
    """The stage fields of ImportedSettings for mode 2D or 3D (`hybrid`: the file's hybrid
    video, whose video colour coherence can match and whose depth mask needs depth)."""
    motion_type = Motion3DStage if mode == "3D" else Motion2DStage
    stages: dict[str, Any] = {
        "motion": motion_type(**context.table(motion_type)),
        "enhance": EnhanceStage(**context.table(EnhanceStage)),
        "noise": NoiseStage(**context.table(NoiseStage, _noise_type(context))),
    }
    color = context.table(ColorCoherenceStage, _color_coherence(context, hybrid is not None))
    stages["color_coherence"] = color
    if color["color_coherence"] == "Image":
        path, _ = to_text(context.get("color_coherence_image_path", ""),
                          "color_coherence_image_path")  # fmt: skip
        stages["color_image"] = FileReference(
            "color_coherence_image_path", path, "colour coherence image"
        )
        context.note("color_coherence_image_path", TAKEN)
    needs_depth = mode == "3D" or (hybrid is not None and hybrid.needs_depth)
    stages["depth"] = _depth(context) if needs_depth else None
    return stages


def _noise_type(context: ImportContext) -> dict[str, Any]:
    if context.get("noise_type", "uniform") == "uniform":
        why = "'uniform' is Deforum's name for Gaussian noise"
        if context.has("noise_type"):
            context.note("noise_type", MAPPED, f"{why}: gaussian")
        else:
            context.note("noise_type", MAPPED, f"gaussian: {context.dialect_words} had no other")
        return {"noise_type": "gaussian"}
    return {}


def _color_coherence(context: ImportContext, hybrid: bool) -> dict[str, Any]:
    """Deforum's coherence choices: legacy_colormatch off matches each diffused frame too,
    and without an init image takes every diffused frame as the next reference (render.py
    sets color_match_sample to each generated image then); Video Input matches the hybrid
    video's frames."""
    fields: dict[str, Any] = {}
    mode = context.get("color_coherence", "None")
    if context.flag("legacy_colormatch", True):
        context.note("legacy_colormatch", TAKEN, "colours are matched before diffusion only")
    else:
        fields["match_after_diffusion"] = True
        detail = "match_after_diffusion on: each diffused frame is matched too"
        if not context.flag("use_init", False) and mode not in ("Image", "Video Input"):
            fields["refresh_every"] = 1
            detail += "; without an init image each diffused frame is the next reference"
        context.note("legacy_colormatch", MAPPED, detail)
    if mode == "Video Input" and not hybrid:
        context.note(
            "color_coherence", UNSUPPORTED,
            "matching the init video's frames needs hybrid video; without it Deforum matches "
            "in LAB to the first frame, and so does the import",
        )  # fmt: skip
        fields["color_coherence"] = "LAB"
    return fields


def _depth(context: ImportContext) -> DepthChoice:
    requested = str(context.get("depth_algorithm", "Midas-3-Hybrid"))
    wanted = requested.strip().lower()
    if context.has("midas_weight"):
        why = "the weight of the (old) AdaBins blends" if wanted in OLD_BLENDS else (
            "used only by the (old) AdaBins depth blends"
        )  # fmt: skip
        context.note("midas_weight", IGNORED if wanted not in OLD_BLENDS else UNSUPPORTED, why)
    if not context.flag("use_depth_warping", True):
        context.note("use_depth_warping", MAPPED, "off: flat depth, no depth model needed")
        if context.has("depth_algorithm"):
            context.note("depth_algorithm", IGNORED, "use_depth_warping is off")
        return DepthChoice(None, requested)
    model = DEPTH_ALGORITHMS.get(wanted)
    if model is None:
        model = DEFAULT_MODEL_TYPE
        context.note("depth_algorithm", MAPPED,
                     f"{requested!r} is not among the pack's depth models: {model}")  # fmt: skip
    elif model.lower() != wanted:
        context.note("depth_algorithm", MAPPED, f"{requested!r} as {model} (no AdaBins blend)")
    elif context.has("depth_algorithm"):
        context.note("depth_algorithm", TAKEN)
    if context.dialect != WEBUI:
        context.note(
            "use_depth_warping", MAPPED,
            "on: through sd-webui-deforum's 3D camera and 1..2 depth; the notebook's older depth "
            "scaling moved at another speed",
        )  # fmt: skip
    return DepthChoice(model, requested)
