"""Mode None: separate stills, one per frame, each from the init image (or the prompt)."""

from __future__ import annotations

from .base import AnimationMode, KeyInputs, KeyStart


class NoneMode(AnimationMode):
    name = "None"

    def cadence(self, diffusion_cadence: int) -> int:
        return 1  # every frame is a picture of its own

    def start_key(self, key: KeyInputs) -> KeyStart:
        return KeyStart(key.init_image, key.init_strength, prepared=False)
