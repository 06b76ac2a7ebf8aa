"""Prompts from a settings file: animation prompts by frame, or stills prompts as a list.

sd-webui-deforum saves the animation prompts as `prompts` (older saves and run.py files as
`animation_prompts`); run.py's `prompts` list and the notebook's are stills, rendered
`n_batch` times each in mode None, which the import keys one prompt every n_batch frames.
The notebook's still runs save the list inverted, {prompt text: "00000"}.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from ..errors import DeforumError
from ..prompts import PromptTexts
from .context import ImportContext
from .reading import WEBUI, SettingsFileError
from .report import IGNORED, MAPPED, TAKEN
from .values import to_int

_NUMERIC_TEXT = re.compile(r"^\s*\d+\s*$")


@dataclass(frozen=True)
class ImportedPrompts:
    texts: PromptTexts
    stills: int | None  # mode None: the number of stills (prompts x n_batch)


def import_prompts(context: ImportContext, mode: str) -> ImportedPrompts:
    animation = context.written.get("animation_prompts")
    listed = context.written.get("prompts")
    stills = None
    if mode == "None" and context.dialect != WEBUI:
        prompts, stills = _stills(context, listed if listed is not None else animation)
        if listed is not None and animation is not None:
            context.note("animation_prompts", IGNORED, "mode None renders the prompts list")
    elif animation is not None:
        prompts = _by_frame(context, "animation_prompts", animation)
        if listed is not None:
            why = (
                "run.py renders the prompts list for stills only"
                if isinstance(listed, list)
                else "superseded by animation_prompts"
            )
            context.note("prompts", IGNORED, why)
    elif listed is not None:
        prompts = _by_frame(context, "prompts", listed)
    else:
        prompts = _default_prompts(context)
    fields = context.table(PromptTexts, {"prompts": prompts})
    try:
        texts = PromptTexts(**fields)
        texts.parse()
    except DeforumError as error:
        raise SettingsFileError(error.reason, parameter="prompts", hint=error.hint) from None
    return ImportedPrompts(texts, stills)


def _default_prompts(context: ImportContext) -> str:
    key = "animation_prompts" if "animation_prompts" in context.defaults else "prompts"
    fallback = context.defaults.get(key)
    if isinstance(fallback, dict):
        context.default_note(key, fallback)
        return _json(fallback)
    context.default_note("prompts", PromptTexts.prompts)
    return PromptTexts.prompts


def _by_frame(context: ImportContext, key: str, value: Any) -> str:
    if isinstance(value, list):
        value = dict(enumerate(value))
        context.note(key, MAPPED, "a list: one prompt per frame from 0")
    elif not isinstance(value, dict):
        raise SettingsFileError(
            f"{key} is {type(value).__name__}, not prompts by frame", parameter=key,
            hint='write {"0": "a prompt", "30": "another"}',
        )  # fmt: skip
    elif _is_inverted(value):
        value = _uninverted(value)
        context.note(key, MAPPED, "the notebook's inverted dict {prompt: index}, read by index")
    else:
        context.note(key, TAKEN, f"{len(value)} prompt(s) keyed by frame")
    for frame, prompt in value.items():
        if not isinstance(prompt, str):
            raise SettingsFileError(
                f"the prompt for frame {frame!r} is {type(prompt).__name__}, not text",
                parameter=key,
            )
    return _json(value)


def _stills(context: ImportContext, value: Any) -> tuple[str, int]:
    """Mode None: Deforum renders n_batch images of each prompt, one after another."""
    if isinstance(value, dict):
        texts = list((_uninverted(value) if _is_inverted(value) else value).values())
    elif isinstance(value, list):
        texts = value
    else:
        fallback = context.defaults.get("prompts")
        texts = fallback if isinstance(fallback, list) else [PromptTexts.prompts]
        context.default_note("prompts", texts)
    texts = [text for text in texts if isinstance(text, str)] or [""]
    batch = max(1, to_int(context.get("n_batch", 1), "n_batch")[0])
    if context.has("n_batch"):
        context.note("n_batch", MAPPED, f"{batch} still(s) of each prompt")
    key = "prompts" if context.has("prompts") else "animation_prompts"
    if context.has(key):
        context.note(key, MAPPED, f"{len(texts)} stills prompt(s), each for {batch} frame(s)")
    return _json({index * batch: text for index, text in enumerate(texts)}), batch * len(texts)


def _json(prompts: dict[Any, str]) -> str:
    return json.dumps({str(k): v for k, v in prompts.items()}, ensure_ascii=False, indent=2)


def _is_inverted(prompts: dict[Any, Any]) -> bool:
    """The notebook's still runs save {prompt text: "00000"}."""
    values = list(prompts.values())
    numbered = all(isinstance(value, str) and _NUMERIC_TEXT.match(value) for value in values)
    return bool(values) and numbered and not all(_NUMERIC_TEXT.match(str(k)) for k in prompts)


def _uninverted(prompts: dict[str, str]) -> dict[int, str]:
    ordered = sorted(prompts.items(), key=lambda item: int(item[1]))
    return {index: text for index, (text, _) in enumerate(ordered)}
