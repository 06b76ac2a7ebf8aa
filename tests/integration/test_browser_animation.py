"""The animation workflows and the video preview in ComfyUI's real web frontends (2024 and 2025).

A user drops workflows/deforum_2d.json or deforum_still.json on the canvas: every node type is
known and every widget holds the saved value. After a run, Deforum Video shows the video in
the node (a <video>, or an <img> for GIF) fetched from the server, Deforum Animate shows its
last frame, and saving the workflow still gives the widget values it had before the run.
"""

from __future__ import annotations

import base64
import urllib.request
import uuid
from collections.abc import Iterator

import cv2
import numpy as np
import pytest
from browser_session import BUILD_PREVIEW_GRAPH, BrowserSession, api_prompt, comfy_page
from comfyui_harness import REPO_ROOT, ComfyServer, load_workflow, workflow_to_api_prompt

pytestmark = [pytest.mark.comfyui, pytest.mark.browser]

TIMEOUT_MS = 60_000
WORKFLOWS = [
    "deforum_2d",
    "deforum_still",
    "deforum_3d",
    "deforum_settings_file",
    "deforum_video_input",
    "deforum_interpolation",
    "deforum_hybrid",
    "deforum_audio",
    "deforum_controlnet",
]
PREVIEW_FRAMES = 6


