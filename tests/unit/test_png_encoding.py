"""The frames' PNG encoder (render/png_encoding.py): every pixel comes back from the readers
the pack and its users read frames with, and a render's smooth pictures stay small."""

from __future__ import annotations

import io

import cv2
import numpy as np
import pytest
from PIL import Image

from deforum_core.errors import DeforumError
from deforum_core.pattern import test_pattern as built_in_picture
from deforum_core.render.png_encoding import encode_rgb_png
from deforum_core.render.rundir import frame_pixels

RANDOM = np.random.default_rng(7)


def pictures() -> dict[str, np.ndarray]:
    ramp = np.arange(256, dtype=np.uint8)
    levels = np.stack([ramp, ramp[::-1], np.roll(ramp, 100)], axis=-1)
    # rows that step from 255 to 0 and back: the Up filter's differences wrap
    wrapping = np.stack([np.full((5, 3), 255 * (row % 2), np.uint8) for row in range(8)])
    return {
        "noise": RANDOM.integers(0, 256, (61, 47, 3), dtype=np.uint8),
        "one pixel": np.array([[[255, 0, 128]]], dtype=np.uint8),
        "one row": RANDOM.integers(0, 256, (1, 9, 3), dtype=np.uint8),
        "wrapping rows": wrapping,
        "every level": np.repeat(levels[None], 3, axis=0),
        "not contiguous": RANDOM.integers(0, 256, (20, 30, 3), dtype=np.uint8)[:, ::2],
    }


@pytest.mark.parametrize("name", list(pictures()))
def test_every_pixel_comes_back_through_pil_and_opencv(name):
    pixels = pictures()[name]
    encoded = encode_rgb_png(pixels)
    with Image.open(io.BytesIO(encoded)) as image:
        assert image.mode == "RGB" and image.size == (pixels.shape[1], pixels.shape[0])
        assert np.array_equal(np.asarray(image), pixels)
    decoded = cv2.imdecode(np.frombuffer(encoded, np.uint8), cv2.IMREAD_UNCHANGED)
    assert np.array_equal(cv2.cvtColor(decoded, cv2.COLOR_BGR2RGB), pixels)


def test_a_render_picture_is_smaller_than_opencvs_default_png():
    pixels = frame_pixels(built_in_picture(512, 512)).numpy()
    ours = encode_rgb_png(pixels)
    ok, theirs = cv2.imencode(".png", cv2.cvtColor(pixels, cv2.COLOR_RGB2BGR))
    assert ok and len(ours) < len(theirs)


@pytest.mark.parametrize(
    "pixels",
    [np.zeros((4, 4, 3), np.float32), np.zeros((4, 4), np.uint8), np.zeros((4, 4, 4), np.uint8)],
)
def test_anything_but_8_bit_rgb_is_refused_naming_what_it_got(pixels):
    with pytest.raises(DeforumError, match=r"a PNG frame needs 8-bit RGB pixels \[H, W, 3\], not"):
        encode_rgb_png(pixels)
