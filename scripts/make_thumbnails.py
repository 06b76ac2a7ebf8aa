"""Thumbnails for ComfyUI's template browser: `workflows/<name>.jpg`, rendered by the pack.

ComfyUI (0.3.x, Vue frontend) lists every `workflows/*.json` of a custom-node folder as a
template and asks for `<name>.jpg` beside it; without one the browser shows an empty card and
logs an error. Each picture here is made by the pack's own engine, with no model weights: the
workflow's headless twin (`workflows/headless/<name>.json`) runs as a motion preview (the
camera with colour coherence and contrast on the built-in test pattern, exactly as
`deforum-comfy render --preview` does) at a small size, and four of its frames, from the
start to the end of the run, make a 2x2 picture. Depth comes from flat depth (no weights
ship with the pack), a video input from the test pattern panning (for hybrid video, whose
preview is that clip carried along its own optical flow and composited into itself, panning
half as fast: at the full pace each cadence key lies about one cell of the pattern's grid
further on, and DIS flow follows the grid to the wrong cell), a sound from a click track at 120
bpm (the audio workflow's zoom pulsing on each click); the schedules workflow,
which has no twin, shows its schedule plot and prompt schedule. A preview leaves a ControlNet out
(it diffuses nothing), so the right half of each frame shows a canny unit's hint instead:
the frame's edges, white on black, as the ControlNet would get them. A preview cannot show prompts:
stills (mode None) are captioned with each frame's prompt, and an Interpolation morph (whose
preview is its init picture, here the test pattern, moved only by a Motion 2D) with each
frame's mix of the two prompts it lies between, as the engine places them.

    .venv/bin/python scripts/make_thumbnails.py            # every workflow
    .venv/bin/python scripts/make_thumbnails.py deforum_2d # one, into workflows/

The pictures are deterministic, the same bytes on every run: before torch loads, the script
pins the kernels as the tests do (tests/reproducible: portable ATen code, one thread, oneDNN
off), so tests/unit/test_templates.py can render one again and compare.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from fractions import Fraction
from io import BytesIO
from pathlib import Path
from typing import Any

from PIL import Image, ImageDraw, ImageFont

REPO_ROOT = Path(__file__).resolve().parents[1]
WORKFLOWS = REPO_ROOT / "workflows"
TILE = 256  # render size: four tiles make a 512x512 thumbnail
THUMBNAIL_SIZE = (2 * TILE, 2 * TILE)
JPEG_QUALITY = 85
CLIP_FRAMES = 24
# Frames rendered where the workflow's own count shows less: with flat depth the 3D camera
# (translation_z 10 a frame) flies into the picture, which is gone after about 20 frames.
MAX_FRAMES = {"deforum_3d": 13}
# How far the clip pans over its frames, in tile widths, where the workflow's own pace differs.
CLIP_PAN = {"deforum_hybrid": 0.5}
BEAT_BPM = 120
BEAT_SECONDS = 10.0  # longer than the audio workflow's 120 frames at 15 fps


def _font(size: int) -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    """Pillow's bundled font (scalable since Pillow 10.1, the fixed bitmap one before)."""
    try:
        return ImageFont.load_default(size=size)
    except TypeError:
        return ImageFont.load_default()


def _caption(image: Image.Image, text: str, size: int = 15) -> Image.Image:
    """The image with `text` on a dark band at its bottom left, so it reads on any picture."""
    image = image.convert("RGB")
    draw = ImageDraw.Draw(image)
    font = _font(size)
    left, top, right, bottom = draw.textbbox((0, 0), text, font=font)
    x, y = 6, image.height - (bottom - top) - 12
    draw.rectangle((x - 4, y - 4 + top, x + right - left + 4, y + bottom + 4), fill=(16, 16, 16))
    draw.text((x - left, y), text, font=font, fill=(240, 240, 240))
    return image


