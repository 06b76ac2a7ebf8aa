"""What an imported run starts from and ends with: the init image, the sampler, and the
video Deforum makes of the frames (fps, gif, soundtrack, run name)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from ..errors import DeforumError
from .context import ImportContext
from .reading import SettingsFileError
from .references import FileReference
from .report import IGNORED, MAPPED, TAKEN


@dataclass(frozen=True)
class OutputOptions:
    """What Deforum does with the frames once they are rendered."""

    fps: float
    make_video: bool
    make_gif: bool
    soundtrack: FileReference | None
    run_name: str


def import_init_image(context: ImportContext) -> FileReference | None:
    use_init = context.flag("use_init", False)
    path = context.get("init_image", None)
    text = path.strip() if isinstance(path, str) else ""
    if not use_init:
        if context.has("init_image"):
            context.note("init_image", IGNORED, "use_init is off")
        return None
    if not text or text.lower() == "none":
        context.note("init_image", IGNORED, "no init image named")
        return None
    context.note("init_image", TAKEN)
    return FileReference("init_image", text, "init image")


def import_output(context: ImportContext, fps: float) -> OutputOptions:
    soundtrack = None
    add = context.get("add_soundtrack", "None")
    if context.has("add_soundtrack"):
        context.note("add_soundtrack", TAKEN)
    if add == "File":
        soundtrack = FileReference("soundtrack_path", str(context.get("soundtrack_path", "")),
                                   "soundtrack")  # fmt: skip
        context.note("soundtrack_path", TAKEN)
    elif add == "Init Video":
        path = str(context.get("video_init_path", ""))
        soundtrack = FileReference("video_init_path", path, "soundtrack (the init video)")
        context.note("video_init_path", TAKEN, "the soundtrack (add_soundtrack Init Video)")
    elif context.has("soundtrack_path"):
        context.note("soundtrack_path", IGNORED, "add_soundtrack is None")
    name = context.get("batch_name", "deforum")
    run_name = plain_run_name(name)
    if context.has("batch_name"):
        detail = "" if run_name == name else f"{name!r} as the run name {run_name!r}"
        context.note("batch_name", MAPPED if detail else TAKEN, detail)
    return OutputOptions(
        fps=fps,
        make_video=not context.flag("skip_video_creation", False),
        make_gif=context.flag("make_gif", False),
        soundtrack=soundtrack,
        run_name=run_name,
    )


def plain_run_name(name: Any) -> str:
    """batch_name as a plain folder name: {timestring} and other placeholders dropped."""
    text = re.sub(r"\{[^}]*\}", "", str(name or ""))
    text = re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("._-")
    return text[:64] or "deforum"


def import_sampler(context: ImportContext) -> Any:
    """The sampler as ComfyUI and diffusers name it (a SamplerChoice)."""
    from ..diffusion.sampler_names import map_sampler

    keys = [key for key in ("sampler_name", "sampler") if context.has(key)]
    key = keys[0] if keys else "sampler"
    value = context.get(key, "euler_ancestral")
    scheduler = context.written.get("scheduler")
    try:
        choice = map_sampler(value, scheduler if isinstance(scheduler, str) else None)
    except DeforumError as error:
        raise SettingsFileError(error.reason, parameter=key, hint=error.hint) from None
    note = f" ({choice.note})" if choice.note else ""
    detail = (f"{value!r}: ComfyUI {choice.comfy_sampler} + {choice.comfy_scheduler}, "
              f"diffusers {choice.diffusers}{note}")  # fmt: skip
    context.note(key, MAPPED, detail)
    for other in keys[1:]:
        context.note(other, IGNORED, f"superseded by {key}")
    if isinstance(scheduler, str):
        context.note("scheduler", TAKEN, "read with the sampler")
    return choice


_DRAWN_SUBSEED = re.compile(r"\s*(?:0\s*:\s*\(\s*)?-1(?:\.0*)?\s*\)?\s*")
# the variation seed the pack uses for the webui's "draw one" (-1): one after the render seed
TIED_SUBSEED = "0:((s+1)%4294967296)"


def import_subseed(context: ImportContext) -> dict[str, Any]:
    """The webui draws a new variation seed when subseed is -1, so such a render never
    repeats; the import ties it to the render seed, which the run records."""
    keys = ("subseed_schedule", "subseed")
    found = [key for key in keys if context.has(key)] or [
        key for key in keys if key in context.defaults
    ]
    if not found or not _DRAWN_SUBSEED.fullmatch(str(context.get(found[0]))):
        return {}
    if context.has(found[0]):
        why = f"-1 (a new variation seed on every run) to {TIED_SUBSEED}: render seed + 1"
        context.note(found[0], MAPPED, why)
    return {"subseed_schedule": TIED_SUBSEED}


def import_sampler_schedule(context: ImportContext) -> dict[str, Any]:
    """The sampler schedule, when its switch left it on, with a webui 1.9+ file's
    `scheduler` key written into the names it changes (as webui reads them beside it)."""
    from ..diffusion.sampler_schedule import beside_scheduler_key, parse_sampler_schedule

    key = "sampler_schedule"
    if not context.has(key) and key not in context.defaults:
        return {}  # the switch is off (context.switch_schedules), or there is no schedule
    written = context.get(key)
    try:
        parsed = parse_sampler_schedule(written if isinstance(written, str) else "")
    except DeforumError as error:
        raise SettingsFileError(error.reason, parameter=key, hint=error.hint) from None
    scheduler = context.written.get("scheduler")
    text = written
    if isinstance(scheduler, str):
        text = beside_scheduler_key(parsed, scheduler, keep=False)
    if context.has(key):
        changed = text != written
        context.note(key, MAPPED if changed else TAKEN, f"read as {text}" if changed else "")
    else:
        context.default_note(key, text)
    return {key: text}
