"""The hint preprocessors that need no downloaded weights: Canny edges, and depth from the
pack's own depth model. Both take and give [1, H, W, 3] pictures in 0..1 on the picture's
device; the hint a ControlNet reads is white where the preprocessor found something."""

from __future__ import annotations

from typing import Any

import torch

from ..errors import ScheduleError

DEPTH_HINT = "connect a Deforum Depth Model (MiDaS or Depth Anything) to depth_model"


def canny_edges(picture: torch.Tensor, low: int, high: int) -> torch.Tensor:
    """Canny's edges of the picture as white lines on black, as sd-webui-controlnet's canny
    preprocessor makes them (OpenCV's Canny on the 8-bit RGB picture, the gradient taken
    over its channels; the lower threshold links edges, the higher starts them)."""
    import cv2

    pixels = picture[0, ..., :3].clamp(0.0, 1.0).mul(255.0).round().to(torch.uint8)
    edges = cv2.Canny(pixels.cpu().numpy(), low, high)
    grey = torch.from_numpy(edges).to(picture.device, torch.float32).div_(255.0)
    return grey[None, :, :, None].expand(1, *grey.shape, 3).contiguous()


def check_depth_model(depth_model: Any) -> None:
    """The depth preprocessor needs a depth network (flat depth has no picture to give)."""
    if depth_model is None:
        raise ScheduleError("preprocessor depth needs a depth model", parameter="depth_model",
                            hint=DEPTH_HINT)  # fmt: skip
    if not callable(getattr(depth_model, "image", None)):
        raise ScheduleError(
            f"preprocessor depth needs a depth network, not {type(depth_model).__name__}",
            parameter="depth_model", hint=DEPTH_HINT,
        )  # fmt: skip


def depth_hint(picture: torch.Tensor, depth_model: Any) -> torch.Tensor:
    """The picture's depth, grey with near bright (each map scaled by its own range), as
    the depth ControlNets were trained on MiDaS's inverse depth."""
    depth = depth_model.image(picture[:1, ..., :3])
    grey = depth.to(picture.device, torch.float32).clamp(0.0, 1.0)
    return grey[..., None].expand(*grey.shape, 3).contiguous()
