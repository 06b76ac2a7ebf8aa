"""The schedule editor and the shipped layouts, in each real frontend and renderer: the
March-2024 LiteGraph page, the late-2025 page on its canvas and in Nodes 2.0 (its Vue
renderer, setting Comfy.VueNodes.Enabled).

What a user sees while typing a schedule: the whole text in the editor under the node, the
curve over the frames of the Animate node it feeds, and for a typo the server's error right
there, with a caret under the problem, before anything is queued.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from browser_session import BrowserSession, page_with, renderers
from comfyui_harness import REPO_ROOT, ComfyServer, load_workflow, node_of

pytestmark = [pytest.mark.comfyui, pytest.mark.browser]

TIMEOUT_MS = 30_000
WORKFLOWS = sorted((REPO_ROOT / "workflows").glob("*.json"))


EDITOR_STATE = """(id) => {
    const node = window.app.graph.getNodeById(id);
    const parts = node.deforumScheduleEditor.parts;
    const ctx = parts.curve.getContext("2d");
    const pixels = ctx.getImageData(0, 0, parts.curve.width, parts.curve.height).data;
    let drawn = 0;
    for (let i = 3; i < pixels.length; i += 4) drawn += pixels[i] > 0 ? 1 : 0;
    const box = parts.root.getBoundingClientRect();
    return {
        picked: parts.picker.value,
        text: parts.text.value,
        summary: parts.summary.textContent,
        error: parts.error.style.display === "none" ? null : parts.error.textContent,
        errorFont: getComputedStyle(parts.error).fontFamily,
        curvePixels: parts.curve.style.display === "none" ? 0 : drawn,
        shown: box.width > 0 && box.height > 0,
        zoom: node.widgets.find((w) => w.name === "zoom").value,
    };
}"""


def editor_state(session: BrowserSession, node_id: int, summary_starts: str) -> dict:
    session.page.wait_for_function(
        "([id, starts]) => window.app.graph.getNodeById(id).deforumScheduleEditor.parts"
        ".summary.textContent.startsWith(starts)",
        arg=[node_id, summary_starts], timeout=TIMEOUT_MS,
    )  # fmt: skip
    return session.page.evaluate(EDITOR_STATE, node_id)


def test_typing_a_schedule_draws_its_curve_and_a_typo_shows_at_the_widget(
    comfyui_server: ComfyServer, tmp_path: Path
) -> None:
    workflow = load_workflow(REPO_ROOT / "workflows" / "deforum_2d.json")
    motion = node_of(workflow, "DeforumMotion2D")["id"]
    animate = node_of(workflow, "DeforumAnimate")["id"]
    for renderer in renderers(comfyui_server):
        with page_with(comfyui_server, renderer, tmp_path) as session:
            session.load_workflow(workflow)
            session.page.keyboard.press("Escape")  # the missing-model dialog of the 2025 page
            opened = editor_state(session, motion, "120 frames")
            # the editor opens on the schedule that moves, with its whole text and curve
            assert opened["picked"] == "zoom" and opened["shown"]
            assert opened["text"] == opened["zoom"] == "0:(1.0025+0.002*sin(1.25*3.14*t/30))"
            assert opened["summary"] == "120 frames: 1.002 → 1.003 (min 1.001, max 1.004)"
            assert opened["curvePixels"] > 200

            editor = session.page.evaluate_handle(
                "(id) => window.app.graph.getNodeById(id).deforumScheduleEditor.parts.text",
                motion,
            )  # fmt: skip
            editor.as_element().fill("0: (1.0),\n30: (1,02)")
            typo = editor_state(session, motion, "⚠")
            session.page.screenshot(path=str(tmp_path / f"typo_{renderer}.png"))
            assert typo["zoom"] == "0: (1.0),\n30: (1,02)"  # the widget holds what was typed
            assert typo["error"].split("\n")[:3] == [
                "zoom: decimal comma: ',' is not a decimal separator",
                "30: (1,02)",
                "      ^",
            ]
            assert "monospace" in typo["errorFont"] and typo["curvePixels"] == 0

            editor.as_element().fill("0:(1), 10:(2)")
            fixed = editor_state(session, motion, "120 frames")
            assert fixed["error"] is None and fixed["summary"].startswith("120 frames: 1 → 2")
            # the frame count is the Animate node's: the curve follows it
            session.page.evaluate(
                """(id) => {
                    const widget = window.app.graph.getNodeById(id).widgets
                        .find((w) => w.name === "max_frames");
                    widget.value = 24;
                    widget.callback?.(24);
                }""",
                animate,
            )  # fmt: skip
            assert editor_state(session, motion, "24 frames")["summary"] == (
                "24 frames: 1 → 2 (min 1, max 2)"
            )
            queued = session.page.evaluate("async () => (await app.graphToPrompt()).output")
            assert queued[str(motion)]["inputs"]["zoom"] == "0:(1), 10:(2)"
            assert session.console_errors() == [] and session.page_errors == []


LINKED_STATE = """(id) => {
    const parts = window.app.graph.getNodeById(id).deforumScheduleEditor.parts;
    return {
        picked: parts.picker.value, summary: parts.summary.textContent, text: parts.text.value,
        readOnly: parts.text.readOnly, placeholder: parts.text.placeholder,
        curve: parts.curve.style.display,
    };
}"""

UNLINK_ZOOM = """(id) => {
    const node = window.app.graph.getNodeById(id);
    node.disconnectInput(node.findInputSlot("zoom"));
}"""

LINK_ZOOM = """([id, audioId]) => {
    const node = window.app.graph.getNodeById(id);
    window.app.graph.getNodeById(audioId).connect(0, node, node.findInputSlot("zoom"));
}"""


def test_a_schedule_linked_to_the_audio_node_says_so_instead_of_a_stale_curve(
    comfyui_server: ComfyServer, tmp_path: Path
) -> None:
    """In deforum_audio.json Motion 2D's zoom comes from Deforum Audio Schedule: the editor
    opens on it, names the node it follows and draws no curve of the widget's own text (not
    what renders); unlinked, it shows that text and its curve, linked again, the link."""
    workflow = load_workflow(REPO_ROOT / "workflows" / "deforum_audio.json")
    motion = node_of(workflow, "DeforumMotion2D")["id"]
    audio = node_of(workflow, "DeforumAudioSchedule")["id"]
    follows = {
        "picked": "zoom", "summary": "follows Deforum Audio Schedule", "text": "",
        "readOnly": True, "placeholder": "zoom comes from Deforum Audio Schedule when the "
        "prompt runs", "curve": "none",
    }  # fmt: skip
    for renderer in renderers(comfyui_server):
        with page_with(comfyui_server, renderer, tmp_path) as session:
            session.load_workflow(workflow)
            session.page.keyboard.press("Escape")  # the missing-model dialog of the 2025 page
            editor_state(session, motion, "follows")
            assert session.page.evaluate(LINKED_STATE, motion) == follows

            session.page.evaluate(UNLINK_ZOOM, motion)
            unlinked = editor_state(session, motion, "120 frames")
            assert (unlinked["picked"], unlinked["text"]) == ("zoom", "0:(1.0)")
            assert unlinked["summary"] == "120 frames: 1 → 1 (min 1, max 1)"
            assert unlinked["curvePixels"] > 0
            assert not session.page.evaluate(LINKED_STATE, motion)["readOnly"]

            session.page.evaluate(LINK_ZOOM, [motion, audio])
            editor_state(session, motion, "follows")
            assert session.page.evaluate(LINKED_STATE, motion) == follows
            assert session.console_errors() == [] and session.page_errors == []


def test_shipped_workflows_open_with_no_two_nodes_overlapping(
    comfyui_server: ComfyServer, tmp_path: Path
) -> None:
    """Each node, with its editor, previews and reports, keeps to its own area: on the canvas
    as laid out, and in Nodes 2.0 once it has scaled the layout by 1.2 and measured its nodes
    (which holds because each workflow has a saved view, see test_templates)."""
    for renderer in renderers(comfyui_server):
        with page_with(comfyui_server, renderer, tmp_path) as session:
            for path in WORKFLOWS:
                loaded = session.load_workflow(load_workflow(path))
                assert loaded["unregistered"] == [], path.name
                assert session.overlaps() == [], f"{path.name} in the {renderer} renderer"
