"""The public contract of the pack's nodes, checked against tests/golden/node_contract.json.

Saved workflows name nodes by id, store widget values by position and link sockets by output
index. The contract file records, for every node id, its inputs in order (section, name,
kind, default, bounds, choices) and its outputs. A change passes only if every saved
workflow still loads and renders as before: node ids stay, inputs keep their order, kind and
default, combo choices are only added, and new inputs and outputs come after the recorded
ones. A new required input must be a widget with a default (a saved workflow has no link to
a new socket, and ComfyUI refuses a required socket left unconnected), and the widgets keep
their order across both sections, as saved widget values are matched to them by position.
Append a new node or input to the file by hand, or run with DEFORUM_RECORD_CONTRACT=1 to
rewrite it from the current nodes (then review the diff).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

GOLDEN = Path(__file__).resolve().parents[1] / "golden" / "node_contract.json"
RECORDED_OPTIONS = ("default", "min", "max", "step", "multiline")
WIDGET_KINDS = frozenset({"INT", "FLOAT", "STRING", "BOOLEAN", "COMBO"})


def describe_input(section: str, name: str, spec: tuple) -> dict[str, Any]:
    kind, options = spec[0], (spec[1] if len(spec) > 1 else {})
    entry: dict[str, Any] = {"section": section, "name": name}
    if isinstance(kind, list | tuple):
        entry["kind"] = "COMBO"
        entry["choices"] = list(kind)
    else:
        entry["kind"] = kind
    entry.update({key: options[key] for key in RECORDED_OPTIONS if key in options})
    return entry


def describe_node(node_class: type) -> dict[str, Any]:
    types = node_class.INPUT_TYPES()
    inputs = [
        describe_input(section, name, spec)
        for section in ("required", "optional")
        for name, spec in types.get(section, {}).items()
    ]
    outputs = [
        {"type": kind, "name": name}
        for kind, name in zip(
            node_class.RETURN_TYPES,
            getattr(node_class, "RETURN_NAMES", node_class.RETURN_TYPES),
            strict=True,
        )
    ]
    return {
        "function": node_class.FUNCTION,
        "output_node": bool(getattr(node_class, "OUTPUT_NODE", False)),
        "inputs": inputs,
        "outputs": outputs,
    }


def current_contract(pack) -> dict[str, Any]:
    return {
        node_id: {"display_name": pack.NODE_DISPLAY_NAME_MAPPINGS[node_id], **describe_node(cls)}
        for node_id, cls in sorted(pack.NODE_CLASS_MAPPINGS.items())
    }


@pytest.fixture(scope="module")
def recorded(pack) -> dict[str, Any]:
    if os.environ.get("DEFORUM_RECORD_CONTRACT") == "1":
        GOLDEN.write_text(json.dumps(current_contract(pack), indent=1) + "\n", encoding="utf-8")
    return json.loads(GOLDEN.read_text(encoding="utf-8"))


def breaks(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """What in `new` would break a workflow saved with `old` (empty when nothing)."""
    problems = []
    if new["function"] != old["function"]:
        problems.append(f"FUNCTION {old['function']} became {new['function']}")
    for section in ("required", "optional"):
        before = [entry for entry in old["inputs"] if entry["section"] == section]
        after = [entry for entry in new["inputs"] if entry["section"] == section]
        for index, entry in enumerate(before):
            if index >= len(after):
                problems.append(f"{section} input {entry['name']} was removed")
                continue
            now = after[index]
            if now["name"] != entry["name"]:
                problems.append(f"{section} input {index} {entry['name']} became {now['name']}")
            for key in ("kind", *RECORDED_OPTIONS):
                if now.get(key) != entry.get(key):
                    problems.append(
                        f"{entry['name']}: {key} {entry.get(key)!r} became {now.get(key)!r}"
                    )
            lost = [
                choice
                for choice in entry.get("choices", [])
                if choice not in now.get("choices", [])
            ]
            if lost:
                problems.append(f"{entry['name']}: choices {lost} were removed")
        if section == "required":
            problems.extend(filter(None, map(_unfilled, after[len(before) :])))
    widgets_before, widgets_after = widget_names(old), widget_names(new)
    if widgets_after[: len(widgets_before)] != widgets_before:
        problems.append(
            f"widgets {widgets_before} became {widgets_after}: saved widget values would "
            "land in other widgets (append new widgets after every recorded one)"
        )
    if new["outputs"][: len(old["outputs"])] != old["outputs"]:
        problems.append(f"outputs {old['outputs']} became {new['outputs']}")
    return problems


def _unfilled(entry: dict[str, Any]) -> str:
    """Why a newly appended required input breaks saved workflows ("" when it does not)."""
    if entry["kind"] not in WIDGET_KINDS:
        return (
            f"required input {entry['name']} was appended as a required socket: saved "
            "workflows have no link to it (make it optional)"
        )
    if "default" not in entry:
        return (
            f"required input {entry['name']} was appended without a default: saved "
            "workflows have no value for it (give it a default)"
        )
    return ""


def widget_names(node: dict[str, Any]) -> list[str]:
    """The node's widgets in the order a saved workflow stores their values: the required
    ones, then the optional ones, each in declaration order."""
    return [
        entry["name"]
        for section in ("required", "optional")
        for entry in node["inputs"]
        if entry["section"] == section and entry["kind"] in WIDGET_KINDS
    ]


def test_every_node_keeps_its_recorded_contract(pack, recorded) -> None:
    current = current_contract(pack)
    missing = sorted(set(recorded) - set(current))
    assert missing == [], f"node ids saved workflows use are gone: {missing}"
    problems = {
        node_id: found
        for node_id in recorded
        if (found := breaks(recorded[node_id], current[node_id]))
    }
    assert problems == {}


def test_every_node_is_recorded(pack, recorded) -> None:
    unrecorded = sorted(set(pack.NODE_CLASS_MAPPINGS) - set(recorded))
    assert unrecorded == [], f"add these node ids to {GOLDEN.name}: {unrecorded}"


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda node: node["inputs"].insert(0, {"section": "required", "name": "new",
                                                "kind": "INT"}), "became new"),
        (lambda node: node["inputs"].reverse(), "became"),
        (lambda node: node["inputs"].pop(), "was removed"),
        (lambda node: node["inputs"][1].update(default="0:(2)"), "default"),
        (lambda node: node["inputs"][6]["choices"].pop(), "were removed"),
        (lambda node: node["outputs"].clear(), "outputs"),
        (lambda node: node["inputs"].append({"section": "required", "name": "new",
                                             "kind": "IMAGE"}), "appended as a required socket"),
        (lambda node: node["inputs"].append({"section": "required", "name": "new",
                                             "kind": "INT"}), "appended without a default"),
        (lambda node: node["inputs"].append({"section": "required", "name": "new",
                                             "kind": "BOOLEAN", "default": False}),
         "saved widget values would land in other widgets"),  # before the optional camera
    ],
)  # fmt: skip
def test_a_breaking_change_is_caught(recorded, change, expected) -> None:
    """The check itself: each kind of breaking edit to Motion 2D is reported."""
    old = recorded["DeforumMotion2D"]
    new = json.loads(json.dumps(old))
    change(new)
    assert any(expected in problem for problem in breaks(old, new))


def test_appending_an_input_or_a_choice_is_allowed(recorded) -> None:
    old = recorded["DeforumMotion2D"]
    new = json.loads(json.dumps(old))
    new["inputs"].append({"section": "optional", "name": "extra", "kind": "BOOLEAN",
                          "default": False})  # fmt: skip
    new["inputs"].append({"section": "optional", "name": "image", "kind": "IMAGE"})
    new["inputs"][6]["choices"].append("mirror")
    assert breaks(old, new) == []
    old = recorded["DeforumEnhance"]  # no optional widgets for a required one to push along
    new = json.loads(json.dumps(old))
    new["inputs"].append({"section": "required", "name": "extra", "kind": "INT", "default": 0})
    assert breaks(old, new) == []
