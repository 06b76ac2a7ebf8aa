"""The workflows as they appear in ComfyUI's template browser and missing-model panel.

ComfyUI 0.3.75 shows each workflows/*.json as a template card with `<name>.jpg` beside it as
the thumbnail (scripts/make_thumbnails.py renders them with the pack), and offers a download
for a model a loader names when the loader node's `properties.models` has an entry of that
name with its url and model folder, and the file is a .safetensors.
"""

from __future__ import annotations

import importlib.util
import json
from io import BytesIO
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pytest
from PIL import Image

from deforum_core.depth import MODEL_SPECS

REPO_ROOT = Path(__file__).resolve().parents[2]
WORKFLOWS = sorted((REPO_ROOT / "workflows").glob("*.json"))
CHECKPOINT_SUFFIXES = (".safetensors", ".sft")  # the only ones 0.3.75's panel downloads


@pytest.fixture(scope="module")
def script() -> ModuleType:
    """scripts/make_thumbnails.py as a module (scripts/ is no package)."""
    path = REPO_ROOT / "scripts" / "make_thumbnails.py"
    spec = importlib.util.spec_from_file_location("make_thumbnails", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def pixels(data: bytes) -> np.ndarray:
    with Image.open(BytesIO(data)) as image:
        assert image.format == "JPEG"
        return np.asarray(image.convert("RGB"), dtype=np.float64)


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda path: path.stem)
def test_every_workflow_has_a_thumbnail_worth_showing(script: ModuleType, path: Path) -> None:
    thumbnail = path.with_suffix(".jpg")
    assert thumbnail.is_file(), f"run scripts/make_thumbnails.py {path.stem}"
    image = pixels(thumbnail.read_bytes())
    assert image.shape == (script.THUMBNAIL_SIZE[1], script.THUMBNAIL_SIZE[0], 3)
    luminance = image.mean(axis=2)
    assert luminance.std() > 20 and np.ptp(luminance) > 150  # a picture, not a blank card


@pytest.mark.parametrize("name", ["deforum_2d", "deforum_schedules"])
def test_the_script_makes_the_thumbnail_again(
    script: ModuleType, name: str, tmp_path: Path
) -> None:
    """A render of the twin (2D) and the schedule plot (no twin) come out as committed."""
    made = pixels(script.thumbnail(name, tmp_path))
    committed = pixels((REPO_ROOT / "workflows" / f"{name}.jpg").read_bytes())
    assert made.shape == committed.shape
    assert np.abs(made - committed).mean() < 1.0


def loader_nodes(workflow: dict[str, Any]) -> list[dict[str, Any]]:
    loaders = ("CheckpointLoaderSimple", "DeforumDepthModel")
    return [node for node in workflow["nodes"] if node["type"] in loaders]


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda path: path.stem)
def test_each_loader_says_where_its_model_comes_from(path: Path) -> None:
    """The entry's name is the file the loader's widget names (0.3.75's panel drops entries
    whose name no widget holds) and a .safetensors (the only files it downloads): the
    checkpoint, or the depth model type's published copy, which the depth folder then holds."""
    from deforum_comfy.nodes.depth_nodes import DEPTH_FOLDER

    for node in loader_nodes(json.loads(path.read_text(encoding="utf-8"))):
        (model,) = node["properties"]["models"]
        assert set(model) == {"name", "url", "directory"}
        assert model["url"].startswith("https://huggingface.co/")
        assert model["url"].endswith(f"/resolve/main/{model['name']}")
        assert model["name"].endswith(CHECKPOINT_SUFFIXES)
        if node["type"] == "CheckpointLoaderSimple":
            assert model["name"] == node["widgets_values"][0]
            assert model["directory"] == "checkpoints"
        else:
            model_type, model_file = node["widgets_values"][:2]
            spec = MODEL_SPECS[model_type]
            assert (model["name"], model["url"]) == spec.download()
            assert model_file == model["name"] and model["name"] in spec.expected_files()
            assert model["directory"] == DEPTH_FOLDER


def test_the_depth_and_checkpoint_workflows_have_loaders() -> None:
    """The check above looks at something: every diffusing workflow names its checkpoint."""
    with_loaders = {
        path.stem
        for path in WORKFLOWS
        if loader_nodes(json.loads(path.read_text(encoding="utf-8")))
    }
    assert with_loaders == {path.stem for path in WORKFLOWS} - {"deforum_schedules"}


# The part of a 1600x1000 ComfyUI window a template should open on, in screen pixels: right
# of the side bar, below the late-2025 page's tab bar and breadcrumb; and the smallest zoom at
# which both frontends still draw widgets (below it they draw placeholders).
OPEN_VIEW = (80, 130, 1580, 950)
LEGIBLE_ZOOM = 0.6
TITLE_HEIGHT = 30


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda path: path.stem)
def test_each_workflow_opens_on_a_saved_view_that_frames_it(path: Path) -> None:
    """A workflow without `extra.ds` is framed by the frontend after it loads, and with Nodes
    2.0 on, the late-2025 page (1.32.9) then spreads the nodes by 1/zoom (2.7 times apart in
    deforum_2d) or pulls them into each other (deforum_schedules). With a saved view it only
    rescales the layout by its fixed 1.2. The view starts at the graph's top-left corner,
    legible, and shows all of it where that fits."""
    workflow = json.loads(path.read_text(encoding="utf-8"))
    view = workflow["extra"]["ds"]
    scale, (offset_x, offset_y) = view["scale"], view["offset"]
    nodes = workflow["nodes"]
    left = min(node["pos"][0] for node in nodes)
    top = min(node["pos"][1] - TITLE_HEIGHT for node in nodes)
    right = max(node["pos"][0] + node["size"][0] for node in nodes)
    bottom = max(node["pos"][1] + node["size"][1] for node in nodes)
    screen = [(left + offset_x) * scale, (top + offset_y) * scale,
              (right + offset_x) * scale, (bottom + offset_y) * scale]  # fmt: skip
    assert LEGIBLE_ZOOM <= scale <= 1.0
    assert screen[:2] == pytest.approx(OPEN_VIEW[:2], abs=2)
    fits = (right - left) * LEGIBLE_ZOOM <= OPEN_VIEW[2] - OPEN_VIEW[0] and (
        bottom - top
    ) * LEGIBLE_ZOOM <= OPEN_VIEW[3] - OPEN_VIEW[1]
    if fits:
        assert screen[2] <= OPEN_VIEW[2] and screen[3] <= OPEN_VIEW[3]
