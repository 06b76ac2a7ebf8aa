"""The pack's workflows as ComfyUI templates, served by the real servers (March 2024 and late
2025).

The late-2025 ComfyUI (0.3.75) lists `<custom node>/workflows/*.json` at
/api/workflow_templates as {folder name: [file names]} and serves that folder under
/api/workflow_templates/<folder name>/; its template browser shows each file name as the
title and asks for `<name>.jpg` there as the thumbnail. The March-2024 ComfyUI has no
template browser for custom nodes: neither route exists.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from browser_session import comfy_page
from comfyui_harness import PACK_FOLDER_NAME, REPO_ROOT, ComfyServer
from PIL import Image

pytestmark = pytest.mark.comfyui

WORKFLOWS = sorted((REPO_ROOT / "workflows").glob("*.json"))
TEMPLATE_LIST = "/api/workflow_templates"
# The cards of the open template browser named in `names`: [alt text, loaded image width]
# (it shows each thumbnail from a blob: URL, its alt text the template's name).
_CARDS = """(names) => [...document.querySelectorAll("img")]
    .filter((img) => names.includes(img.alt))
    .map((img) => [img.alt, img.complete ? img.naturalWidth : 0])"""


def fetch(server: ComfyServer, path: str) -> tuple[int, str, bytes]:
    """(HTTP status, Content-Type, body) of a GET, error answers included."""
    try:
        with urllib.request.urlopen(server.base_url + path, timeout=30) as response:
            return response.status, response.headers.get_content_type(), response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers.get_content_type(), error.read()


def jpeg_width(workflow: Path) -> int:
    with Image.open(workflow.with_suffix(".jpg")) as image:
        return image.width


def serves_templates(server: ComfyServer) -> bool:
    return server.generation.name != "comfyui-2024"


def test_the_template_list_names_every_workflow(comfyui_server: ComfyServer) -> None:
    status, kind, body = fetch(comfyui_server, TEMPLATE_LIST)
    if not serves_templates(comfyui_server):
        assert status == 404  # no template browser for custom nodes in March 2024
        return
    assert (status, kind) == (200, "application/json")
    listed = json.loads(body)[PACK_FOLDER_NAME]
    assert sorted(listed) == [path.stem for path in WORKFLOWS]  # not the headless twins


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda path: path.stem)
def test_each_template_has_its_thumbnail(comfyui_server: ComfyServer, path: Path) -> None:
    """What the template browser fetches for a card and for opening it: the JPEG beside the
    workflow and the workflow itself, byte for byte."""
    base = f"{TEMPLATE_LIST}/{PACK_FOLDER_NAME}/{path.stem}"
    thumbnail = fetch(comfyui_server, f"{base}.jpg")
    if not serves_templates(comfyui_server):
        assert thumbnail[0] == 404
        return
    assert thumbnail == (200, "image/jpeg", path.with_suffix(".jpg").read_bytes())
    status, _, workflow = fetch(comfyui_server, f"{base}.json")
    assert (status, workflow) == (200, path.read_bytes())


@pytest.mark.browser
def test_the_template_browser_shows_each_card_with_its_picture(
    comfyui_server: ComfyServer, tmp_path: Path
) -> None:
    """A new user's view: Templates, then the pack under Extensions, shows one card per
    workflow with its thumbnail loaded, and nothing goes to the console."""
    if not serves_templates(comfyui_server):
        return  # the March-2024 page has no template browser (see the routes above)
    # a page tall enough for every card: the late-2025 browser draws only the cards in view
    with comfy_page(comfyui_server.base_url, tmp_path, generation=comfyui_server.generation.name,
                    timeout_ms=60_000, viewport=(1600, 1600)) as session:  # fmt: skip
        page = session.page
        page.evaluate("() => app.extensionManager.command.execute('Comfy.BrowseTemplates')")
        page.get_by_text(PACK_FOLDER_NAME, exact=True).first.click()
        names = [path.stem for path in WORKFLOWS]
        shown = f"(names) => ({_CARDS})(names).filter(([, width]) => width).length"
        page.wait_for_function(f"(names) => ({shown})(names) >= {len(names)}", arg=names,
                               timeout=30_000)  # fmt: skip
        assert sorted(page.evaluate(_CARDS, names)) == [[p.stem, jpeg_width(p)] for p in WORKFLOWS]
        page.screenshot(path=str(tmp_path / "template_browser.png"))
        ours = f"/workflow_templates/{PACK_FOLDER_NAME}/"
        thumbnails = {r.url.rsplit("/", 1)[-1]: (r.status, r.headers["content-type"])
                      for r in session.responses if ours in r.url}  # fmt: skip
        assert thumbnails == {f"{name}.jpg": (200, "image/jpeg") for name in names}
        for path in WORKFLOWS:  # titled by file name: 0.3.75 reads nothing else for them
            assert page.get_by_text(path.stem, exact=True).count() >= 1
        assert session.console_errors() == [] and session.page_errors == []


# Each entry of the open missing-model panel: [its text, the URL its Download button fetches].
_MISSING_MODELS = """() => [...document.querySelectorAll(".comfy-missing-models li")].map((row) => [
    row.querySelector("span[title]").textContent.trim(),
    [...row.querySelectorAll("button")].find((b) => b.textContent.includes("Download"))?.title,
])"""


@pytest.mark.browser
def test_the_missing_model_panel_offers_the_downloads_of_the_3d_workflow(
    comfyui_server: ComfyServer, tmp_path: Path
) -> None:
    """Opened on a server without the models, the 3D template offers both its checkpoint and
    its depth model for download, each into its own model folder."""
    if not serves_templates(comfyui_server):
        return  # the March-2024 page has no missing-model panel
    workflow = json.loads((REPO_ROOT / "workflows" / "deforum_3d.json").read_text("utf-8"))
    with comfy_page(comfyui_server.base_url, tmp_path, generation=comfyui_server.generation.name,
                    timeout_ms=60_000, viewport=(1600, 1000)) as session:  # fmt: skip
        page = session.page
        page.evaluate("(workflow) => window.app.loadGraphData(workflow)", workflow)
        page.wait_for_function(f"() => ({_MISSING_MODELS})().length >= 2", timeout=30_000)
        page.screenshot(path=str(tmp_path / "missing_models.png"))
        offered = page.evaluate(_MISSING_MODELS)
    hub = "https://huggingface.co"
    assert offered == [
        ["checkpoints / v1-5-pruned-emaonly.safetensors",
         f"{hub}/Comfy-Org/stable-diffusion-v1-5-archive/resolve/main/v1-5-pruned-emaonly.safetensors"],
        ["depth / depth_anything_v2_vits_fp32.safetensors",
         f"{hub}/Kijai/DepthAnythingV2-safetensors/resolve/main/depth_anything_v2_vits_fp32.safetensors"],
    ]  # fmt: skip
