"""A queued render as a user watches it, in each real frontend and renderer: the Animate
node's bar moves forward only, one preview per frame, and at the end the node shows the last
frame alone.
"""

from __future__ import annotations

import base64
import urllib.parse
import uuid
from pathlib import Path

import cv2
import numpy as np
import pytest
from browser_session import BUILD_PREVIEW_GRAPH, BrowserSession, page_with, renderers
from comfyui_harness import REPO_ROOT, ComfyServer, load_workflow, node_of, set_widgets

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


# The preview a Deforum Video node shows (its <video>, or <img> for a GIF), how far it loaded
# and its box on the page.
VIDEO_PREVIEW = """(id) => {
    const media = window.app.graph.getNodeById(id).widgets
        .find((w) => w.name === "deforum_video_preview").element.firstChild;
    const box = media.getBoundingClientRect();
    return {
        tag: media.tagName, src: media.src ?? "", readyState: media.readyState ?? null,
        error: media.error?.code ?? null, duration: media.duration ?? null,
        complete: media.complete ?? null,
        size: media.tagName === "VIDEO" ? [media.videoWidth, media.videoHeight]
            : [media.naturalWidth, media.naturalHeight],
        box: [box.left, box.top, box.width, box.height],
    };
}"""
PREVIEW_LOADED = (
    "(ids) => ids.every((id) => { const media = (" + VIDEO_PREVIEW + ")(id);"
    " return media.tag === 'VIDEO' ? media.readyState >= 2 || media.error !== null"
    " : media.tag === 'IMG' && media.complete && media.size[0] > 0; })"
)
AFTER_RUN_FRAMES = 6

# The canvas moved and scaled so that the graph's whole width is in view (clear of the 2025
# page's side bar), as a user would to watch a render: every node's previews are on the page.
SHOW_WHOLE_WIDTH = """() => {
    const canvas = window.app.canvas, nodes = window.app.graph._nodes;
    const title = window.LiteGraph.NODE_TITLE_HEIGHT ?? 30;
    const left = Math.min(...nodes.map((node) => node.pos[0]));
    const top = Math.min(...nodes.map((node) => node.pos[1] - title));
    const right = Math.max(...nodes.map((node) => node.pos[0] + node.size[0]));
    const scale = Math.min(1, (canvas.canvas.getBoundingClientRect().width - 120) / (right - left));
    canvas.ds.scale = scale;
    canvas.ds.offset[0] = 80 / scale - left;
    canvas.ds.offset[1] = 60 / scale - top;
    canvas.setDirty(true, true);
}"""


def wait_until_shown(session: BrowserSession, animate: int, frames: int, videos: list[int]) -> None:
    """Until the render is done as the page shows it: Animate shows its last frame and each
    Video node's preview has loaded (or failed)."""
    last_name = f"filename=frame_{frames - 1:05d}.png"
    session.page.wait_for_function(
        "([id, name]) => (" + SHOWN_IMAGES + ")(id)"
        ".some(([src, width]) => src.includes(name) && width)",
        arg=[animate, last_name], timeout=TIMEOUT_MS,
    )  # fmt: skip
    session.page.wait_for_function(PREVIEW_LOADED, arg=videos, timeout=TIMEOUT_MS)


def check_layout_after_run(
    session: BrowserSession, renderer: str, before: dict, videos: dict[int, str], run_name: str
) -> None:
    """No two nodes overlap, on the canvas's areas and (in Nodes 2.0) as drawn; each Video
    node (id: the file it writes) kept its size, its preview inside it showing this run's
    file, and a <video> loaded it."""
    dom = renderer == "vue"
    assert session.overlaps() == [], f"{renderer}: {session.page_boxes(dom)}"
    boxes = session.page_boxes(dom)
    assert session.page_overlaps(dom) == [], f"{renderer}: {boxes}"
    assert session.spilled_widgets(dom) == [], renderer  # editors, previews inside their nodes
    sizes = session.node_sizes()
    for video, filename in videos.items():
        assert sizes[video] == pytest.approx(before["sizes"][video], abs=0.5), (renderer, video)
        assert boxes[video]["size"] == pytest.approx(before["boxes"][video]["size"], abs=0.5), (
            renderer, video,
        )  # fmt: skip
        media = session.page.evaluate(VIDEO_PREVIEW, video)
        left, top = boxes[video]["pos"]
        width, height = boxes[video]["size"]
        x, y, media_width, media_height = media["box"]
        assert media_width > 0 and media_height > 0, (renderer, media)  # shown
        assert left - 0.5 <= x and x + media_width <= left + width + 0.5, (renderer, media)
        assert top - 0.5 <= y and y + media_height <= top + height + 0.5, (renderer, media)
        assert run_name in urllib.parse.unquote(media["src"]), media
        assert media["src"].split("?")[1].startswith(f"filename={filename}&"), media
        assert media["size"] == [64, 64], media
        if filename.endswith(".mp4"):  # the browser decoded the rendered file and knows its length
            assert media["tag"] == "VIDEO" and media["error"] is None, media
            assert media["readyState"] >= 2 and media["duration"] > 0, media


