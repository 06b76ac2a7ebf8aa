"""Schedule nodes: a keyframe string or a prompt schedule in, per-frame values out.

Deforum Prompts replaced Deforum Prompt Schedule, whose max_frames, s_value and fps fed only
its own summary; the old id stays, deprecated, for saved workflows."""

from __future__ import annotations

from typing import Any, ClassVar

from deforum_core.keyframes import INTERPOLATIONS, parse_schedule
from deforum_core.plot import plot_schedule
from deforum_core.prompts import PromptTexts
from deforum_core.render.budget import check_evaluation_cost
from deforum_core.summaries import prompt_summary, schedule_values

from .widgets import FPS, FRAME_COUNT, MAX_FRAMES, S_VALUE, Widget, queue_check, widgets

CATEGORY = "Deforum/schedules"


class DeforumSchedule:
    """A Deforum keyframe string evaluated for every frame, with a plot of the curve."""

    DESCRIPTION = (
        "Evaluates a Deforum keyframe schedule such as `0:(1.0), 30:(1.02)` for every frame. "
        "Numeric keys are interpolated, expression keys re-evaluated on each frame."
    )
    CATEGORY = CATEGORY
    SEARCH_ALIASES: ClassVar[list[str]] = [
        "keyframe",
        "schedule",
        "curve",
        "keyframe string",
        "expression",
        "plot",
    ]
    FUNCTION = "build"
    RETURN_TYPES = ("DEFORUM_SCHEDULE", "IMAGE")
    RETURN_NAMES = ("schedule", "plot")
    OUTPUT_TOOLTIPS = (
        "The parsed schedule, evaluated by later Deforum stages for their frame count.",
        "A plot of the value over the frames.",
    )

    @classmethod
    def INPUT_TYPES(cls):
        return {
            "required": {
                "schedule": (
                    "STRING",
                    {
                        "multiline": True,
                        "dynamicPrompts": False,
                        "deforum_schedule": True,  # the page's schedule editor shows it
                        "default": "0:(1.0025+0.002*sin(1.25*3.14*t/30))",
                        "tooltip": "Deforum keyframes `frame:(value)`, separated by commas. Values "
                        "may use t, max_f, s, fps, pi, e and math functions.",
                    },
                ),
                "max_frames": MAX_FRAMES,
                "interpolation": (
                    list(INTERPOLATIONS),
                    {
                        "default": "linear",
                        "tooltip": "How numeric keys are joined: linear (Deforum), step (hold "
                        "until the next key) or cubic (smooth, without overshoot).",
                    },
                ),
                "s_value": S_VALUE,
                "fps": FPS,
                "name": (
                    "STRING",
                    {
                        "default": "value",
                        "tooltip": "Name of the scheduled parameter, used in errors and the plot.",
                    },
                ),
            }
        }

    @queue_check
    def VALIDATE_INPUTS(cls, schedule=None, max_frames=None) -> None:
        """The text is parsed, and its math over max_frames frames kept within a render's
        budget (max_frames is then checked here: ComfyUI leaves declared inputs to the node)."""
        if not isinstance(schedule, str):
            return  # a linked input arrives at run time
        parsed = parse_schedule(schedule, name="schedule")
        if max_frames is not None:
            frames = FRAME_COUNT.check(max_frames)
            check_evaluation_cost({"schedule": parsed.cost(frames)}, frames)

    def build(self, schedule, max_frames, interpolation, s_value, fps, name):
        options = {"name": name, "interpolation": interpolation, "seed": s_value, "fps": fps}
        parsed, values = schedule_values(schedule, max_frames, **options)
        plot = plot_schedule(values, parsed.key_frames(max_frames, fps=fps), title=name)
        return {"ui": {"values": values}, "result": (parsed, plot.unsqueeze(0))}


# What a Deforum Prompts summary assumes, the node having no frame count, seed or fps of its
# own: Animate's defaults, which the page's summary route (nodes/routes.py) and the page itself
# (web/js) also fall back to when no Animate tells them the render's.
SUMMARY_FRAMES: int = FRAME_COUNT.default
SUMMARY_SEED: int = S_VALUE[1]["default"]
SUMMARY_FPS: float = FPS[1]["default"]


