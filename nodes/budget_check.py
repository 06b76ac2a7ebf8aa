"""A render's schedule math, added up when it is queued.

The loop refuses a render whose schedule and prompt math exceeds MAX_EVALUATION_COST before
frame 0 (deforum_core/render/budget.py), but only Deforum Animate has a frame count: Motion,
Enhance, Noise and Prompts nodes cannot cost their own texts, so a 64 KB prompt schedule over
100,000 frames was queued and failed only when the render started. The prompt check
(prompt_check.py) therefore adds up, for every Deforum Animate whose frame count is a
constant, what render_costs adds up: Animate's schedules and those of the stage nodes linked
to it over every frame, and the prompts over the diffused frames, from the texts the prompt
holds as constants (linked texts and a settings file's are costed by the loop).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from deforum_core.errors import DeforumError
from deforum_core.keyframes import parse_schedule
from deforum_core.prompts import PromptTexts
from deforum_core.render import AnimationSettings
from deforum_core.render.budget import check_evaluation_cost

from .animation_nodes import DeforumAnimate

FRAME_INPUTS = ("max_frames", "animation_mode", "diffusion_cadence")  # what the frames depend on
PROMPT_TEXTS = ("prompts", "positive", "negative")


def budget_refusals(
    prompt: Mapping[str, Any],
    classes: Mapping[str, type],
    constants: Mapping[str, Mapping[str, Any]],
) -> Iterator[tuple[str, DeforumError]]:
    """For each Deforum Animate among the checked nodes (`constants`: their inputs, as
    ComfyUI converts them) whose math would be refused by the loop: the id of the node
    holding the costliest text, and the loop's refusal naming that text."""
    for node_id, values in constants.items():
        if not issubclass(classes[prompt[node_id]["class_type"]], DeforumAnimate):
            continue
        if not isinstance(values.get("max_frames"), int) or "settings" in values:
            continue  # a linked frame count or a settings file's is costed by the loop
        try:
            costs, owners = queued_costs(prompt, classes, constants, node_id)
        except Exception:  # a text its node's check let through: the loop reports it
            continue
        try:
            check_evaluation_cost(costs, values["max_frames"])
        except DeforumError as error:
            yield owners[error.parameter], error


def queued_costs(
    prompt: Mapping[str, Any],
    classes: Mapping[str, type],
    constants: Mapping[str, Mapping[str, Any]],
    animate_id: str,
) -> tuple[dict[str, int], dict[str, str]]:
    """The costs budget.render_costs adds up, by input name, for the constant texts of an
    Animate and the nodes linked to it; and the id of the node each input belongs to."""
    animate = constants[animate_id]
    given = {name: animate[name] for name in FRAME_INPUTS if _constant(animate, name)}
    render = AnimationSettings(**given)  # the engine's rule of which frames are diffused
    if render.mode.frames_follow_source:
        return {}, {}  # the frame count is the video's: the loop costs the render
    prompts = animate.get("prompts")
    linked = {str(value[0]) for value in animate.values() if isinstance(value, list)}
    costs: dict[str, int] = {}
    owners: dict[str, str] = {}
    for node_id in [animate_id, *sorted(linked & set(constants))]:
        texts = constants[node_id]
        if isinstance(prompts, list) and node_id == str(prompts[0]):
            found = prompt_cost(texts, len(render.diffused_frames()))
        else:
            found = text_costs(classes[prompt[node_id]["class_type"]], texts, render.max_frames)
        costs.update(found)
        owners.update(dict.fromkeys(found, node_id))
    return costs, owners


def text_costs(node_class: type, values: Mapping[str, Any], frames: int) -> dict[str, int]:
    """The cost over `frames` frames of each keyframe schedule a node holds as text (its
    schedule widgets carry the `deforum_schedule` mark)."""
    sections = node_class.INPUT_TYPES()
    return {
        name: parse_schedule(values[name], name=name).cost(frames)
        for section in ("required", "optional")
        for name, (_kind, *options) in sections.get(section, {}).items()
        if options and options[0].get("deforum_schedule") and isinstance(values.get(name), str)
    }


def prompt_cost(values: Mapping[str, Any], diffused: int) -> dict[str, int]:
    """The cost of a prompts node's constant texts over the diffused frames."""
    texts = {name: values[name] for name in PROMPT_TEXTS if isinstance(values.get(name), str)}
    if "prompts" not in texts:
        return {}
    return {"prompts": PromptTexts(**texts).parse().cost(diffused)}


def _constant(values: Mapping[str, Any], name: str) -> bool:
    return name in values and not isinstance(values[name], list)
