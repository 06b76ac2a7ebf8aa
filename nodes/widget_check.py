"""ComfyUI's own checks of a node's constant widget values, made by the pack's prompt check.

The March-2024 server validates only nodes reached through `required` sockets, so a Deforum
Noise behind Animate's optional noise input with a value above its maximum was queued and
failed when it ran. The prompt check (prompt_check.py) therefore makes, for every pack node,
the checks ComfyUI's validate_inputs (execution.py, late 2025) makes of constant inputs: INT
and FLOAT converted, then min, max and combo membership, in ComfyUI's error shapes and words.
Inputs the node's VALIDATE_INPUTS takes are converted but not range-checked: ComfyUI leaves
those to the node as well.
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from typing import Any

CONVERSIONS = {"INT": int, "FLOAT": float}
LONGEST_LISTED_COMBO = 20  # ComfyUI names the choices of shorter combos only


def declared_inputs(node_class: type) -> frozenset[str] | None:
    """The inputs the node's VALIDATE_INPUTS takes, whose ranges and choices ComfyUI leaves
    to it; None when it takes them all (**kwargs)."""
    validate = getattr(node_class, "VALIDATE_INPUTS", None)
    if validate is None:
        return frozenset()
    parameters = inspect.signature(validate).parameters.values()
    if any(parameter.kind is inspect.Parameter.VAR_KEYWORD for parameter in parameters):
        return None
    return frozenset(parameter.name for parameter in parameters)


def read_widgets(
    node_class: type, inputs: Mapping[str, Any]
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The node's inputs as ComfyUI hands them on (INT and FLOAT converted, a `__value__`
    wrapper taken off; links as they are), and ComfyUI's error entries for the constant
    values it would refuse, in the node's input order."""
    declared = declared_inputs(node_class)
    values, errors = dict(inputs), []
    sections = node_class.INPUT_TYPES()
    for section in ("required", "optional"):
        for name, spec in sections.get(section, {}).items():
            if name not in inputs or isinstance(inputs[name], list):
                continue  # missing and linked inputs are ComfyUI's to report
            ranged = declared is not None and name not in declared
            values[name], error = check_widget(name, spec, inputs[name], ranged=ranged)
            if error is not None:
                errors.append(error)
    return values, errors


def check_widget(
    name: str, spec: tuple, value: Any, *, ranged: bool
) -> tuple[Any, dict[str, Any] | None]:
    """One constant input converted as ComfyUI converts it, and ComfyUI's error entry when it
    would refuse it (`ranged`: whether its min, max and choices are ComfyUI's to check)."""
    kind, options = spec[0], (spec[1] if len(spec) > 1 else {})
    config = (kind, options)
    if isinstance(value, dict) and "__value__" in value:
        value = value["__value__"]
    if isinstance(kind, str) and kind in CONVERSIONS:
        try:
            value = CONVERSIONS[kind](value)
        except (TypeError, ValueError, OverflowError) as error:
            message = f"Failed to convert an input value to a {kind} value"
            return value, entry("invalid_input_type", message, f"{name}, {value}, {error}",
                                name, config, value, exception_message=str(error))  # fmt: skip
    if not ranged:
        return value, None
    if "min" in options and value < options["min"]:
        message = f"Value {value} smaller than min of {options['min']}"
        return value, entry("value_smaller_than_min", message, name, name, config, value)
    if "max" in options and value > options["max"]:
        message = f"Value {value} bigger than max of {options['max']}"
        return value, entry("value_bigger_than_max", message, name, name, config, value)
    if isinstance(kind, list) and value not in kind:
        listed = len(kind) <= LONGEST_LISTED_COMBO
        choices = str(kind) if listed else f"(list of length {len(kind)})"
        return value, entry("value_not_in_list", "Value not in list",
                            f"{name}: '{value}' not in {choices}", name,
                            config if listed else None, value)  # fmt: skip
    return value, None


def entry(
    kind: str, message: str, details: str, name: str, config: Any, value: Any, **extra: Any
) -> dict[str, Any]:
    """An entry of ComfyUI's node_errors, as its validate_inputs writes it."""
    return {
        "type": kind,
        "message": message,
        "details": details,
        "extra_info": {
            "input_name": name,
            "input_config": config,
            "received_value": value,
            **extra,
        },
    }
