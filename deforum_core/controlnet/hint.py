"""What a diffusion backend is given for one ControlNet on one key frame, and the control
modes both backends read.

The loop evaluates each unit's schedules for the key and hands the backend a ControlHint:
the model, the hint picture (already preprocessed, at the frame size) and plain numbers. A
unit whose weight is 0 on a key is left out of the key's request altogether, so that frame is
exactly the frame rendered without the unit.

Control modes (sd-webui-controlnet's, which Deforum passes on):
- balanced: the control is added on the conditional and the unconditional passes alike;
- prompt ("My prompt is more important"): as balanced, with the control's residuals
  weakened towards the UNet's shallow blocks ("soft injection": from 1/10 at the shallowest
  to 1 at the middle block, diffusers' guess-mode scales, which are sd-webui-controlnet's
  0.825 ** (12 - i) within 0.3% for SD's 13 residuals);
- controlnet ("ControlNet is more important"): soft injection, and the unconditional pass
  runs without control (diffusers' guess mode), so classifier-free guidance pushes towards
  the control.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch

BALANCED, PROMPT, CONTROLNET = "balanced", "prompt", "controlnet"
CONTROL_MODES = (BALANCED, PROMPT, CONTROLNET)


@dataclass(frozen=True, eq=False)
class ControlHint:
    """One ControlNet unit on one key frame. image is [1, H, W, 3] in 0..1 at the frame size;
    start and end are the fraction of the sampling where the control applies."""

    model: Any = field(repr=False)  # ComfyUI's CONTROL_NET, or a DiffusersControlNet
    image: torch.Tensor = field(repr=False)
    weight: float = 1.0
    start: float = 0.0
    end: float = 1.0
    mode: str = BALANCED

    @property
    def soft(self) -> bool:
        """Whether the residuals are weakened towards the shallow blocks (soft injection)."""
        return self.mode in (PROMPT, CONTROLNET)

    @property
    def on_unconditional(self) -> bool:
        """Whether the unconditional (negative prompt) pass gets the control too."""
        return self.mode != CONTROLNET
