"""Run a workflow made of this pack's nodes without ComfyUI (the command line's `render`).

The workflow is ComfyUI's API format (what "Save (API Format)" writes): node ids mapping to
{"class_type", "inputs"}, where an input is a value or a [node_id, output_index] link. The
nodes are the pack's own classes, loaded from the checkout this package lives in, and are
called exactly as ComfyUI calls them, so a headless render is the render ComfyUI would make.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from collections.abc import Mapping
from pathlib import Path
from types import ModuleType
from typing import Any

PACK_ROOT = Path(__file__).resolve().parents[1]
PACK_MODULE = "deforum_comfy_pack"


class WorkflowError(ValueError):
    """A workflow the command line cannot run; the message names the node and the fix."""


def load_pack(root: Path = PACK_ROOT) -> ModuleType:
    """Import the node pack as ComfyUI does: the checkout's root as a package."""
    if PACK_MODULE in sys.modules:
        return sys.modules[PACK_MODULE]
    init = root / "__init__.py"
    if not init.is_file():
        raise WorkflowError(
            f"the node pack is not next to deforum_core ({root}); run the command line from a "
            "checkout installed with `pip install -e .`"
        )
    spec = importlib.util.spec_from_file_location(
        PACK_MODULE, init, submodule_search_locations=[str(root)]
    )
    module = importlib.util.module_from_spec(spec)
    sys.modules[PACK_MODULE] = module
    spec.loader.exec_module(module)
    return module


def read_workflow(path: Path) -> dict[str, dict[str, Any]]:
    try:
        workflow = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as error:
        raise WorkflowError(f"cannot read workflow {path}: {error}") from None
    if "nodes" in workflow and "links" in workflow:
        raise WorkflowError(
            f"{path} is a UI workflow; the command line runs API-format workflows: use the "
            "headless twins in workflows/headless/, or ComfyUI's Save (API Format)"
        )
    if not isinstance(workflow, dict) or not all(
        isinstance(node, dict) and "class_type" in node for node in workflow.values()
    ):
        raise WorkflowError(f"{path} is not an API-format workflow (ids to class_type/inputs)")
    return workflow


def _execution_order(workflow: Mapping[str, dict[str, Any]], given: set[str]) -> list[str]:
    """Node ids with every node after the nodes it links to (`given` ones are not run)."""
    order: list[str] = []
    state: dict[str, str] = dict.fromkeys(given, "given")

    def visit(node_id: str, path: tuple[str, ...]) -> None:
        if state.get(node_id) in ("done", "given"):
            return
        if state.get(node_id) == "visiting":
            raise WorkflowError(f"the workflow has a cycle through nodes {' -> '.join(path)}")
        if node_id not in workflow:
            raise WorkflowError(f"node {path[-2]} links to node {node_id}, which does not exist")
        state[node_id] = "visiting"
        for value in workflow[node_id].get("inputs", {}).values():
            if _is_link(value):
                visit(str(value[0]), (*path, str(value[0])))
        state[node_id] = "done"
        order.append(node_id)

    for node_id in sorted(workflow, key=lambda key: (len(key), key)):
        visit(node_id, (node_id,))
    return order


def _is_link(value: Any) -> bool:
    return isinstance(value, list) and len(value) == 2 and isinstance(value[1], int)


INIT_NODE = "__init_image__"


def run_workflow(
    workflow: Mapping[str, dict[str, Any]],
    pack: ModuleType | None = None,
    *,
    preset: Mapping[str, tuple] | None = None,
) -> dict[str, Any]:
    """Execute every node; returns each node's "ui" report by node id.

    preset gives the outputs of pseudo-nodes the workflow links to (such as the init image
    of a motion preview) without running anything for them.
    """
    import torch

    pack = pack or load_pack()
    classes = pack.NODE_CLASS_MAPPINGS
    results: dict[str, tuple] = dict(preset or {})
    for node_id, node in workflow.items():
        if node["class_type"] not in classes:
            raise WorkflowError(
                f"node {node_id} is {node['class_type']!r}, which is not a node of this pack; "
                "the command line runs Deforum nodes only (use Deforum Diffusers Loader in place "
                "of ComfyUI's checkpoint loader)"
            )
    reports: dict[str, Any] = {}
    with torch.inference_mode():
        for node_id in _execution_order(workflow, set(results)):
            node = workflow[node_id]
            node_class = classes[node["class_type"]]
            inputs = {
                name: results[str(value[0])][value[1]] if _is_link(value) else value
                for name, value in node.get("inputs", {}).items()
            }
            output = getattr(node_class(), node_class.FUNCTION)(**inputs)
            if isinstance(output, dict):
                results[node_id] = tuple(output.get("result", ()))
                reports[node_id] = output.get("ui", {})
            else:
                results[node_id] = tuple(output)
    return reports


def motion_preview(workflow: Mapping[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The workflow without its diffusers: every Deforum Animate node renders the camera
    motion (with coherence and noise) on an init image, linked to INIT_NODE unless it has
    one, and diffusion-only nodes are dropped."""
    diffusers = {
        node_id for node_id, node in workflow.items()
        if node["class_type"] in ("DeforumDiffusersLoader", "DeforumDiffuser")
    }  # fmt: skip
    preview: dict[str, dict[str, Any]] = {}
    for node_id, node in workflow.items():
        if node_id in diffusers:
            continue
        inputs = {
            name: value
            for name, value in node.get("inputs", {}).items()
            if not (_is_link(value) and str(value[0]) in diffusers)
        }
        if node["class_type"] == "DeforumAnimate":
            inputs.setdefault("init_image", [INIT_NODE, 0])
        preview[node_id] = {**node, "inputs": inputs}
    return preview
