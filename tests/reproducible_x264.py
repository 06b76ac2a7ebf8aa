"""x264 without its macroblock-tree rate control, for tests that compare MP4s byte for byte.

With it, x264 does not give the same bytes twice for the same pixels on a busy machine (seen
with encode_video alone, and with one encoder thread): the same frames encoded 20 times while
other work ran gave 3 different files. Without it the same pixels give the same file, which is
what these tests compare: two ways of feeding the encoder.
"""

from __future__ import annotations

from dataclasses import replace

from deforum_core import video_encoding


def without_mbtree(monkeypatch) -> None:
    spec = video_encoding._FORMATS["mp4"]
    options = replace(spec, options=lambda quality: {**spec.options(quality),
                                                     "x264-params": "mbtree=0"})  # fmt: skip
    monkeypatch.setitem(video_encoding._FORMATS, "mp4", options)
