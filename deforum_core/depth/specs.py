"""The depth models the pack knows: names, official files, publishers and input handling.

Model type names follow Deforum's `depth_algorithm` setting where Deforum has one
("Midas-3-Hybrid", "Depth-Anything-V2-Small"); lookups ignore case, spaces, dashes and
underscores, so settings files written by Deforum resolve to the same model.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..errors import DeforumError

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
HALF = (0.5, 0.5, 0.5)


@dataclass(frozen=True)
class DepthModelSpec:
    """One published depth model and how its input and output are handled.

    family: "midas_dpt" (MiDaS v3 DPT) or "depth_anything" (Depth Anything V2).
    files: the official file names, preferred first; a `.safetensors` copy with the same
        stem is accepted as well.
    copies: published .safetensors copies of the same weights under other names (the ones
        ComfyUI's missing-model panel can download: it offers .safetensors files only).
    copies_url: the folder URL the copies download from.
    resize: how a frame is scaled to the network input, as in the official code:
        "minimal" (MiDaS: scale as little as possible towards input_size, keeping the aspect
        ratio) or "lower_bound" (Depth Anything: the shorter side at least input_size).
    multiple_of: the network input sides are multiples of this.
    """

    name: str
    family: str
    variant: str
    files: tuple[str, ...]
    publisher: str
    license: str
    input_size: int
    multiple_of: int
    resize: str
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    copies: tuple[str, ...] = ()
    copies_url: str = ""

    def expected_files(self) -> tuple[str, ...]:
        """Official names, safetensors copies of them, then the published copies."""
        stems = [name.rsplit(".", 1)[0] for name in self.files]
        return self.files + tuple(f"{stem}.safetensors" for stem in stems) + self.copies

    def download(self) -> tuple[str, str] | None:
        """(file name, URL) of the .safetensors copy a workflow offers to download, if any."""
        if not self.copies:
            return None
        return self.copies[0], f"{self.copies_url}/{self.copies[0]}"


# The official Depth Anything V2 weights in .safetensors, fp32 and fp16, under the official
# parameter names (the files Kijai's ComfyUI-DepthAnythingV2 downloads into models/depthanything).
DEPTH_ANYTHING_COPIES = "https://huggingface.co/Kijai/DepthAnythingV2-safetensors/resolve/main"


def _depth_anything(size: str, variant: str, license: str) -> DepthModelSpec:
    """Depth Anything V2: DINOv2 at 518 px (multiples of 14), ImageNet normalisation."""
    repository = f"depth-anything/Depth-Anything-V2-{size}"
    return DepthModelSpec(
        name=f"Depth-Anything-V2-{size}",
        family="depth_anything",
        variant=variant,
        files=(f"depth_anything_v2_{variant}.pth",),
        publisher=f"the Hugging Face repository {repository} (https://huggingface.co/{repository})",
        license=license,
        input_size=518,
        multiple_of=14,
        resize="lower_bound",
        mean=IMAGENET_MEAN,
        std=IMAGENET_STD,
        copies=tuple(
            f"depth_anything_v2_{variant}_{kind}.safetensors" for kind in ("fp32", "fp16")
        ),
        copies_url=DEPTH_ANYTHING_COPIES,
    )


def _midas_v3(size: str, variant: str, release_file: str, dpt_file: str) -> DepthModelSpec:
    """MiDaS v3 DPT: 384 px (multiples of 32), mean and std 0.5."""
    return DepthModelSpec(
        name=f"Midas-3-{size}",
        family="midas_dpt",
        variant=variant,
        files=(release_file, dpt_file),
        publisher="the GitHub release isl-org/MiDaS v3 "
        f"(https://github.com/isl-org/MiDaS/releases/tag/v3, file {release_file}; the "
        f"same weights are in intel-isl/DPT release 1_0 as {dpt_file})",
        license="MIT",
        input_size=384,
        multiple_of=32,
        resize="minimal",
        mean=HALF,
        std=HALF,
    )


_NON_COMMERCIAL = "CC-BY-NC-4.0 (non-commercial)"
MODEL_SPECS: dict[str, DepthModelSpec] = {
    spec.name: spec
    for spec in (
        _depth_anything("Small", "vits", "Apache-2.0"),
        _depth_anything("Base", "vitb", _NON_COMMERCIAL),
        _depth_anything("Large", "vitl", _NON_COMMERCIAL),
        _midas_v3("Hybrid", "vitb_rn50_384", "dpt_hybrid_384.pt", "dpt_hybrid-midas-501f0c75.pt"),
        _midas_v3("Large", "vitl16_384", "dpt_large_384.pt", "dpt_large-midas-2f21e586.pt"),
    )
}
MODEL_TYPES: tuple[str, ...] = tuple(MODEL_SPECS)
DEFAULT_MODEL_TYPE = "Depth-Anything-V2-Small"

_ALIASES = {
    "midas3hybrid": "Midas-3-Hybrid",
    "dpthybrid": "Midas-3-Hybrid",
    "dpthybrid384": "Midas-3-Hybrid",
    "midas": "Midas-3-Hybrid",
    "midas3large": "Midas-3-Large",
    "dptlarge": "Midas-3-Large",
    "dptlarge384": "Midas-3-Large",
    "depthanythingv2small": "Depth-Anything-V2-Small",
    "depthanythingv2": "Depth-Anything-V2-Small",
    "depthanything": "Depth-Anything-V2-Small",
    "depthanythingv2base": "Depth-Anything-V2-Base",
    "depthanythingv2large": "Depth-Anything-V2-Large",
}


def _squash(name: str) -> str:
    return re.sub(r"[\s_\-.()]", "", name).lower()


def resolve_model_type(name: str) -> DepthModelSpec:
    """The spec for a model type name (case, spaces, dashes and underscores ignored)."""
    if name in MODEL_SPECS:
        return MODEL_SPECS[name]
    key = _squash(name)
    for spec_name in MODEL_SPECS:
        if _squash(spec_name) == key:
            return MODEL_SPECS[spec_name]
    if key in _ALIASES:
        return MODEL_SPECS[_ALIASES[key]]
    hint = ""
    if "beit" in key:
        hint = " MiDaS 3.1 BEiT models are not supported yet; use Midas-3-Hybrid or Midas-3-Large."
    elif "zoe" in key or "leres" in key or "adabins" in key:
        hint = " Deforum's Zoe, LeReS and AdaBins models are not supported."
    raise DeforumError(
        f"unknown depth model type {name!r}; choose one of {', '.join(MODEL_TYPES)}.{hint}"
    )
