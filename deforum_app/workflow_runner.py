"""Run a workflow made of this pack's nodes without ComfyUI (the command line's `render`).

The workflow is ComfyUI's API format (what "Save (API Format)" writes): node ids mapping to
{"class_type", "inputs"}, where an input is a value or a [node_id, output_index] link. The
nodes are the pack's own classes (`deforum_comfy`, the package ComfyUI registers), checked
against their INPUT_TYPES as ComfyUI checks a queued prompt and called exactly as ComfyUI
calls them, so a headless render is the render ComfyUI would make: with the hidden inputs
ComfyUI gives, the workflow as PROMPT and the node's id as UNIQUE_ID (Deforum Animate sees
there a Deforum Video that follows it and encodes its video beside the render).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from deforum_core.errors import DeforumError

INIT_NODE = "__init_image__"
# dropped from a motion preview, which diffuses nothing (so needs none of their weights)
DIFFUSION_NODES = (
    "DeforumDiffusersLoader",
    "DeforumDiffuser",
    "DeforumControlNetLoader",
    "DeforumControlNet",
)
_WIDGET_TYPES = {"INT": (int,), "FLOAT": (int, float), "STRING": (str,), "BOOLEAN": (bool,)}


class WorkflowError(DeforumError):
    """A workflow the command line cannot run; the message names the node and the fix."""


def read_workflow(path: Path) -> dict[str, dict[str, Any]]:
    try:
        workflow = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as error:
        raise WorkflowError(f"cannot read workflow {path}: {error.strerror or error}") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise WorkflowError(f"{path} is not valid JSON: {error}") from None
    if isinstance(workflow, dict) and "nodes" in workflow and "links" in workflow:
        raise WorkflowError(
            f"{path} is a UI workflow; the command line runs API-format workflows: use the "
            "headless twins in workflows/headless/, or ComfyUI's Save (API Format)"
        )
    if not isinstance(workflow, dict) or not all(
        isinstance(node, dict) and "class_type" in node and isinstance(node.get("inputs", {}), dict)
        for node in workflow.values()
    ):
        raise WorkflowError(
            f"{path} is not an API-format workflow: a JSON object of node ids, each with "
            '"class_type" and "inputs"'
        )
    return workflow


def _is_link(value: Any) -> bool:
    return isinstance(value, list) and len(value) == 2 and isinstance(value[1], int)


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


def _check_value(node: str, name: str, spec: tuple, value: Any) -> None:
    """A widget value checked as ComfyUI checks a queued prompt: type, range and choice."""
    kind, options = spec[0], (spec[1] if len(spec) > 1 else {})
    if isinstance(kind, list | tuple):
        if value not in kind:
            shown = ", ".join(map(repr, kind[:8])) + (", ..." if len(kind) > 8 else "")
            raise WorkflowError(f"{node}: {name} {value!r} is not one of {shown}")
        return
    allowed = _WIDGET_TYPES.get(kind)
    if allowed is None:
        raise WorkflowError(
            f"{node}: {name} takes a {kind} from another node's output, not the value {value!r}"
        )
    if isinstance(value, bool) != (kind == "BOOLEAN") or not isinstance(value, allowed):
        raise WorkflowError(f"{node}: {name} must be {kind.lower()}, got {value!r}")
    low, high = options.get("min"), options.get("max")
    if kind in ("INT", "FLOAT") and (
        (low is not None and value < low) or (high is not None and value > high)
    ):
        raise WorkflowError(f"{node}: {name} {value!r} is outside {low}..{high}")


def _check_node(
    node_id: str,
    workflow: Mapping[str, dict[str, Any]],
    classes: Mapping[str, type],
    given: Mapping[str, tuple],
) -> None:
    """The node's inputs against its INPUT_TYPES: known names, required ones present, links
    to outputs that exist and carry the input's type, widget values in range."""
    node = workflow[node_id]
    label = f"node {node_id} ({node['class_type']})"
    declared = classes[node["class_type"]].INPUT_TYPES()
    specs = {**declared.get("required", {}), **declared.get("optional", {})}
    inputs = node.get("inputs", {})
    unknown = sorted(set(inputs) - set(specs))
    if unknown:
        raise WorkflowError(
            f"{label} has no input {', '.join(map(repr, unknown))}; its inputs are "
            f"{', '.join(specs)}"
        )
    missing = [name for name in declared.get("required", {}) if name not in inputs]
    if missing:
        raise WorkflowError(f"{label} lacks the required input(s) {', '.join(missing)}")
    for name, value in inputs.items():
        if not _is_link(value):
            _check_value(label, name, specs[name], value)
        elif str(value[0]) not in given:
            source = workflow[str(value[0])]
            _check_link(f"{label}: {name}", specs[name][0], value, classes[source["class_type"]])