class DeforumPrompts:
    """Deforum's animation prompts keyed by frame, with global positive and negative text.
    It has no frame count, seed or fps: those are the rendering node's, so none can disagree."""

    DESCRIPTION = (
        'Prompts keyed by frame, as Deforum JSON ({"0": "a cat", "30": "a dog"}) or one '
        "`frame: prompt` per line. Text after --neg is the negative prompt; `math` in "
        "backticks is evaluated on every frame, with the frame count, seed and fps of the "
        "node it feeds (Deforum Animate, Deforum Img2Img)."
    )
    CATEGORY = CATEGORY
    SEARCH_ALIASES: ClassVar[list[str]] = [
        "prompt schedule",
        "keyframe",
        "prompts",
        "animation prompts",
        "negative",
    ]
    FUNCTION = "build"
    RETURN_TYPES = ("DEFORUM_PROMPTS",)
    RETURN_NAMES = ("prompts",)
    OUTPUT_TOOLTIPS = ("The prompt schedule, evaluated per frame by the Deforum loop.",)

    @classmethod
    def INPUT_TYPES(cls) -> dict[str, dict[str, Widget]]:
        texts = widgets(PromptTexts)
        return {
            "required": {
                "prompts": texts["prompts"],
                "positive": texts["positive"],
                "negative": texts["negative"],
            }
        }

    @queue_check
    def VALIDATE_INPUTS(cls, prompts=None, positive=None, negative=None) -> None:
        """The prompts and the global texts (their backtick math too), as far as they are
        constants; linked ones arrive at run time."""
        texts = {"prompts": prompts, "positive": positive, "negative": negative}
        PromptTexts(**{name: text for name, text in texts.items() if isinstance(text, str)}).parse()

    def build(self, prompts: str, positive: str, negative: str) -> dict[str, Any]:
        return prompts_output(prompts, positive, negative)


class DeforumPromptSchedule(DeforumPrompts):
    """The first release's prompt node, kept so that saved workflows load: Deforum Prompts
    with max_frames, s_value and fps, which shape only its summary (Animate renders with its
    own)."""

    DEPRECATED = True  # the newer frontend hides it from search and badges it
    DESCRIPTION = (
        "Replaced by Deforum Prompts, kept for saved workflows. Its max_frames, s_value and fps "
        "only shape the key prompts it shows: the render uses Deforum Animate's. "
        + DeforumPrompts.DESCRIPTION
    )

    @classmethod
    def INPUT_TYPES(cls) -> dict[str, dict[str, Widget]]:
        texts = super().INPUT_TYPES()["required"]
        return {  # the first release's order: saved workflows store widget values by position
            "required": {
                "prompts": texts["prompts"],
                "max_frames": MAX_FRAMES,
                "positive": texts["positive"],
                "negative": texts["negative"],
                "s_value": S_VALUE,
                "fps": FPS,
            }
        }

    def build(  # the old inputs, in their saved order
        self, prompts: str, max_frames: int, positive: str, negative: str, s_value: int,
        fps: float,
    ) -> dict[str, Any]:  # fmt: skip
        return prompts_output(prompts, positive, negative, max_frames=max_frames, seed=s_value,
                              fps=fps)  # fmt: skip


def prompts_output(
    prompts: str,
    positive: str,
    negative: str,
    *,
    max_frames: int = SUMMARY_FRAMES,
    seed: int = SUMMARY_SEED,
    fps: float = SUMMARY_FPS,
) -> dict[str, Any]:
    """What both prompt nodes return: the parsed schedule, and its key prompts over
    max_frames frames (the `prompts` the page's one-line summary counts)."""
    parsed = PromptTexts(prompts, positive, negative).parse()
    return {"ui": prompt_summary(parsed, max_frames, seed=seed, fps=fps), "result": (parsed,)}
