"""A ComfyUI page in headless Chromium, shared by the browser tests.

Debian's Chromium, driven by the playwright package (its own browser download does not work
on these machines), with a fresh profile and the flags that keep it off the network.
"""

from __future__ import annotations

import contextlib
import json
import re
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from comfyui_harness import ComfyServer
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
# What each frontend logs on its own, seen on a page without the pack: the March 2024 page has
# no favicon; the late-2025 page asks for optional user files and trips over its own empty
# workflow list. Anything else in the console counts against the pack.
FRONTEND_NOISE = (
    re.compile(r"@ \S*/favicon\.ico$"),
    re.compile(r"404 \(Not Found\) @ \S*/(api/userdata/)?user\.css$"),
    re.compile(r"404 \(Not Found\) @ \S*/api/userdata\?dir=(workflows|subgraphs)"),
    re.compile(r"404 \(Not Found\) @ \S*/api/userdata/comfy\.templates\.json$"),
    re.compile(r"^TypeError: Cannot read properties of undefined \(reading 'id'\)[^@]*"
               r"@ \S*/assets/lib/vue/dist/vue\.esm-browser\.prod\.js$", re.S),
    # it looks every node up in the registry at api.comfy.org; the page's own policy blocks it
    re.compile(r"^Connecting to 'https://api\.comfy\.org/.*violates the following Content "
               r"Security Policy directive", re.S),
    # its missing-model panel asks huggingface.co for the size of each download it offers;
    # the test servers forbid that (--disable-api-nodes: connect-src 'self')
    re.compile(r"^(Connecting to '|Fetch API cannot load )https://huggingface\.co/.*Content "
               r"Security Policy", re.S),
    re.compile(r"^Error fetching file size: TypeError: Failed to fetch", re.S),
)  # fmt: skip
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
        // the pack's display widgets (editor, summaries, previews) hold no value
        widgets: Object.fromEntries(window.app.graph._nodes.map((node) => [node.id,
            (node.widgets ?? [])
                .filter((w) => !(w.serialize === false && w.name?.startsWith("deforum_")))
                .map((widget) => widget.value)])),
        serialized: window.app.graph.serialize(),
        queued: (await window.app.graphToPrompt()).output,
    };
}"""


def graph_essentials(workflow: dict[str, Any]) -> dict[str, Any]:
    """What a saved UI workflow means, apart from how a frontend writes it out (the late-2025
    one adds a workflow id and renderer version, writes sizes as floats and lists every widget
    as an unlinked input slot, so a link into a widget converted to an input lands on another
    slot index): every node's type, mode, widget values, linked inputs and output links, and
    the links themselves, each to its input by name."""
    into = {
        slot["link"]: slot["name"]
        for node in workflow["nodes"]
        for slot in node.get("inputs", [])
        if slot.get("link") is not None
    }
    nodes = {
        str(node["id"]): {
            "type": node["type"],
            "mode": node.get("mode", 0),
            "widgets_values": node.get("widgets_values") or [],
            "inputs": [
                (slot["name"], slot["link"])
                for slot in node.get("inputs", [])
                if slot.get("link") is not None
            ],
            "outputs": [
                (slot["name"], sorted(slot.get("links") or [])) for slot in node.get("outputs", [])
            ],
        }
        for node in workflow["nodes"]
    }
    links = sorted((*link[:4], into.get(link[0]), link[5]) for link in workflow["links"])
    return {"nodes": nodes, "links": links}


def api_prompt(queued: dict[str, Any]) -> dict[str, Any]:
    """A prompt the frontend queued, without the node titles the late-2025 one adds as
    `_meta` (the server ignores them when it runs the prompt)."""
    return {
        node_id: {key: value for key, value in node.items() if key != "_meta"}
        for node_id, node in queued.items()
    }


# Every node's area on the canvas, its title bar included.
_LAYOUT = """() => window.app.graph._nodes.map((node) => ({
    id: node.id, type: node.type, pos: [...node.pos], size: [...node.size],
    title: window.LiteGraph.NODE_TITLE_HEIGHT ?? 30,
}))"""


# Every node's box on the page, in CSS pixels, title included: in Nodes 2.0 (dom) the element
# the Vue renderer draws it as; on the canvas its area through the canvas transform, the one
# the frontend places DOM widgets with. A node Nodes 2.0 did not draw has an empty box.
_PAGE_BOXES = """(dom) => {
    const canvas = window.app.canvas, scale = canvas.ds.scale, [dx, dy] = canvas.ds.offset;
    const origin = canvas.canvas.getBoundingClientRect();
    const title = window.LiteGraph.NODE_TITLE_HEIGHT ?? 30;
    return window.app.graph._nodes.map((node) => {
        const element = document.querySelector(`.lg-node[data-node-id="${node.id}"]`);
        const box = !dom ? {
            left: origin.left + (node.pos[0] + dx) * scale,
            top: origin.top + (node.pos[1] - title + dy) * scale,
            width: node.size[0] * scale, height: (node.size[1] + title) * scale,
        } : element?.getBoundingClientRect() ?? { left: 0, top: 0, width: 0, height: 0 };
        return { id: node.id, type: node.type, pos: [box.left, box.top],
                 size: [box.width, box.height], title: 0 };
    });
}"""


# What of a node's DOM widgets (the pack's editors, previews and reports, and any other) shows
# outside the node's box on the page (see _PAGE_BOXES): each element and what it holds, by
# how many pixels it passes each edge.
_SPILLED_WIDGETS = (
    """(dom) => {
    const boxes = new Map(("""
    + _PAGE_BOXES
    + """)(dom).map((box) => [box.id, box]));
    const spilled = [];
    for (const node of window.app.graph._nodes) {
        const [left, top] = boxes.get(node.id).pos, [width, height] = boxes.get(node.id).size;
        for (const widget of node.widgets ?? []) {
            if (!(widget.element instanceof Element)) continue;
            for (const part of [widget.element, ...widget.element.querySelectorAll("*")]) {
                const box = part.getBoundingClientRect();
                if (box.width === 0 || box.height === 0) continue;  // not shown
                const past = [left - box.left, box.right - left - width,
                              top - box.top, box.bottom - top - height].map(Math.round);
                if (past.some((pixels) => pixels > 1)) {
                    spilled.push([node.id, widget.name, `${part.tagName}.${part.className}`,
                                  past]);
                }
            }
        }
    }
    return spilled;
}"""
)


def overlaps(boxes: list[dict]) -> list[tuple[int, int]]:
    """The pairs of nodes whose areas (title bar included) cross."""
    found = []
    for index, a in enumerate(boxes):
        for b in boxes[index + 1 :]:
            ax, ay = a["pos"][0], a["pos"][1] - a["title"]
            bx, by = b["pos"][0], b["pos"][1] - b["title"]
            if (ax < bx + b["size"][0] and bx < ax + a["size"][0]
                    and ay < by + b["size"][1] + b["title"]
                    and by < ay + a["size"][1] + a["title"]):  # fmt: skip
                found.append((a["id"], b["id"]))
    return found


@dataclass
class BrowserSession:
    """An open ComfyUI page plus everything it logged and fetched since loading."""

    page: Page
    screenshot_dir: Path
    generation: str
    console: list[ConsoleMessage] = field(default_factory=list)
    responses: list[Response] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)

    def load_workflow(self, workflow: dict[str, Any]) -> dict[str, Any]:
        """Open a UI workflow in the app. Returns the missing-nodes dialog text (or None), the
        unregistered node types, each node's widget values by id, what the app would save,
        and what it would queue (without `_meta`, see api_prompt)."""
        loaded = self.page.evaluate(_LOAD_WORKFLOW, workflow)
        return {**loaded, "queued": api_prompt(loaded["queued"])}

    def check_saved(self, saved: dict[str, Any], original: dict[str, Any]) -> None:
        """The frontend saves the workflow it loaded: byte for byte on the March 2024 page,
        with the same meaning (graph_essentials) on every page."""
        assert graph_essentials(saved) == graph_essentials(original)
        if self.generation == "comfyui-2024":
            assert json.loads(json.dumps(saved)) == original

    def overlaps(self) -> list[tuple[int, int]]:
        """The pairs of node ids whose areas cross in the open graph, once its layout has
        settled (the Vue renderer measures and rescales its nodes after loading)."""
        return overlaps(self._settled(_LAYOUT))

    def page_boxes(self, dom: bool) -> dict[int, dict]:
        """Every node's box on the page by id (see _PAGE_BOXES), once the layout has settled:
        dom=True measures the elements Nodes 2.0 draws the nodes as."""
        return {box["id"]: box for box in self._settled(_PAGE_BOXES, dom)}

    def page_overlaps(self, dom: bool) -> list[tuple[int, int]]:
        """The pairs of node ids whose boxes on the page cross (see page_boxes)."""
        return overlaps(list(self.page_boxes(dom).values()))

    def spilled_widgets(self, dom: bool) -> list[list]:
        """The DOM widgets, or parts of them, shown outside their node's box on the page (see
        page_boxes): [node id, widget name, element, pixels past left/right/top/bottom]."""
        return self._settled(_SPILLED_WIDGETS, dom)

    def _settled(self, script: str, arg: Any = None) -> Any:
        """What script answers once two reads 300 ms apart agree (at most 6 s)."""
        found = self.page.evaluate(script, arg)
        for _ in range(20):
            self.page.wait_for_timeout(300)
            settled, found = found, self.page.evaluate(script, arg)
            if settled == found:
                break
        return found

    def node_sizes(self) -> dict[int, list[float]]:
        return {box["id"]: box["size"] for box in self.page.evaluate(_LAYOUT)}

    def console_errors(self) -> list[str]:
        """Console errors, except what the frontend logs without the pack (FRONTEND_NOISE)."""
        errors = [
            f"{message.text} @ {message.location.get('url', '')}"
            for message in self.console
            if message.type == "error"
        ]
        return [e for e in errors if not any(noise.search(e) for noise in FRONTEND_NOISE)]


@contextlib.contextmanager
def comfy_page(
    base_url: str, workdir: Path, *, generation: str, timeout_ms: int, viewport: tuple[int, int]
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
            session = BrowserSession(page, workdir, generation)
            # Playwright needs Python functions as handlers, not bound builtins like list.append.
            page.on("console", lambda message: session.console.append(message))
            page.on("response", lambda response: session.responses.append(response))
            page.on("pageerror", lambda error: session.page_errors.append(str(error)))
            if generation == "comfyui-2025":  # it opens its template browser for a new user
                page.request.post(f"{base_url}/settings/Comfy.TutorialCompleted", data="true")
            page.goto(base_url, timeout=timeout_ms)
            try:
                page.wait_for_function(APP_READY, timeout=timeout_ms)
            except Exception as error:
                pytest.fail(f"ComfyUI app did not start: {error}\n{session.console_errors()}")
            yield session
        finally:
            context.close()


VUE_SETTING = "Comfy.VueNodes.Enabled"


def renderers(server: ComfyServer) -> list[str]:
    """The renderers a generation's page has: Nodes 2.0 came with the late-2025 frontend."""
    return ["canvas", "vue"] if server.generation.name == "comfyui-2025" else ["canvas"]


