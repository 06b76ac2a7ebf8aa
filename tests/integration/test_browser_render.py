"""A queued render as a user watches it, in each real frontend and renderer: the Animate
node's bar moves forward only, one preview per frame, and at the end the node shows the last
frame alone.
"""

from __future__ import annotations

import base64
import uuid
from pathlib import Path

import cv2
import numpy as np
import pytest
from browser_session import BUILD_PREVIEW_GRAPH, page_with, renderers
from comfyui_harness import ComfyServer

pytestmark = [pytest.mark.comfyui, pytest.mark.browser]

TIMEOUT_MS = 60_000


# What the page receives while a render runs, hooked on the app's own api object, and the bar
# Nodes 2.0 draws on the running node (a width in percent), sampled every animation frame.
WATCH_RENDER = """async (animate) => {
    const api = window.app.api ?? (await import(new URL("scripts/api.js", location.href))).api;
    const seen = { progress: [], previews: 0, bar: [] };
    window.__deforumRender = seen;
    api.addEventListener("progress", ({ detail }) => {
        if (String(detail.node) === String(animate)) seen.progress.push([detail.value, detail.max]);
    });
    api.addEventListener("b_preview", () => { seen.previews += 1; });
    const sample = () => {
        const bar = document.querySelector(
            `[data-node-id="${animate}"] .rounded-r-full[style*="width:"]`);
        const width = bar && parseFloat(bar.style.width);
        if (bar?.style.width.endsWith("%") && seen.bar.at(-1) !== width) seen.bar.push(width);
        requestAnimationFrame(sample);
    };
    sample();
}"""

# The images the Animate node shows once the render is done: its image list on the canvas,
# the <img> elements inside its element in Nodes 2.0.
SHOWN_IMAGES = """(id) => {
    const element = document.querySelector(`[data-node-id="${id}"]`);
    const images = element ? [...element.querySelectorAll("img")]
        : window.app.graph.getNodeById(id).imgs ?? [];
    return images.map((image) => [image.src, image.naturalWidth, image.naturalHeight]);
}"""

RENDER_FRAMES = 40


def test_a_queued_render_moves_one_bar_forward_and_ends_on_its_last_frame(
    comfyui_server: ComfyServer, tmp_path: Path
) -> None:
    """In each renderer: the Animate node's progress only moves forward over the whole
    render (frames, with sampler steps folded in), one preview per frame at the frame's
    size, and once done the node shows one picture, the last frame, not the last preview
    beside it."""
    y, x = np.mgrid[0:128, 0:128]
    pixels = np.stack([x * 2, y * 2, ((x // 16 + y // 16) % 2) * 255], axis=-1).astype(np.uint8)
    png = base64.b64encode(cv2.imencode(".png", pixels)[1].tobytes()).decode()
    last_name = f"filename=frame_{RENDER_FRAMES - 1:05d}.png"
    for renderer in renderers(comfyui_server):
        with page_with(comfyui_server, renderer, tmp_path, TIMEOUT_MS) as session:
            page = session.page
            run_name = f"browser_bar_{uuid.uuid4().hex[:8]}"
            ids = page.evaluate(BUILD_PREVIEW_GRAPH, [png, RENDER_FRAMES, run_name])["ids"]
            page.evaluate(
                """async ([id, size]) => {  // reopened, as a user's saved workflow would be
                    const node = window.app.graph.getNodeById(id);
                    for (const name of ["width", "height"]) {
                        node.widgets.find((w) => w.name === name).value = size;
                    }
                    await window.app.loadGraphData(window.app.graph.serialize());
                }""",
                [ids["animate"], 256],
            )  # fmt: skip
            page.evaluate(WATCH_RENDER, ids["animate"])
            page.evaluate("async () => { await window.app.queuePrompt(0, 1); }")
            page.wait_for_function(
                "(n) => window.__deforumRender.progress.length >= n", arg=RENDER_FRAMES // 3,
                timeout=TIMEOUT_MS,
            )  # fmt: skip
            page.screenshot(path=str(session.screenshot_dir / "during_render.png"))
            page.wait_for_function(
                "([id, name]) => (" + SHOWN_IMAGES + ")(id)"
                ".some(([src, width]) => src.includes(name) && width)",
                arg=[ids["animate"], last_name], timeout=TIMEOUT_MS,
            )  # fmt: skip
            page.wait_for_timeout(1000)  # a preview left behind would show by now
            page.screenshot(path=str(session.screenshot_dir / "after_render.png"))
            seen = page.evaluate("() => window.__deforumRender")
            shown = page.evaluate(SHOWN_IMAGES, ids["animate"])

            values = [value for value, _ in seen["progress"]]
            assert {total for _, total in seen["progress"]} == {RENDER_FRAMES * 100}
            assert values == sorted(set(values)) and values[-1] == RENDER_FRAMES * 100
            assert len(values) == RENDER_FRAMES  # a motion preview: one report per frame
            assert seen["previews"] == RENDER_FRAMES
            assert len(shown) == 1, f"{renderer}: {shown}"
            assert last_name in shown[0][0] and shown[0][1:] == [256, 256]
            if renderer == "vue":  # the bar it draws from those reports
                assert len(seen["bar"]) >= 3 and seen["bar"] == sorted(seen["bar"]), seen["bar"]
            assert session.console_errors() == [] and session.page_errors == []
