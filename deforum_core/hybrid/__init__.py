"""Hybrid video: the video's frames composited into each frame, and the video's motion
moving it (sd-webui-deforum's hybrid_composite and hybrid_motion)."""

from .composite import EQUALIZE, MASK_TYPES, MaskOptions, composite, make_mask

__all__ = ["EQUALIZE", "MASK_TYPES", "MaskOptions", "composite", "make_mask"]
