"""A ComfyUI page in headless Chromium, shared by the browser tests.

Debian's Chromium, driven by the playwright package (its own browser download does not work
on these machines), with a fresh profile and the flags that keep it off the network.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import ConsoleMessage, Page, Response, sync_playwright

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
APP_READY = (
    "() => window.app?.graph && window.LiteGraph && window.__deforumExtensionLoaded === true"
)


# Load a workflow like a user dropping it on the canvas; report what the app made of it.
_LOAD_WORKFLOW = """async (workflow) => {
    document.querySelectorAll(".comfy-missing-nodes").forEach((el) => el.remove());
    await window.app.loadGraphData(workflow);
    const dialog = document.querySelector(".comfy-missing-nodes");
    return {
        missingDialog: dialog && dialog.offsetParent !== null ? dialog.textContent : null,
        unregistered: window.app.graph._nodes
            .filter((node) => !(node.type in LiteGraph.registered_node_types))
            .map((node) => node.type),
        widgets: Object.fromEntries(window.app.graph._nodes.map(
            (node) => [node.id, (node.widgets ?? []).map((widget) => widget.value)])),
        serialized: window.app.graph.serialize(),
        queued: (await window.app.graphToPrompt()).output,
    };
}"""


@dataclass
class BrowserSession:
    """An open ComfyUI page plus everything it logged and fetched since loading."""

    page: Page
    screenshot_dir: Path
    console: list[ConsoleMessage] = field(default_factory=list)
    responses: list[Response] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)

    def load_workflow(self, workflow: dict[str, Any]) -> dict[str, Any]:
        """Open a UI workflow in the app. Returns the missing-nodes dialog text (or None), the
        unregistered node types, each node's widget values by id, what the app would save,
        and what it would queue."""
        return self.page.evaluate(_LOAD_WORKFLOW, workflow)

    def console_errors(self) -> list[str]:
        """Console errors, except the favicon the March 2024 frontend never had."""
        return [
            f"{message.text} @ {message.location.get('url', '')}"
            for message in self.console
            if message.type == "error" and "favicon.ico" not in message.location.get("url", "")
        ]


@contextlib.contextmanager
def comfy_page(
    base_url: str, workdir: Path, *, timeout_ms: int, viewport: tuple[int, int]
) -> Iterator[BrowserSession]:
    """Chromium with a fresh profile in workdir, showing ComfyUI once the app has started."""
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(workdir / "profile"),
            executable_path=CHROMIUM,
            headless=True,
            args=CHROMIUM_ARGS,
            viewport={"width": viewport[0], "height": viewport[1]},
        )
        try:
            page = context.new_page()
            session = BrowserSession(page, workdir)
            # Playwright needs Python functions as handlers, not bound builtins like list.append.
            page.on("console", lambda message: session.console.append(message))
            page.on("response", lambda response: session.responses.append(response))
            page.on("pageerror", lambda error: session.page_errors.append(str(error)))
            page.goto(base_url, timeout=timeout_ms)
            try:
                page.wait_for_function(APP_READY, timeout=timeout_ms)
            except Exception as error:
                pytest.fail(f"ComfyUI app did not start: {error}\n{session.console_errors()}")
            yield session
        finally:
            context.close()