@contextlib.contextmanager
def page_with(
    server: ComfyServer, renderer: str, workdir: Path, timeout_ms: int = 30_000
) -> Iterator[BrowserSession]:
    """A fresh page of the server in the given renderer (the setting is the server's own)."""
    vue = server.generation.name == "comfyui-2025"
    if vue:
        set_vue_nodes(server, renderer == "vue")
    try:
        with comfy_page(server.base_url, workdir / renderer, generation=server.generation.name,
                        timeout_ms=timeout_ms, viewport=(1600, 1000)) as session:  # fmt: skip
            assert session.page.evaluate(
                "(key) => window.app.ui.settings.getSettingValue?.(key) ?? false", VUE_SETTING
            ) == (renderer == "vue")
            yield session
    finally:
        if vue:  # the other browser tests use the canvas
            set_vue_nodes(server, False)


def set_vue_nodes(server: ComfyServer, enabled: bool) -> None:
    body = b"true" if enabled else b"false"
    url = f"{server.base_url}/settings/{VUE_SETTING}"
    request = urllib.request.Request(url, data=body, method="POST")
    with urllib.request.urlopen(request, timeout=30) as response:
        assert response.status == 200


# Upload an init image like the LoadImage upload button, build LoadImage -> Deforum Animate
# (motion preview: no diffuser) -> two Deforum Video nodes (mp4 and gif), return the workflow.
BUILD_PREVIEW_GRAPH = """async ([pngBase64, frames, runName]) => {
    const bytes = Uint8Array.from(atob(pngBase64), (c) => c.charCodeAt(0));
    const form = new FormData();
    form.append("image", new Blob([bytes], { type: "image/png" }), "deforum_browser_init.png");
    form.append("overwrite", "true");
    const uploaded = await (await fetch("upload/image", { method: "POST", body: form })).json();

    // an empty workflow, not graph.clear(): Nodes 2.0 would keep the old nodes' places by id
    await window.app.loadGraphData({ last_node_id: 0, last_link_id: 0, nodes: [], links: [],
                                     groups: [], config: {}, extra: {}, version: 0.4 });
    const graph = window.app.graph;
    const add = (type, pos, values = {}) => {
        // place and values before adding: Nodes 2.0 draws a node as it is when added
        const node = LiteGraph.createNode(type);
        node.pos = pos;
        for (const [name, value] of Object.entries(values)) {
            node.widgets.find((w) => w.name === name).value = value;
        }
        graph.add(node);
        return node;
    };
    const link = (from, output, to, input) =>
        from.connect(from.findOutputSlot(output), to, to.findInputSlot(input));
    const below = (node) => [node.pos[0], node.pos[1] + node.size[1] + 60];
    const prompts = add("DeforumPromptSchedule", [20, 40], { prompts: "0: a lake" });
    const image = add("LoadImage", [20, 800], { image: uploaded.name });
    const motion = add("DeforumMotion2D", [520, 40], { zoom: "0:(1.05)", angle: "0:(2)" });
    const animate = add("DeforumAnimate", [1020, 40], {
        max_frames: frames, width: 64, height: 64, base_seed: 5, run_name: runName,
    });
    const mp4 = add("DeforumVideo", [1520, 40], { video_format: "mp4" });
    const gif = add("DeforumVideo", below(mp4), { video_format: "gif", filename: "preview" });
    link(image, "IMAGE", animate, "init_image");
    link(prompts, "prompts", animate, "prompts");
    link(motion, "motion", animate, "motion");
    link(animate, "run", mp4, "run");
    link(animate, "run", gif, "run");
    return {
        ids: { animate: animate.id, mp4: mp4.id, gif: gif.id },
        workflow: graph.serialize(),
    };
}"""
