"""The pack's server route: the page asks what a schedule gives while it is being typed.

POST /deforum/schedule with {"text", "max_frames", "name", "interpolation", "seed", "fps"}
answers {"values": one per frame, "keys": the key frames}, evaluated by the engine that
renders; with "kind": "prompts" and {"text", "positive", "negative", "max_frames", "seed",
"fps"} it answers {"prompts": [...key frames...]}. Text that cannot be used is answered
{"error": {"message", "position", "hint", "parameter"}}, the node's own message, so that the
page can put a caret under the position. The schedule nodes are not output nodes (a bad input
anywhere refuses the whole prompt), so their summaries come from here too. Work is bounded
as a render's is; nothing is written.
"""

from __future__ import annotations

import asyncio
from typing import Any

from deforum_core.curves import INTERPOLATIONS
from deforum_core.errors import DeforumError
from deforum_core.prompts import PromptTexts
from deforum_core.summaries import prompt_summary, schedule_summary

from .prompt_check import install_prompt_check
from .widgets import FRAME_COUNT

ROUTE = "/deforum/schedule"


def _field(body: dict[str, Any], name: str, kinds: tuple[type, ...], default: Any) -> Any:
    value = body.get(name, default)
    if isinstance(value, bool) or not isinstance(value, kinds):
        raise DeforumError(f"must be {kinds[0].__name__}, got {value!r}", parameter=name)
    return value


def summarize_request(body: Any) -> dict[str, Any]:
    """The answer to one request body (see the module docstring)."""
    if not isinstance(body, dict):
        raise DeforumError("the request must be a JSON object", parameter="request")
    frames = FRAME_COUNT.check(_field(body, "max_frames", (int,), 120))
    seed = _field(body, "seed", (int,), 0)
    fps = float(_field(body, "fps", (int, float), 15.0))
    text = _field(body, "text", (str,), "")
    kind = body.get("kind", "schedule")
    if kind == "schedule":
        interpolation = _field(body, "interpolation", (str,), "linear")
        if interpolation not in INTERPOLATIONS:
            raise DeforumError(
                f"unknown interpolation {interpolation!r}", parameter="interpolation"
            )
        name = _field(body, "name", (str,), "value")[:80]
        summary = schedule_summary(text, frames, name=name, interpolation=interpolation,
                                   seed=seed, fps=fps)  # fmt: skip
        keys = [key for key in summary["key_frames"] if key < frames]
        return {"values": summary["values"], "keys": keys}
    if kind == "prompts":
        texts = PromptTexts(text, _field(body, "positive", (str,), ""),
                            _field(body, "negative", (str,), ""))  # fmt: skip
        return prompt_summary(texts.parse(), frames, seed=seed, fps=fps)
    raise DeforumError(f"unknown kind {kind!r}", parameter="kind", hint="schedule or prompts")


def answer(body: Any) -> dict[str, Any]:
    """The JSON the route sends back: the summary, or the error as the node would say it."""
    try:
        return summarize_request(body)
    except DeforumError as error:
        where = f" at frame {error.frame}" if error.frame is not None else ""
        return {
            "error": {
                "message": f"{error.reason}{where}",
                "position": error.position,
                "hint": error.hint,
                "parameter": error.parameter,
            }
        }


def register_routes() -> bool:
    """Add the route, and the queue-time prompt check, to ComfyUI's server when the pack is
    loaded by one; returns whether they were added (the command line has no server)."""
    try:
        from server import PromptServer
    except ImportError:  # the command line: aiohttp is not even loaded
        return False
    from aiohttp import web

    instance = getattr(PromptServer, "instance", None)
    if instance is None:
        return False
    install_prompt_check(instance.app)

    @instance.routes.post(ROUTE)
    async def schedule_route(request: web.Request) -> web.Response:
        try:
            body = await request.json()
        except ValueError:
            return web.json_response({"error": "the request is not JSON"}, status=400)
        loop = asyncio.get_running_loop()
        return web.json_response(await loop.run_in_executor(None, answer, body))

    return True
