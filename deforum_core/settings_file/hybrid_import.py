"""Hybrid video and optical flow in an imported 2D or 3D animation.

sd-webui-deforum turns hybrid video on with hybrid_composite (not None) or hybrid_motion (not
None), in modes 2D and 3D; its video is video_init_path with the extract_* selection, and
unless hybrid_use_init_image the frame count follows the video (LoadedSettings sets it once
the video is open). Its optical-flow options (optical_flow_cadence, redo) need no video.
hybrid_flow_method and the optical-flow methods may name RAFT, whose weights the render
looks for; without them the render measures flow with DIS Medium and says so.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..hybrid.stage import HybridStage
from ..stages.optical_flow import OpticalFlowStage
from ..video_source import FrameSelection
from .context import ImportContext
from .reading import SettingsFileError
from .references import FileReference
from .report import IGNORED, MAPPED, TAKEN
from .values import to_int, to_text
from .video_import import VIDEO_KEY, import_selection

HOUSEKEEPING = {
    "hybrid_generate_inputframes": "the pack decodes the video as it renders; nothing is "
    "extracted to disk",
    "hybrid_comp_save_extra_frames": "the pack writes a run folder of frames only",
}


@dataclass(frozen=True)
class HybridChoice:
    """Hybrid video as a file sets it: the stage's settings, the video and its selection."""

    settings: dict[str, Any]  # HybridStage's fields, less its sources
    reference: FileReference
    selection: FrameSelection

    @property
    def needs_depth(self) -> bool:
        composites = self.settings["composite"] != "None"
        return composites and self.settings["comp_mask_type"] in ("Depth", "Video Depth")

    @property
    def follows_video(self) -> bool:
        return not self.settings["use_init_image"]


def import_hybrid(context: ImportContext) -> HybridChoice | None:
    """The file's hybrid video, None when it is off."""
    composite = str(context.get("hybrid_composite", "None"))
    motion = str(context.get("hybrid_motion", "None"))
    if composite == "None" and motion == "None":
        return None
    settings = context.table(HybridStage)
    for key, why in HOUSEKEEPING.items():
        if context.has(key):
            context.note(key, IGNORED, why)
    path, _ = to_text(context.get(VIDEO_KEY, ""), VIDEO_KEY)
    if not path.strip():
        raise SettingsFileError(
            "hybrid video needs a video", parameter=VIDEO_KEY,
            hint="name the video file (it is looked up in the input folder), or turn "
            "hybrid_composite and hybrid_motion off",
        )  # fmt: skip
    context.note(VIDEO_KEY, TAKEN, "the hybrid video")
    return HybridChoice(settings, FileReference(VIDEO_KEY, path.strip(), "hybrid video"),
                        import_selection(context))  # fmt: skip


def import_optical_flow(context: ImportContext) -> dict[str, Any] | None:
    """OpticalFlowStage's fields when the file turns optical-flow cadence or a redo on."""
    redo, conversion = to_int(context.get("diffusion_redo", 0), "diffusion_redo")
    cadence = str(context.get("optical_flow_cadence", "None"))
    flow_redo = str(context.get("optical_flow_redo_generation", "None"))
    if cadence == "None" and flow_redo == "None" and redo == 0:
        return None
    fields = context.table(OpticalFlowStage, {"diffusion_redo": redo})
    if context.has("diffusion_redo"):
        context.note("diffusion_redo", MAPPED if conversion else TAKEN, conversion)
    return fields
