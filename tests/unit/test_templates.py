"""The workflows as they appear in ComfyUI's template browser and missing-model panel.

ComfyUI 0.3.75 shows each workflows/*.json as a template card with `<name>.jpg` beside it as
the thumbnail (scripts/make_thumbnails.py renders them with the pack), and offers a download
for a model a loader names when the loader node's `properties.models` has an entry of that
name with its url and model folder.
"""

from __future__ import annotations

import importlib.util
import json
import re
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
    """The entry's name is the file the loader loads: the checkpoint widget's value, or the
    official file of the depth model type (what `(official file name)` looks for)."""
    from deforum_comfy.nodes.depth_nodes import DEPTH_FOLDER, OFFICIAL_FILE

    for node in loader_nodes(json.loads(path.read_text(encoding="utf-8"))):
        (model,) = node["properties"]["models"]
        assert set(model) == {"name", "url", "directory"}
        assert model["url"].startswith("https://huggingface.co/")
        assert model["url"].endswith(f"/resolve/main/{model['name']}")
        if node["type"] == "CheckpointLoaderSimple":
            assert model["name"] == node["widgets_values"][0]
            assert model["name"].endswith(CHECKPOINT_SUFFIXES)
            assert model["directory"] == "checkpoints"
        else:
            model_type, model_file = node["widgets_values"][:2]
            spec = MODEL_SPECS[model_type]
            assert model_file == OFFICIAL_FILE and model["name"] == spec.files[0]
            repository = re.search(r"\((https://huggingface\.co/[^)]+)\)", spec.publisher)
            assert repository and model["url"].startswith(f"{repository[1]}/resolve/")
            assert model["directory"] == DEPTH_FOLDER


def test_the_depth_and_checkpoint_workflows_have_loaders() -> None:
    """The check above looks at something: every diffusing workflow names its checkpoint."""
    with_loaders = {
        path.stem
        for path in WORKFLOWS
        if loader_nodes(json.loads(path.read_text(encoding="utf-8")))
    }
    assert with_loaders == {path.stem for path in WORKFLOWS} - {"deforum_schedules"}
