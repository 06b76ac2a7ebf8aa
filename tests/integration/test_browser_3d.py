"""workflows/deforum_3d.json in ComfyUI's real web frontend (March 2024): dropped on the canvas,
every node type is known (no missing-nodes dialog), every widget holds the value the file
saves, saving gives the file back, and queueing sends what the harness converts.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from comfyui_harness import REPO_ROOT, ComfyServer, load_workflow, workflow_to_api_prompt
from playwright.sync_api import sync_playwright

pytestmark = [pytest.mark.comfyui, pytest.mark.browser]

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
APP_READY = (
    "() => window.app?.graph && window.LiteGraph && window.__deforumExtensionLoaded === true"
)
TIMEOUT_MS = 60_000

LOAD = """async (workflow) => {
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


@pytest.fixture(scope="module")
def page_errors(
    comfyui_server: ComfyServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple]:
    """(page, console error texts, page error texts) of an open ComfyUI page."""
    workdir = tmp_path_factory.mktemp("browser_3d")
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(workdir / "profile"), executable_path=CHROMIUM, headless=True,
            args=CHROMIUM_ARGS, viewport={"width": 1600, "height": 1000},
        )  # fmt: skip
        try:
            page = context.new_page()
            console: list[str] = []
            errors: list[str] = []
            page.on(
                "console",
                lambda m: (
                    console.append(f"{m.text} @ {m.location.get('url', '')}")
                    if m.type == "error" and "favicon.ico" not in m.location.get("url", "")
                    else None
                ),
            )
            page.on("pageerror", lambda error: errors.append(str(error)))
            page.goto(comfyui_server.base_url, timeout=TIMEOUT_MS)
            page.wait_for_function(APP_READY, timeout=TIMEOUT_MS)
            yield page, console, errors
        finally:
            context.close()


def test_3d_workflow_opens_with_its_values(page_errors: tuple, object_info: dict) -> None:
    page, console, errors = page_errors
    workflow = load_workflow(REPO_ROOT / "workflows" / "deforum_3d.json")

    loaded = page.evaluate(LOAD, workflow)

    assert loaded["missingDialog"] is None, loaded["missingDialog"]
    assert loaded["unregistered"] == []
    assert loaded["widgets"] == {
        str(node["id"]): node.get("widgets_values", []) for node in workflow["nodes"]
    }
    assert loaded["serialized"] == workflow  # the file is what the frontend saves
    assert loaded["queued"] == workflow_to_api_prompt(workflow, object_info)
    assert console == [] and errors == []
