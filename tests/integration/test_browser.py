"""The pack in ComfyUI's real web frontends (the March 2024 LiteGraph page, the late-2025 Vue
page), in headless Chromium.

Checks what a user sees after installing the pack: the frontend extension loads, the example
workflow opens without missing nodes and with its saved widget values, the frontend would queue
exactly what the harness's converter produces, and a queued run reaches the extension.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from browser_session import BrowserSession, api_prompt, comfy_page
from comfyui_harness import (
    PACK_FOLDER_NAME,
    REPO_ROOT,
    ComfyServer,
    load_workflow,
    workflow_to_api_prompt,
)

pytestmark = [pytest.mark.comfyui, pytest.mark.browser]

EXTENSION_URL_PATH = f"/extensions/{PACK_FOLDER_NAME}/js/deforum.js"
SCHEDULE_WORKFLOW = REPO_ROOT / "workflows" / "deforum_schedules.json"
TIMEOUT_MS = 30_000


@pytest.fixture(scope="module")
def browser(
    comfyui_server: ComfyServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[BrowserSession]:
    """Chromium with a fresh profile, showing the server's page once the app has started."""
    workdir = tmp_path_factory.mktemp("browser")
    generation = comfyui_server.generation.name
    with comfy_page(comfyui_server.base_url, workdir, generation=generation,
                    timeout_ms=TIMEOUT_MS, viewport=(1400, 900)) as session:  # fmt: skip
        yield session


def test_extension_loads_without_errors(browser: BrowserSession) -> None:
    served = [r for r in browser.responses if r.url.endswith(EXTENSION_URL_PATH)]
    assert [r.status for r in served] == [200], [r.url for r in browser.responses]
    assert browser.page.evaluate("() => window.__deforumExtensionLoaded") is True
    assert browser.console_errors() == []
    assert browser.page_errors == []


def test_example_workflow_opens_with_its_values(browser: BrowserSession) -> None:
    workflow = load_workflow(SCHEDULE_WORKFLOW)

    loaded = browser.load_workflow(workflow)
    screenshot = browser.screenshot_dir / "deforum_schedules.png"
    browser.page.screenshot(path=str(screenshot))

    assert loaded["missingDialog"] is None, loaded["missingDialog"]
    assert loaded["unregistered"] == []
    assert loaded["widgets"] == {
        str(node["id"]): node.get("widgets_values", []) for node in workflow["nodes"]
    }
    browser.check_saved(loaded["serialized"], workflow)  # the file is what the frontend saves
    assert browser.console_errors() == []


def test_frontend_queues_what_the_converter_produces(
    browser: BrowserSession, object_info: dict
) -> None:
    """The harness's UI->API converter agrees with the frontend's own graphToPrompt."""
    workflow = load_workflow(SCHEDULE_WORKFLOW)

    queued = browser.load_workflow(workflow)["queued"]

    assert queued == workflow_to_api_prompt(workflow, object_info)


# ComfyUI's default graph (seed with control_after_generate, combos, dynamic-prompt text)
# plus a Reroute, a bypassed node and a muted node: the cases the converter must follow.
BUILD_TRICKY_GRAPH = """async () => {
    await window.app.loadGraphData();
    const graph = window.app.graph;
    const byType = (type) => graph._nodes.find((node) => node.type === type);
    const add = (type, pos) => {
        const node = LiteGraph.createNode(type);
        node.pos = pos;
        graph.add(node);
        return node;
    };
    const reroute = add("Reroute", [300, 600]);
    byType("EmptyLatentImage").connect(0, reroute, 0);
    reroute.connect(0, byType("KSampler"), 3);
    const upscale = add("LatentUpscaleBy", [1000, 600]);
    byType("KSampler").connect(0, upscale, 0);
    upscale.connect(0, byType("VAEDecode"), 0);
    upscale.mode = 4;
    const muted = add("PreviewImage", [1500, 600]);
    byType("VAEDecode").connect(0, muted, 0);
    muted.mode = 2;
    return {
        workflow: graph.serialize(),
        output: (await window.app.graphToPrompt()).output,
    };
}"""


def test_converter_matches_frontend_on_core_nodes(
    browser: BrowserSession, object_info: dict
) -> None:
    built = browser.page.evaluate(BUILD_TRICKY_GRAPH)

    converted = workflow_to_api_prompt(built["workflow"], object_info)

    assert converted == api_prompt(built["output"])
    ids = {node["class_type"]: node_id for node_id, node in converted.items()}
    assert "LatentUpscaleBy" not in ids and "PreviewImage" not in ids  # bypassed, muted
    sampler = converted[ids["KSampler"]]["inputs"]
    assert "control_after_generate" not in sampler
    assert sampler["latent_image"] == [ids["EmptyLatentImage"], 0]  # through the Reroute
    assert converted[ids["VAEDecode"]]["inputs"]["samples"] == [ids["KSampler"], 0]  # bypass


