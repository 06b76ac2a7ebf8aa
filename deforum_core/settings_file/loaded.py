"""Imported settings made ready to render: the files they name found and read, and the render's
stages filled from them wherever the caller has no stage of its own.

The command line (`deforum-comfy run`) and the Deforum Load Settings node both render
through here, so a settings file renders the same from either: the same init picture and
colour image, the same flat depth when Deforum's use_depth_warping is off, the same refusal
when 3D settings need depth weights that nobody gave.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import torch

from ..depth import FlatDepth
from ..hybrid.stage import HybridStage
from ..pattern import test_pattern
from ..render import AnimationSettings, Stages
from ..render.rundir import read_image
from ..stages.mask import MaskStage
from ..stages.optical_flow import OpticalFlowStage
from ..video_source import FrameSelection, VideoFile
from .importer import ImportedSettings
from .reading import SettingsFileError
from .references import resolve_reference
from .report import DEFAULTED, ReportLine


@dataclass(frozen=True)
class LoadedSettings:
    """A renderable import with the files it names: `found` maps settings keys to files
    inside the allowed folders; `pictures` holds the init and colour images read from them."""

    imported: ImportedSettings
    found: dict[str, Path] = field(default_factory=dict)
    pictures: dict[str, torch.Tensor] = field(default_factory=dict)
    video: VideoFile | None = None  # Video Input's frames, cut to the quick look's length
    mask_video: VideoFile | None = None  # use_mask_video's masks, selected as the video is
    hybrid_video: VideoFile | None = None  # hybrid video's frames, cut as the video is

    @classmethod
    def load(
        cls,
        imported: ImportedSettings,
        folders: Sequence[Path],
        where: str,
        *,
        max_frames: int | None = None,
        size: tuple[int, int] | None = None,
    ) -> LoadedSettings:
        """Find every file the settings name in folders (`where` says which, for errors),
        then check the import can render, and apply the quick-look overrides."""
        found = find_files(imported, folders, where)
        imported.check_renderable()
        imported = imported.with_overrides(max_frames=max_frames, size=size)
        pictures = {key: read_image(found[key]) for key in PICTURE_KEYS if key in found}
        if imported.mask is not None and imported.mask.alpha_of_init:
            pictures["mask"] = read_alpha(found[imported.init_image.key])
        elif imported.mask is not None and imported.mask.picture is not None:
            pictures["mask"] = read_image(found[imported.mask.picture.key])
        video = None
        if imported.video is not None:
            video = _video(found[imported.video.reference.key], imported.video.selection,
                           max_frames)  # fmt: skip
            animation = replace(imported.animation, max_frames=video.frame_count)
            imported = replace(imported, animation=animation)
        if imported.interpolation is not None:  # the prompts' frame count, as Animate's
            animation = imported.animation
            prompts = Stages(imported.prompts.parse(), interpolation=imported.interpolation)
            count = animation.mode.frame_count(animation.max_frames, prompts, animation.fps)
            imported = replace(imported, animation=replace(animation, max_frames=count))
        mask_video = None
        if imported.mask is not None and imported.mask.video is not None:
            selection = imported.video.selection if imported.video else FrameSelection()
            mask_video = VideoFile(found[imported.mask.video.key], selection)
        hybrid_video = None
        if imported.hybrid is not None:
            hybrid = imported.hybrid
            hybrid_video = _video(found[hybrid.reference.key], hybrid.selection, max_frames)
            if hybrid.follows_video:  # as in Deforum: the frame count is the video's
                animation = replace(imported.animation, max_frames=hybrid_video.frame_count)
                imported = replace(imported, animation=animation)
        return cls(imported, found, pictures, video, mask_video, hybrid_video)

    @property
    def animation(self) -> AnimationSettings:
        return self.imported.animation

    @property
    def soundtrack(self) -> Path | None:
        """The sound file the settings put under their video (add_soundtrack), found."""
        track = self.imported.output.soundtrack
        return None if track is None else self.found.get(track.key)

    def init_image(self, *, preview: bool) -> torch.Tensor | None:
        """The file's init picture; for a motion preview of a file that names none, the
        test pattern (a preview moves a picture, and Deforum's would be a random frame)."""
        if "init_image" in self.pictures:
            return self.pictures["init_image"]
        if preview:
            return test_pattern(self.animation.width, self.animation.height)
        return None

    def depth_model(self, given: Any, *, preview: bool, notes: list[ReportLine]) -> Any:
        """The depth a 3D render moves through: the given model, flat depth where Deforum's
        use_depth_warping is off (or, noted, for a preview without weights), else an error
        naming the model family the settings ask for."""
        depth = self.imported.depth
        if depth is None or given is not None:
            return given
        if depth.model_type is None:
            return FlatDepth()
        if not preview:
            raise SettingsFileError(
                f"3D settings need depth: {depth.model_type} weights (depth_algorithm "
                f"{depth.requested!r})",
                parameter="depth_algorithm",
                hint=f"give a {depth.model_type} or Depth Anything V2 depth model, render a "
                "motion preview, or set use_depth_warping false in the settings",
            )
        notes.append(ReportLine("(depth)", DEFAULTED, "no depth model: the preview moves "
                                "through flat depth"))  # fmt: skip
        return FlatDepth()

    def mask(self) -> MaskStage | None:
        """The settings' mask, with its picture or mask video."""
        choice = self.imported.mask
        if choice is None:
            return None
        return MaskStage(**choice.fields, picture=self.pictures.get("mask"),
                         video=self.mask_video)  # fmt: skip

    def stage_outputs(self) -> dict[str, Any]:
        """The stages a file sets that a node can hand on: prompts, camera, colour
        coherence, contrast and anti-blur, noise (and Video Input's and Interpolation's)."""
        imported = self.imported
        color = self.pictures.get("color_coherence_image_path")
        return {
            "prompts": imported.prompts.parse(),
            "motion": imported.motion,
            "color_coherence": imported.color_stage(color),
            "enhance": imported.enhance,
            "noise": imported.noise,
            "video": self.video,
            "interpolation": imported.interpolation,
        }

    def stages(
        self, depth_model: Any = None, notes: list[ReportLine] | None = None, **given: Any
    ) -> Stages:
        """The render's stages: each given one (a linked node's) wins over the file's.
        `notes` gets a line where the render has to differ from the file."""
        notes = [] if notes is None else notes
        from_file = {
            **self.stage_outputs(),
            "mask": self.mask,
            "hybrid": lambda: self.hybrid(depth_model, notes),
            "optical_flow": lambda: self.optical_flow(notes),
        }
        chosen = {
            name: (stage() if callable(stage) else stage) if given.get(name) is None
            else given[name]
            for name, stage in from_file.items()
        }  # fmt: skip
        return Stages(**chosen, depth_model=depth_model)

    def hybrid(self, depth_model: Any, notes: list[ReportLine]) -> HybridStage | None:
        """The file's hybrid video, with its video and the render's depth model."""
        choice = self.imported.hybrid
        if choice is None:
            return None
        settings = _without_raft(choice.settings, "flow_method", notes)
        depth = depth_model if choice.needs_depth else None
        return HybridStage(**settings, video=self.hybrid_video, depth_model=depth)

    def optical_flow(self, notes: list[ReportLine]) -> OpticalFlowStage | None:
        """The file's optical-flow cadence and redo."""
        fields = self.imported.optical_flow
        if fields is None:
            return None
        for name in ("optical_flow_cadence", "optical_flow_redo_generation"):
            fields = _without_raft(fields, name, notes)
        return OpticalFlowStage(**fields)


def _without_raft(fields: dict[str, Any], name: str, notes: list[ReportLine]) -> dict[str, Any]:
    """The fields with RAFT replaced by DIS Medium (noted): no RAFT weights come with a file."""
    if fields.get(name) != "RAFT":
        return fields
    notes.append(ReportLine(f"({name})", DEFAULTED, "no RAFT weights are loaded for a settings "
                            "file: the optical flow is measured with DIS Medium"))  # fmt: skip
    return {**fields, name: "DIS Medium"}


def read_alpha(path: Path) -> torch.Tensor:
    """An image file's alpha channel as a MASK [1, H, W] in 0..1 (Deforum's
    use_alpha_as_mask); an image without one is refused, naming it."""
    import cv2

    pixels = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if pixels is None or pixels.ndim != 3 or pixels.shape[2] != 4:
        raise SettingsFileError(
            f"{path.name} has no alpha channel to use as the mask",
            parameter="use_alpha_as_mask",
            hint="save the init image as a PNG with transparency, or turn use_alpha_as_mask off",
        )
    scale = 65535.0 if pixels.dtype.itemsize == 2 else 255.0
    return torch.from_numpy(pixels[..., 3].astype("float32") / scale).unsqueeze(0)


def _video(path: Path, selection: FrameSelection, max_frames: int | None) -> VideoFile:
    """The settings' video; a quick look (max_frames) renders its first frames only."""
    video = VideoFile(path, selection)
    if max_frames is None or max_frames >= video.frame_count:
        return video
    last = video.source_index(max_frames - 1)
    video.close()
    return VideoFile(path, replace(selection, end=last))


PICTURE_KEYS = ("init_image", "color_coherence_image_path")


def find_files(imported: ImportedSettings, folders: Sequence[Path], where: str) -> dict[str, Path]:
    """Each file the settings name, by settings key, found in folders (see resolve_reference)."""
    return {ref.key: resolve_reference(ref, folders, where) for ref in imported.references}