def grid(tiles: list[tuple[Image.Image, str]]) -> Image.Image:
    """Four captioned tiles as a 2x2 picture, left to right, top to bottom."""
    picture = Image.new("RGB", THUMBNAIL_SIZE)
    for index, (tile, text) in enumerate(tiles[:4]):
        tile = _caption(tile.resize((TILE, TILE), Image.Resampling.LANCZOS), text)
        picture.paste(tile, ((index % 2) * TILE, (index // 2) * TILE))
    return picture


def spread(count: int, picks: int = 4) -> list[int]:
    """`picks` frame indices from the first to the last of `count` frames, evenly apart."""
    return sorted({round(i * (count - 1) / (picks - 1)) for i in range(picks)})


@contextmanager
def _headless(folder: Path) -> Iterator[Path]:
    """The pack's headless host pointed at a scratch folder (output/ and input/), quiet,
    and put back afterwards: a thumbnail leaves nothing in the repository's output."""
    from deforum_comfy.nodes.comfy_bridge import HEADLESS

    saved = HEADLESS.output, HEADLESS.input, HEADLESS.quiet
    HEADLESS.output, HEADLESS.input, HEADLESS.quiet = folder / "output", folder / "input", True
    HEADLESS.input.mkdir(parents=True, exist_ok=True)
    try:
        yield folder
    finally:
        HEADLESS.output, HEADLESS.input, HEADLESS.quiet = saved


def write_clip(
    path: Path, frames: int = CLIP_FRAMES, size: int = TILE, fps: int = 24, pan: float = 1.0
) -> None:
    """The test pattern panning left to right by `pan` of its width, encoded as an H.264 MP4:
    the video a Video Input or hybrid workflow restyles (one thread, so the file is the same
    every time)."""
    import av

    from deforum_core.pattern import test_pattern

    wide = (test_pattern(2 * size, size)[0] * 255).round().byte().numpy()
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = size, size, "yuv420p"
        stream.time_base = Fraction(1, fps)
        stream.options = {"crf": "12", "preset": "medium", "threads": "1"}
        for index in range(frames):
            offset = round(index * pan * size / max(1, frames - 1))
            frame = av.VideoFrame.from_ndarray(wide[:, offset : offset + size].copy(), "rgb24")
            container.mux(stream.encode(frame))
        container.mux(stream.encode())


def write_beat(
    path: Path, bpm: float = BEAT_BPM, seconds: float = BEAT_SECONDS, rate: int = 44100
) -> None:
    """A click track as a 16-bit mono WAV: a 10 ms burst of 2 kHz, dying away in about 2 ms,
    on every beat from time 0 and silence between: the sound an audio workflow follows."""
    import wave

    import numpy as np

    samples = np.zeros(int(rate * seconds))
    time = np.arange(int(0.01 * rate)) / rate
    click = np.sin(2 * np.pi * 2000 * time) * np.exp(-time / 0.002) * 20000
    for start in (round(beat * 60 / bpm * rate) for beat in range(int(seconds * bpm / 60))):
        piece = samples[start : start + len(click)]
        piece += click[: len(piece)]
    with wave.open(str(path), "wb") as sound:
        sound.setnchannels(1)
        sound.setsampwidth(2)
        sound.setframerate(rate)
        sound.writeframes(samples.astype("<i2").tobytes())


def _small_preview(name: str) -> tuple[dict[str, dict[str, Any]], dict[str, tuple]]:
    """The twin as a motion preview at TILE px (and MAX_FRAMES), with the presets it needs:
    the test pattern as init image and flat depth in place of each depth model."""
    from deforum_app import workflow_runner as runner
    from deforum_core.depth import FlatDepth
    from deforum_core.pattern import test_pattern

    workflow = runner.motion_preview(runner.read_workflow(WORKFLOWS / "headless" / f"{name}.json"))
    preset: dict[str, tuple] = {runner.INIT_NODE: (test_pattern(TILE, TILE),)}
    for node_id, node in workflow.items():
        inputs = node["inputs"]
        if node["class_type"] in ("DeforumAnimate", "DeforumLoadSettings"):
            inputs.update(width=TILE, height=TILE)  # Load Settings' override wins over Animate
            if name in MAX_FRAMES:
                inputs["max_frames"] = MAX_FRAMES[name]
        elif node["class_type"] == "DeforumDepthModel":
            preset[node_id] = (FlatDepth(),)
    return workflow, preset


def render_twin(name: str, scratch: Path) -> Image.Image:
    """Run the headless twin of `name` as a small motion preview; four of its frames."""
    import deforum_comfy

    from deforum_app import workflow_runner as runner

    workflow, preset = _small_preview(name)
    with _headless(scratch) as folder:
        for node in workflow.values():
            if node["class_type"] == "DeforumVideoInput":
                write_clip(folder / "input" / node["inputs"]["video"], pan=CLIP_PAN.get(name, 1.0))
            elif node["class_type"] == "DeforumAudioSchedule":
                write_beat(folder / "input" / node["inputs"]["audio_file"])
        reports = runner.run_workflow(workflow, deforum_comfy.NODE_CLASS_MAPPINGS, preset=preset)
        (run_dir,) = [d for report in reports.values() for d in report.get("run_dir", [])]
        frames = sorted((folder / "output" / run_dir).glob("frame_*.png"))
        prompts = [r["prompts"] for r in reports.values() if "prompts" in r]
        modes = {n["inputs"].get("animation_mode") for n in workflow.values()}
        morph = _morph_labels(workflow) if "Interpolation" in modes else None
        hints = _canny_hints(name)
        tiles = []
        for index in spread(len(frames)):
            with Image.open(frames[index]) as frame:
                label = f"frame {index}"
                if morph is not None:
                    label = morph(index)
                elif "None" in modes and prompts:
                    label = _prompt_at(prompts[0], index)
                picture = frame.convert("RGB")
                if hints is not None:
                    picture, label = hints(picture), f"{label} | its canny hint"
                tiles.append((picture, label))
    return grid(tiles)


def _canny_hints(name: str) -> Any:
    """For a twin with a canny Deforum ControlNet: picture -> the picture with its right half
    the unit's hint (its Canny edges, white on black); None for other twins."""
    from deforum_app import workflow_runner as runner

    twin = runner.read_workflow(WORKFLOWS / "headless" / f"{name}.json")
    units = [node["inputs"] for node in twin.values() if node["class_type"] == "DeforumControlNet"
             and node["inputs"]["preprocessor"] == "canny"]  # fmt: skip
    if not units:
        return None
    import numpy as np
    import torch

    from deforum_core.controlnet.preprocess import canny_edges

    low, high = units[0]["canny_low"], units[0]["canny_high"]

    def overlay(picture: Image.Image) -> Image.Image:
        pixels = np.asarray(picture).copy()
        edges = canny_edges(torch.from_numpy(pixels)[None].float() / 255, low, high)
        half = pixels.shape[1] // 2
        pixels[:, half:] = (edges[0, :, half:] * 255).round().byte().numpy()
        return Image.fromarray(pixels)

    return overlay


def _morph_labels(workflow: dict[str, dict[str, Any]]) -> Any:
    """For an Interpolation twin: frame index -> its mix of the two prompts it lies between,
    each prompt named by its first word after the words all the prompts share."""
    from deforum_core.modes import MODES, InterpolationStage
    from deforum_core.prompts import PromptTexts
    from deforum_core.render import Stages

    by_type = {node["class_type"]: node["inputs"] for node in workflow.values()}
    texts = by_type["DeforumPrompts"]
    schedule = PromptTexts(texts["prompts"], texts["positive"], texts["negative"]).parse()
    stages = Stages(schedule, interpolation=InterpolationStage(**by_type["DeforumInterpolation"]))
    animate, mode = by_type["DeforumAnimate"], MODES["Interpolation"]
    count = mode.frame_count(animate["max_frames"], stages, animate["fps"])
    placed = mode.bind(stages, schedule.frames(count, fps=animate["fps"])).placed
    keys = [placed[frame].positive.split() for frame in placed.starts]
    columns = zip(*keys, strict=False)  # as far as the shortest prompt
    shared = next((i for i, words in enumerate(columns) if len(set(words)) > 1), 0)

    def name(text: str) -> str:
        words = text.split()
        return words[min(shared, len(words) - 1)].strip(",.") if words else "(empty)"

    def label(index: int) -> str:
        prompt = placed[index]
        if prompt.blend == 0:
            return f"{index}: {name(prompt.positive)}"
        share = round(100 * prompt.blend)
        mix = f"{name(prompt.positive)} {100 - share}% {name(prompt.next_positive)} {share}%"
        return f"{index}: {mix}"

    return label


def _prompt_at(prompts: list[dict[str, Any]], frame: int) -> str:
    """The positive prompt in effect at `frame`, shortened to fit a tile (stills are told
    apart by their prompts: a preview renders the same picture for each)."""
    text = next(p["positive"] for p in reversed(prompts) if p["frame"] <= frame)
    return text if len(text) <= 28 else text[:27] + "…"


def render_schedules(name: str) -> Image.Image:
    """The schedules workflow (no twin): its Deforum Schedule node's plot, and below it the
    key prompts of its Deforum Prompts node, both computed by those nodes."""
    import deforum_comfy

    classes = deforum_comfy.NODE_CLASS_MAPPINGS
    workflow = json.loads((WORKFLOWS / f"{name}.json").read_text(encoding="utf-8"))
    outputs: dict[str, Any] = {}
    for node in workflow["nodes"]:
        node_class = classes.get(node["type"])
        if node_class is None:  # ComfyUI's PreviewImage
            continue
        widgets = dict(
            zip(node_class.INPUT_TYPES()["required"], node["widgets_values"], strict=True)
        )
        outputs[node["type"]] = node_class().build(**widgets)
    plot = outputs["DeforumSchedule"]["result"][1][0]
    picture = Image.new("RGB", THUMBNAIL_SIZE, (24, 24, 28))
    picture.paste(Image.fromarray((plot * 255).round().byte().numpy()), (0, 0))
    draw, font = ImageDraw.Draw(picture), _font(17)
    draw.text((16, TILE + 16), "prompt schedule", font=font, fill=(150, 190, 255))
    for row, prompt in enumerate(outputs["DeforumPrompts"]["ui"]["prompts"][:6]):
        text = f"{prompt['frame']:>3}: {prompt['positive']}"
        draw.text((16, TILE + 48 + 30 * row), text[:52], font=font, fill=(235, 235, 235))
    return picture


def thumbnail(name: str, scratch: Path) -> bytes:
    """The JPEG thumbnail of workflows/<name>.json (scratch: a folder for the render)."""
    has_twin = (WORKFLOWS / "headless" / f"{name}.json").is_file()
    picture = render_twin(name, scratch) if has_twin else render_schedules(name)
    buffer = BytesIO()
    picture.save(buffer, "JPEG", quality=JPEG_QUALITY)
    return buffer.getvalue()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("names", nargs="*", help="workflow names (default: every workflow)")
    parser.add_argument("--out", type=Path, default=WORKFLOWS, help="folder for the .jpg files")
    arguments = parser.parse_args(argv)
    names = arguments.names or sorted(path.stem for path in WORKFLOWS.glob("*.json"))
    from deforum_core.files import atomic_write

    arguments.out.mkdir(parents=True, exist_ok=True)
    for name in names:
        with tempfile.TemporaryDirectory(prefix="deforum-thumbnail-") as scratch:
            path = atomic_write(arguments.out / f"{name}.jpg", thumbnail(name, Path(scratch)))
        print(f"{path} ({path.stat().st_size // 1024} KiB)")
    return 0


def pin_numerics() -> None:
    """The kernels the tests render with (tests/reproducible), set before torch loads (it is
    imported lazily, by the functions above), so that a test renders the same bytes."""
    sys.path.insert(0, str(REPO_ROOT / "tests" / "reproducible"))
    import reproducible_numerics

    reproducible_numerics.pin_numerics()


if __name__ == "__main__":
    pin_numerics()
    sys.exit(main())