def layout_before_run(session: BrowserSession, renderer: str) -> dict:
    """The graph in view (SHOW_WHOLE_WIDTH), clear of overlaps; its node sizes and boxes."""
    session.page.evaluate(SHOW_WHOLE_WIDTH)
    assert session.overlaps() == [] and session.page_overlaps(renderer == "vue") == []
    return {"sizes": session.node_sizes(), "boxes": session.page_boxes(renderer == "vue")}


def test_after_a_render_no_node_overlaps_and_the_video_plays_in_its_own_area(
    comfyui_server: ComfyServer, tmp_path: Path
) -> None:
    """In each renderer, a motion preview into an mp4 and a GIF Video node: once the render
    is shown, no two nodes overlap, the Video nodes have the size they had before (their
    previews inside them) and the <video> plays the rendered file."""
    y, x = np.mgrid[0:64, 0:64]
    pixels = np.stack([x * 4, y * 4, ((x // 8 + y // 8) % 2) * 255], axis=-1).astype(np.uint8)
    png = base64.b64encode(cv2.imencode(".png", pixels)[1].tobytes()).decode()
    for renderer in renderers(comfyui_server):
        with page_with(comfyui_server, renderer, tmp_path, TIMEOUT_MS) as session:
            run_name = f"browser_layout_{uuid.uuid4().hex[:8]}"
            built = session.page.evaluate(BUILD_PREVIEW_GRAPH, [png, AFTER_RUN_FRAMES, run_name])
            ids = built["ids"]
            before = layout_before_run(session, renderer)
            session.page.evaluate("async () => { await window.app.queuePrompt(0, 1); }")
            wait_until_shown(session, ids["animate"], AFTER_RUN_FRAMES, [ids["mp4"], ids["gif"]])
            session.page.screenshot(path=str(session.screenshot_dir / "preview_graph_after.png"))

            files = {ids["mp4"]: "deforum.mp4", ids["gif"]: "preview.gif"}
            check_layout_after_run(session, renderer, before, files, run_name)
            assert session.console_errors() == [] and session.page_errors == []


SHIPPED_2D = REPO_ROOT / "workflows" / "deforum_2d.json"
SHIPPED_FRAMES = 3


def test_the_shipped_2d_workflow_renders_with_no_node_overlapping(
    comfyui_server: ComfyServer, object_info: dict, checkpoint: str, tmp_path: Path
) -> None:
    """workflows/deforum_2d.json as a user runs it, with the tiny checkpoint and a tiny render
    (3 frames at 64x64, 2 steps): afterwards no two nodes overlap in any renderer, the Video
    node kept its size with the video playing inside it."""
    workflow = load_workflow(SHIPPED_2D)
    set_widgets(workflow, object_info, "CheckpointLoaderSimple", ckpt_name=checkpoint)
    animate = node_of(workflow, "DeforumAnimate")["id"]
    video = node_of(workflow, "DeforumVideo")["id"]
    preview = node_of(workflow, "PreviewImage")["id"]
    for renderer in renderers(comfyui_server):
        run_name = f"browser_2d_{uuid.uuid4().hex[:8]}"
        set_widgets(
            workflow, object_info, "DeforumAnimate", max_frames=SHIPPED_FRAMES, width=64,
            height=64, steps_schedule="0:(2)", run_name=run_name,
        )  # fmt: skip
        with page_with(comfyui_server, renderer, tmp_path, TIMEOUT_MS) as session:
            loaded = session.load_workflow(workflow)
            assert loaded["unregistered"] == []
            session.page.keyboard.press("Escape")  # the missing-model dialog of the 2025 page
            before = layout_before_run(session, renderer)
            session.page.evaluate("async () => { await window.app.queuePrompt(0, 1); }")
            wait_until_shown(session, animate, SHIPPED_FRAMES, [video])
            session.page.wait_for_function(
                "(id) => (" + SHOWN_IMAGES + ")(id).some(([src, width]) => width)",
                arg=preview, timeout=TIMEOUT_MS,
            )  # fmt: skip
            session.page.screenshot(path=str(session.screenshot_dir / "deforum_2d_after.png"))

            check_layout_after_run(session, renderer, before, {video: "deforum.mp4"}, run_name)
            assert session.console_errors() == [] and session.page_errors == []
