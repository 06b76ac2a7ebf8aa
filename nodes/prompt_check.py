"""One typo, one refusal that names it: the pack's nodes are checked before ComfyUI's own
validation of a queued prompt.

ComfyUI files a VALIDATE_INPUTS failure once under every input the function declares (one
typo in Motion 2D became ten errors, led by "angle"), and the March-2024 server does not
validate nodes behind optional inputs at all (a typo there was queued, and failed when it
ran). A middleware on POST /prompt therefore runs the pack's own checks (widgets.queue_check)
on the constant inputs of every pack node an output depends on; when one fails the prompt is
refused with HTTP 400 in ComfyUI's error shape, one entry per wrong node, filed under the
input that is wrong. The same pass makes ComfyUI's own checks of the pack nodes' widget
values (widget_check.py), which that server skips behind optional inputs too, and adds up the
schedule and prompt math each Deforum Animate's render would do (its own schedules, those of
the stages linked to it, its prompts), so that a render the loop would refuse before frame 0
is refused when it is queued. Prompts the pack finds nothing wrong with go on to ComfyUI
unchanged.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Callable, Mapping
from typing import Any

from deforum_core.errors import DeforumError

from .budget_check import budget_refusals
from .widget_check import read_widgets

PACKAGE = __name__.rpartition(".")[0] + "."  # the pack's node modules
PROMPT_PATHS = frozenset({"/prompt", "/api/prompt"})
REFUSAL = {
    "type": "prompt_outputs_failed_validation",
    "message": "Prompt outputs failed validation",
    "details": "",
    "extra_info": {},
}


def pack_check(node_class: type) -> Callable[..., None] | None:
    """The queue-time check of a pack node class, None for any other class."""
    return getattr(getattr(node_class, "VALIDATE_INPUTS", None), "deforum_check", None)


def _dependents(prompt: Mapping[str, Any], classes: Mapping[str, type]) -> dict[str, list[str]]:
    """For every node an output node depends on, the output nodes that need it."""
    needed: dict[str, list[str]] = {}
    outputs = [
        node_id
        for node_id, node in prompt.items()
        if getattr(classes.get(_class_type(node)), "OUTPUT_NODE", False)
    ]
    for output in outputs:
        stack, seen = [output], set()
        while stack:
            node_id = stack.pop()
            if node_id in seen or not isinstance(prompt.get(node_id), dict):
                continue
            seen.add(node_id)
            needed.setdefault(node_id, []).append(output)
            inputs = prompt[node_id].get("inputs")
            for value in inputs.values() if isinstance(inputs, dict) else ():
                if isinstance(value, list) and len(value) == 2:
                    stack.append(str(value[0]))
    return needed


def _class_type(node: Any) -> str | None:
    return node.get("class_type") if isinstance(node, dict) else None


def check_node(check: Callable[..., None], node_class: type, inputs: Mapping[str, Any]) -> None:
    """Run a pack check as ComfyUI would call VALIDATE_INPUTS: the inputs its signature
    names, linked ones as None. A node missing a required input is left to ComfyUI."""
    arguments: dict[str, Any] = {}
    for name, parameter in list(inspect.signature(check).parameters.items())[1:]:
        if name in inputs:
            value = inputs[name]
            arguments[name] = None if isinstance(value, list) else value
        elif parameter.default is inspect.Parameter.empty:
            return
    check(node_class, **arguments)


def error_entry(error: DeforumError, inputs: Mapping[str, Any]) -> dict[str, Any]:
    """ComfyUI's shape of a validation error, filed under the input the error names (the
    first line of the pack's message, then the excerpt and the fix on one line: the pages
    show it in a proportional font, so there is no caret line; the editor on the node has
    one)."""
    first, *rest = str(error).split("\n")
    details = "; ".join(line.strip() for line in rest if line.strip() and line.strip() != "^")
    name = error.parameter if error.parameter in inputs else next(iter(inputs), None)
    return {
        "type": "custom_validation_failed",
        "message": first,
        "details": details,
        "extra_info": {
            "input_name": name,
            "received_value": inputs.get(name),
            "position": error.position,
            "hint": error.hint,
        },
    }


def prompt_errors(prompt: Any, classes: Mapping[str, type]) -> dict[str, dict[str, Any]]:
    """ComfyUI's `node_errors` for the pack nodes of a prompt whose constant inputs cannot be
    used; empty when there are none (or the prompt is not one ComfyUI could read). The render
    budget is worked out only once every node is right (its texts parse)."""
    if not isinstance(prompt, dict):
        return {}
    needed = _dependents(prompt, classes)
    constants: dict[str, dict[str, Any]] = {}
    errors: dict[str, dict[str, Any]] = {}
    for node_id, outputs in needed.items():
        node_class = classes.get(_class_type(prompt[node_id]))
        inputs = prompt[node_id].get("inputs")
        if not is_pack_node(node_class) or not isinstance(inputs, dict):
            continue
        constants[node_id], entries = read_widgets(node_class, inputs)
        if not entries:
            entries = pack_entries(node_class, constants[node_id])
        if entries:
            errors[node_id] = node_error(prompt, node_id, entries, outputs)
    if errors:
        return errors
    for owner, error in budget_refusals(prompt, classes, constants):
        entry = error_entry(error, constants[owner])
        errors[owner] = node_error(prompt, owner, [entry], needed[owner])
    return errors


def is_pack_node(node_class: type | None) -> bool:
    """Whether a node class is one of this pack's (defined in this package)."""
    return getattr(node_class, "__module__", "").startswith(PACKAGE)


def pack_entries(node_class: type, values: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The entry of a pack node's own queue-time check, when it fails."""
    check = pack_check(node_class)
    if check is not None:
        try:
            check_node(check, node_class, values)
        except DeforumError as error:
            return [error_entry(error, values)]
        except Exception:  # ComfyUI's own validation reports it
            pass
    return []


def node_error(
    prompt: Mapping[str, Any], node_id: str, entries: list[dict[str, Any]], outputs: list[str]
) -> dict[str, Any]:
    """ComfyUI's node_errors value of one node."""
    return {
        "errors": entries,
        "dependent_outputs": sorted(set(outputs)),
        "class_type": _class_type(prompt[node_id]),
    }


def prompt_check_middleware(classes: Callable[[], Mapping[str, type]]) -> Any:
    """An aiohttp middleware refusing queued prompts whose pack nodes cannot run; `classes`
    gives ComfyUI's node class mapping when a prompt arrives (every pack is loaded by then)."""
    from aiohttp import web

    @web.middleware
    async def check_prompt(request: web.Request, handler: Any) -> web.StreamResponse:
        if request.method == "POST" and request.path in PROMPT_PATHS:
            try:
                body = await request.json()  # aiohttp keeps the body for the handler
            except ValueError:
                return await handler(request)
            prompt = body.get("prompt") if isinstance(body, dict) else None
            loop = asyncio.get_running_loop()
            errors = await loop.run_in_executor(None, prompt_errors, prompt, classes())
            if errors:
                return web.json_response({"error": REFUSAL, "node_errors": errors}, status=400)
        return await handler(request)

    return check_prompt


def install_prompt_check(app: Any) -> bool:
    """Put the check in front of the server's handlers; False when the server already
    started (then ComfyUI's own validation is all there is)."""

    def classes() -> Mapping[str, type]:
        import nodes  # ComfyUI's registry of every loaded node class

        return nodes.NODE_CLASS_MAPPINGS

    try:
        app.middlewares.append(prompt_check_middleware(classes))
    except RuntimeError:
        logging.warning("Deforum: the server started before the pack; prompts are not checked")
        return False
    return True