@pytest.fixture(scope="module")
def browser(
    comfyui_server: ComfyServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[BrowserSession]:
    workdir = tmp_path_factory.mktemp("browser_animation")
    generation = comfyui_server.generation.name
    with comfy_page(comfyui_server.base_url, workdir, generation=generation,
                    timeout_ms=TIMEOUT_MS, viewport=(1600, 1000)) as session:  # fmt: skip
        yield session


@pytest.mark.parametrize("name", WORKFLOWS)
def test_workflow_opens_with_its_values(
    browser: BrowserSession, object_info: dict, name: str
) -> None:
    workflow = load_workflow(REPO_ROOT / "workflows" / f"{name}.json")

    loaded = browser.load_workflow(workflow)
    browser.page.screenshot(path=str(browser.screenshot_dir / f"{name}.png"))

    assert loaded["missingDialog"] is None, loaded["missingDialog"]
    assert loaded["unregistered"] == []
    assert loaded["widgets"] == {
        str(node["id"]): node.get("widgets_values", []) for node in workflow["nodes"]
    }
    browser.check_saved(loaded["serialized"], workflow)  # the file is what the frontend saves
    assert loaded["queued"] == workflow_to_api_prompt(workflow, object_info)
    assert browser.console_errors() == [] and browser.page_errors == []


@pytest.mark.parametrize("name", ["deforum_2d", "deforum_3d"])
def test_a_workflow_saved_before_the_camera_input_keeps_its_camera(
    browser: BrowserSession, object_info: dict, name: str
) -> None:
    """A motion node saved without the camera input gets the pinhole camera it rendered with
    (the extension's doing); the other appended inputs show their defaults."""
    workflow = load_workflow(REPO_ROOT / "tests" / "golden" / "saved_v0_1" / f"{name}.json")
    (motion,) = [n for n in workflow["nodes"] if n["type"].startswith("DeforumMotion")]

    loaded = browser.load_workflow(workflow)

    assert loaded["missingDialog"] is None and loaded["unregistered"] == []
    appended = {"DeforumMotion2D": ["pinhole"], "DeforumMotion3D": ["pinhole", "0:(1)", False]}
    assert (
        loaded["widgets"][str(motion["id"])] == motion["widgets_values"] + appended[motion["type"]]
    )
    assert loaded["queued"] == workflow_to_api_prompt(workflow, object_info)
    assert loaded["queued"][str(motion["id"])]["inputs"]["camera"] == "pinhole"
    assert browser.console_errors() == [] and browser.page_errors == []


# What Deforum Animate shows after the run: its ui "images", the last frame, alone (the
# extension drops the last progress preview the frontend would show beside it).
LAST_FRAME = f"""const lastFrame = (node) => (node.imgs?.length === 1 ? node.imgs[0] : null);
    const lastName = "filename=frame_{PREVIEW_FRAMES - 1:05d}.png";"""

PREVIEWS_READY = (
    "(ids) => {"
    + LAST_FRAME
    + """
    const graph = window.app.graph;
    const media = (id) => graph.getNodeById(id).widgets
        ?.find((w) => w.name === "deforum_video_preview")?.element?.firstChild;
    const video = media(ids.mp4), gif = media(ids.gif);
    const last = lastFrame(graph.getNodeById(ids.animate));
    return video?.tagName === "VIDEO" && video.src !== ""
        && gif?.tagName === "IMG" && gif.complete && gif.naturalWidth === 64
        && last?.src.includes(lastName) && last.complete && last.naturalWidth === 64;
}"""
)

PREVIEW_STATE = (
    "(ids) => {"
    + LAST_FRAME
    + """
    const graph = window.app.graph;
    const element = (id) => graph.getNodeById(id).widgets
        .find((w) => w.name === "deforum_video_preview").element;
    const video = element(ids.mp4).firstChild, gif = element(ids.gif).firstChild;
    return {
        video: { src: video.src, controls: video.controls, loop: video.loop, muted: video.muted,
                 autoplay: video.autoplay, visible: element(ids.mp4).offsetParent !== null },
        gif: gif.src,
        lastFrame: lastFrame(graph.getNodeById(ids.animate)).src,
        seedLine: graph.getNodeById(ids.animate).widgets
            .find((w) => w.name === "deforum_seed").element.textContent,
    };
}"""
)


def _served(url: str) -> tuple[int, bytes]:
    with urllib.request.urlopen(url, timeout=30) as response:
        return response.status, response.read()


def test_video_node_previews_the_rendered_video(
    browser: BrowserSession, comfyui_server: ComfyServer, object_info: dict
) -> None:
    y, x = np.mgrid[0:64, 0:64]
    pixels = np.stack([x * 4, y * 4, ((x // 8 + y // 8) % 2) * 255], axis=-1).astype(np.uint8)
    png = base64.b64encode(cv2.imencode(".png", pixels)[1].tobytes()).decode()
    run_name = f"browser_{uuid.uuid4().hex[:8]}"  # a new prompt, never served from the cache
    built = browser.page.evaluate(BUILD_PREVIEW_GRAPH, [png, PREVIEW_FRAMES, run_name])
    ids = built["ids"]

    sizes_before = browser.node_sizes()
    browser.page.evaluate("async () => { await window.app.queuePrompt(0, 1); }")
    browser.page.wait_for_function(PREVIEWS_READY, arg=ids, timeout=TIMEOUT_MS)
    state = browser.page.evaluate(PREVIEW_STATE, ids)
    browser.page.screenshot(path=str(browser.screenshot_dir / "video_preview.png"))

    # the video previews had their room from the start: they stay inside their nodes (the
    # Animate node grows to show its last frame, as ComfyUI's image outputs do), no overlap
    sizes = browser.node_sizes()
    assert [sizes[ids["mp4"]], sizes[ids["gif"]]] == [sizes_before[ids["mp4"]],
                                                      sizes_before[ids["gif"]]]  # fmt: skip
    assert browser.overlaps() == []
    assert state["seedLine"] == "rendered with seed 5"

    video = state["video"]
    assert video["controls"] and video["loop"] and video["muted"] and video["autoplay"]
    assert video["visible"]
    view = "/view?" if comfyui_server.generation.name == "comfyui-2024" else "/api/view?"
    for url, suffix in ((video["src"], ".mp4"), (state["gif"], ".gif")):
        assert url.startswith(f"{comfyui_server.base_url}{view}"), url
        status, data = _served(url)
        assert status == 200 and len(data) > 0, url
        assert suffix in urllib.request.unquote(url)
    status, data = _served(state["lastFrame"])
    assert status == 200 and data.startswith(b"\x89PNG")

    # The preview is display only: neither saved in the workflow nor sent with the prompt.
    saved = browser.page.evaluate("() => window.app.graph.serialize()")
    before = {node["id"]: node.get("widgets_values") for node in built["workflow"]["nodes"]}
    assert {node["id"]: node.get("widgets_values") for node in saved["nodes"]} == before
    queued = browser.page.evaluate("async () => (await window.app.graphToPrompt()).output")
    upload_sent = comfyui_server.generation.upload_sent
    assert api_prompt(queued) == workflow_to_api_prompt(saved, object_info, upload_sent=upload_sent)
    assert browser.console_errors() == [] and browser.page_errors == []


# Deforum Load Settings -> Deforum Animate (a motion preview), the settings file uploaded as
# the node's menu entry or a drop on the node uploads it.
BUILD_SETTINGS_GRAPH = """async ([text, runName]) => {
    const graph = window.app.graph;
    graph.clear();
    const load = LiteGraph.createNode("DeforumLoadSettings");
    graph.add(load);
    load.pos = [20, 20];
    const stored = await load.deforumUpload(
        new File([text], "browser_settings.txt", { type: "text/plain" }));
    for (const [name, value] of Object.entries({ max_frames: 4, width: 64, height: 64 })) {
        load.widgets.find((w) => w.name === name).value = value;
    }
    const animate = LiteGraph.createNode("DeforumAnimate");
    graph.add(animate);
    animate.pos = [480, 20];
    animate.widgets.find((w) => w.name === "run_name").value = runName;
    animate.widgets.find((w) => w.name === "base_seed").value = 3;
    load.connect(load.findOutputSlot("settings"), animate, animate.findInputSlot("settings"));
    load.connect(load.findOutputSlot("prompts"), animate, animate.findInputSlot("prompts"));
    const menu = [];
    load.getExtraMenuOptions(window.app.canvas, menu);
    return {
        ids: { load: load.id, animate: animate.id },
        stored,
        chosen: load.widgets.find((w) => w.name === "settings_file").value,
        menu: menu.map((entry) => entry?.content),
        workflow: graph.serialize(),
    };
}"""

REPORT_SHOWN = """(id) => {
    const widget = window.app.graph.getNodeById(id).widgets
        ?.find((w) => w.name === "deforum_report");
    return widget?.element?.firstChild?.textContent ?? null;
}"""


def test_load_settings_uploads_a_file_and_shows_its_report(
    browser: BrowserSession, comfyui_server: ComfyServer, object_info: dict
) -> None:
    text = (REPO_ROOT / "tests" / "settings_files" / "A_2d_v05_old.txt").read_text("utf-8")
    run_name = f"browser_settings_{uuid.uuid4().hex[:8]}"
    built = browser.page.evaluate(BUILD_SETTINGS_GRAPH, [text, run_name])
    assert built["stored"] == built["chosen"] == "browser_settings.txt"
    assert (comfyui_server.input_dir / "browser_settings.txt").read_text("utf-8") == text
    assert built["menu"][0] == "Upload settings file"

    browser.page.evaluate("async () => { await window.app.queuePrompt(0, 1); }")
    browser.page.wait_for_function(
        f"(id) => ({REPORT_SHOWN})(id) !== null", arg=built["ids"]["load"], timeout=TIMEOUT_MS
    )
    browser.page.wait_for_function(
        "(id) => window.app.nodeOutputs?.[id]?.run_dir?.length === 1",
        arg=str(built["ids"]["animate"]), timeout=TIMEOUT_MS,
    )  # fmt: skip
    shown = browser.page.evaluate(REPORT_SHOWN, built["ids"]["load"])
    browser.page.screenshot(path=str(browser.screenshot_dir / "load_settings_report.png"))

    headline, _, report = shown.partition("\n\n")
    assert headline.startswith(f"{len(report.splitlines())} lines: ") and "mapped" in headline
    assert "mapped            sampler: 0: ComfyUI euler_ancestral + normal" in report
    folder = next((comfyui_server.output_dir / "deforum").glob(f"{run_name}_*"))
    assert len(list(folder.glob("frame_*.png"))) == 4
    # The report is display only: neither saved in the workflow nor sent with the prompt.
    saved = browser.page.evaluate("() => window.app.graph.serialize()")
    before = {node["id"]: node.get("widgets_values") for node in built["workflow"]["nodes"]}
    assert {node["id"]: node.get("widgets_values") for node in saved["nodes"]} == before
    queued = browser.page.evaluate("async () => (await window.app.graphToPrompt()).output")
    assert api_prompt(queued) == workflow_to_api_prompt(saved, object_info)
    assert browser.console_errors() == [] and browser.page_errors == []


# Deforum Video Input -> Deforum Animate (Video Input mode, a preview), the clip uploaded as
# the node's menu entry or a drop on the node uploads it.
BUILD_VIDEO_GRAPH = """async ([encoded, runName]) => {
    const graph = window.app.graph;
    graph.clear();
    const source = LiteGraph.createNode("DeforumVideoInput");
    graph.add(source);
    source.pos = [20, 20];
    const bytes = Uint8Array.from(atob(encoded), (c) => c.charCodeAt(0));
    const stored = await source.deforumUpload(
        new File([bytes], "browser_clip.mp4", { type: "video/mp4" }));
    source.widgets.find((w) => w.name === "extract_nth_frame").value = 3;
    const animate = LiteGraph.createNode("DeforumAnimate");
    graph.add(animate);
    animate.pos = [480, 20];
    const values = { animation_mode: "Video Input", width: 64, height: 64, base_seed: 3,
                     run_name: runName };
    for (const [name, value] of Object.entries(values)) {
        animate.widgets.find((w) => w.name === name).value = value;
    }
    const prompts = LiteGraph.createNode("DeforumPromptSchedule");
    graph.add(prompts);
    prompts.pos = [20, 400];
    prompts.connect(0, animate, animate.findInputSlot("prompts"));
    source.connect(source.findOutputSlot("video"), animate, animate.findInputSlot("video"));
    const menu = [];
    source.getExtraMenuOptions(window.app.canvas, menu);
    return {
        stored,
        chosen: source.widgets.find((w) => w.name === "video").value,
        menu: menu.map((entry) => entry?.content),
    };
}"""


def test_video_input_uploads_a_clip_and_animate_renders_its_frames(
    browser: BrowserSession, comfyui_server: ComfyServer, tmp_path
) -> None:
    from clips import write_clip

    clip = write_clip(tmp_path / "clip.mp4", frames=12, size=(64, 64)).read_bytes()
    run_name = f"browser_video_{uuid.uuid4().hex[:8]}"
    encoded = base64.b64encode(clip).decode()
    built = browser.page.evaluate(BUILD_VIDEO_GRAPH, [encoded, run_name])
    assert built["stored"] == built["chosen"] == "browser_clip.mp4"
    assert (comfyui_server.input_dir / "browser_clip.mp4").read_bytes() == clip
    assert built["menu"][0] == "Upload video"

    browser.page.evaluate("async () => { await window.app.queuePrompt(0, 1); }")
    root = comfyui_server.output_dir / "deforum"
    browser.page.wait_for_function(
        "(name) => Object.values(window.app.nodeOutputs ?? {}).some("
        "(out) => out?.run_dir?.[0]?.includes(name))", arg=run_name, timeout=TIMEOUT_MS,
    )  # fmt: skip
    folder = next(root.glob(f"{run_name}_*"))
    assert len(list(folder.glob("frame_*.png"))) == 4  # frames 0, 3, 6, 9 of 12
    shown = browser.page.evaluate(
        """() => window.app.graph._nodes.find((n) => n.comfyClass === "DeforumVideoInput")
            ?.widgets?.find((w) => w.name === "deforum_report")?.element?.textContent"""
    )
    assert shown == "browser_clip.mp4: 4 frames selected, 64x64, 8 fps"
    assert browser.console_errors() == [] and browser.page_errors == []