def test_frontend_sends_deforum_text_unchanged(browser: BrowserSession) -> None:
    """Schedules and prompts reach the server exactly as typed.

    The March 2024 frontend rewrites multiline text inputs before queueing ({a|b} becomes one
    option, // and /* */ comments vanish) unless the input declares dynamicPrompts: False;
    that would turn Deforum's JSON prompts into different text.
    """
    workflow = load_workflow(SCHEDULE_WORKFLOW)
    browser.load_workflow(workflow)

    queued = browser.page.evaluate("async () => (await window.app.graphToPrompt()).output")

    for node in workflow["nodes"]:
        if node["type"].startswith("Deforum"):
            sent = [v for v in queued[str(node["id"])]["inputs"].values() if isinstance(v, str)]
            typed = [v for v in node["widgets_values"] if isinstance(v, str)]
            assert sent == typed, node["type"]


def test_queued_run_reaches_the_extension(browser: BrowserSession) -> None:
    """Queue from the UI: the plot shows in the preview and the extension gets the values."""
    workflow = load_workflow(SCHEDULE_WORKFLOW)
    browser.load_workflow(workflow)
    (schedule,) = [node for node in workflow["nodes"] if node["type"] == "DeforumSchedule"]
    (preview,) = [node for node in workflow["nodes"] if node["type"] == "PreviewImage"]

    browser.page.evaluate("async () => { await window.app.queuePrompt(0, 1); }")
    browser.page.wait_for_function(
        """([scheduleId, previewId]) => {
            const values = window.app.nodeOutputs?.[scheduleId]?.values ?? [];
            const images = window.app.graph.getNodeById(previewId).imgs ?? [];
            return values.length === 120
                && images.length === 1 && images[0].complete && images[0].naturalWidth > 0;
        }""",
        arg=[str(schedule["id"]), preview["id"]],
        timeout=TIMEOUT_MS,
    )
    browser.page.screenshot(path=str(browser.screenshot_dir / "deforum_schedules_executed.png"))

    # web/js/deforum.js keeps the one-line summary it draws under the node in deforumSummary
    # (asked of the server after a short pause: it may come after the run's outputs)
    summary_of = "(id) => window.app.graph.getNodeById(id).deforumSummary"
    browser.page.wait_for_function(f"(id) => typeof ({summary_of})(id) === 'string'",
                                   arg=schedule["id"], timeout=TIMEOUT_MS)  # fmt: skip
    summary = browser.page.evaluate(summary_of, schedule["id"])
    assert isinstance(summary, str) and summary.startswith("120 frames"), summary
    assert browser.console_errors() == []


TYPE_INTO_WIDGET = """([nodeId, name, text]) => {
    const node = window.app.graph.getNodeById(nodeId);
    const widget = node.widgets.find((w) => w.name === name);
    widget.value = text;
    widget.callback?.(text);  // what the editor calls when the user changes the text
}"""


def test_typing_a_schedule_shows_its_summary_or_its_error(browser: BrowserSession) -> None:
    """The schedule nodes ask the server while the text is typed, before anything runs."""
    workflow = load_workflow(SCHEDULE_WORKFLOW)
    browser.load_workflow(workflow)
    (schedule,) = [node for node in workflow["nodes"] if node["type"] == "DeforumSchedule"]
    (prompts,) = [node for node in workflow["nodes"] if node["type"] == "DeforumPrompts"]
    summary = "(id) => window.app.graph.getNodeById(id).deforumSummary ?? ''"

    def shown(node_id: int, starts: str) -> str:
        browser.page.wait_for_function(
            f"([id, starts]) => ({summary})(id).startsWith(starts)", arg=[node_id, starts],
            timeout=TIMEOUT_MS,
        )  # fmt: skip
        return browser.page.evaluate(summary, node_id)

    assert shown(prompts["id"], "2 keyframed prompts") == "2 keyframed prompts"
    browser.page.evaluate(TYPE_INTO_WIDGET, [schedule["id"], "schedule", "0:(1,02)"])
    error = shown(schedule["id"], "⚠ zoom: decimal comma")
    browser.page.screenshot(path=str(browser.screenshot_dir / "schedule_typo.png"))
    assert error == "⚠ zoom: decimal comma: ',' is not a decimal separator"
    browser.page.evaluate(TYPE_INTO_WIDGET, [schedule["id"], "schedule", "0:(1), 60:(2)"])
    assert shown(schedule["id"], "120 frames") == "120 frames: 1 → 2 (min 1, max 2)"
    assert browser.console_errors() == [] and browser.page_errors == []