def _check_link(where: str, wanted: Any, link: list, source_class: type) -> None:
    """A link names an output the source node has, of the type the input takes."""
    outputs = source_class.RETURN_TYPES
    if not 0 <= link[1] < len(outputs):
        raise WorkflowError(
            f"{where} links to output {link[1]} of node {link[0]}, which has "
            f"{len(outputs)} output(s) ({', '.join(outputs)})"
        )
    if isinstance(wanted, str) and wanted != "*" and outputs[link[1]] != wanted:
        raise WorkflowError(
            f"{where} takes {wanted}, but output {link[1]} of node {link[0]} gives "
            f"{outputs[link[1]]}"
        )


def check_workflow(
    workflow: Mapping[str, dict[str, Any]], classes: Mapping[str, type], given: Mapping[str, tuple]
) -> list[str]:
    """Every node checked before anything runs; returns the execution order."""
    for node_id, node in workflow.items():
        if node["class_type"] not in classes:
            raise WorkflowError(
                f"node {node_id} is {node['class_type']!r}, which is not a node of this pack; "
                "the command line runs Deforum nodes only (use Deforum Diffusers Loader in place "
                "of ComfyUI's checkpoint loader)"
            )
    order = _execution_order(workflow, set(given))
    for node_id in order:
        _check_node(node_id, workflow, classes, given)
    return order


def run_workflow(
    workflow: Mapping[str, dict[str, Any]],
    classes: Mapping[str, type],
    *,
    preset: Mapping[str, tuple] | None = None,
) -> dict[str, Any]:
    """Execute every node; returns each node's "ui" report by node id.

    preset gives the outputs of pseudo-nodes the workflow links to (such as the init image
    of a motion preview) without running anything for them.
    """
    import torch

    results: dict[str, tuple] = dict(preset or {})
    order = check_workflow(workflow, classes, results)
    reports: dict[str, Any] = {}
    with torch.inference_mode():
        for node_id in order:
            node = workflow[node_id]
            node_class = classes[node["class_type"]]
            inputs = {
                name: results[str(value[0])][value[1]] if _is_link(value) else value
                for name, value in node.get("inputs", {}).items()
            }
            inputs.update(_hidden_inputs(node_class, workflow, node_id))
            try:
                output = getattr(node_class(), node_class.FUNCTION)(**inputs)
            except DeforumError as error:  # say which node, as ComfyUI's error panel does
                raise WorkflowError(f"node {node_id} ({node['class_type']}): {error}") from None
            if isinstance(output, dict):
                results[node_id] = tuple(output.get("result", ()))
                reports[node_id] = output.get("ui", {})
            else:
                results[node_id] = tuple(output)
    return reports


def _hidden_inputs(
    node_class: type, workflow: Mapping[str, dict[str, Any]], node_id: str
) -> dict[str, Any]:
    """The hidden inputs the node declares that ComfyUI fills from the queued prompt."""
    given = {"PROMPT": workflow, "UNIQUE_ID": node_id}
    hidden = node_class.INPUT_TYPES().get("hidden", {})
    return {name: given[kind] for name, kind in hidden.items() if kind in given}


def motion_preview(workflow: Mapping[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The workflow without its diffusers: every Deforum Animate node renders the camera
    motion (with coherence and contrast) on an init image, linked to INIT_NODE unless it has
    one, and diffusion-only nodes are dropped."""
    diffusers = {
        node_id for node_id, node in workflow.items() if node["class_type"] in DIFFUSION_NODES
    }
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
