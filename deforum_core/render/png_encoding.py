"""PNG files of a render's frames, written quicker than OpenCV's default PNG encoder.

Every row is stored with PNG's Up filter (its bytes minus the row above's, modulo 256; the
first row against a row of zeros, so as it is) and the filtered bytes are deflated with
Huffman coding only (zlib's Z_HUFFMAN_ONLY strategy): the Up filter turns the smooth pictures
a render makes into runs of small differences, which Huffman codes compactly without the
costly search for repeated strings. Measured on a 512x512 frame of the main job: 4.4 ms and
447 KB against 6.2 ms and 490 KB for cv2.imencode. zlib works with the GIL released, so the
background writer encodes while the render loop runs. Any PNG reader reads the files.
"""

from __future__ import annotations

import struct
import zlib

import numpy as np

from ..errors import DeforumError

_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_UP_FILTER = 2
_RGB_COLOUR_TYPE = 2
_LEVEL = 1  # with Huffman coding only, every level gives the same bytes
_MEMORY_LEVEL = 8  # zlib's default: its blocks adapt the codes more often than 9's (3 % smaller)


def _chunk(kind: bytes, data: bytes) -> bytes:
    """One PNG chunk: length, type, data and the CRC of type and data."""
    crc = zlib.crc32(data, zlib.crc32(kind))
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)


def encode_rgb_png(pixels: np.ndarray) -> bytes:
    """8-bit RGB pixels [H, W, 3] as the bytes of a PNG file."""
    if pixels.dtype != np.uint8 or pixels.ndim != 3 or pixels.shape[2] != 3:
        raise DeforumError(
            f"a PNG frame needs 8-bit RGB pixels [H, W, 3], not {pixels.dtype} {pixels.shape}"
        )
    height, width, _ = pixels.shape
    rows = np.ascontiguousarray(pixels).reshape(height, width * 3)
    filtered = np.empty((height, width * 3 + 1), dtype=np.uint8)
    filtered[:, 0] = _UP_FILTER
    filtered[0, 1:] = rows[0]
    np.subtract(rows[1:], rows[:-1], out=filtered[1:, 1:])  # uint8 wraps modulo 256
    compressor = zlib.compressobj(_LEVEL, zlib.DEFLATED, 15, _MEMORY_LEVEL, zlib.Z_HUFFMAN_ONLY)
    image_data = compressor.compress(filtered) + compressor.flush()
    header = struct.pack(">IIBBBBB", width, height, 8, _RGB_COLOUR_TYPE, 0, 0, 0)
    return b"".join((_SIGNATURE, _chunk(b"IHDR", header), _chunk(b"IDAT", image_data),
                     _chunk(b"IEND", b"")))  # fmt: skip
