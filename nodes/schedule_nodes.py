"""Schedule nodes: a keyframe string or a prompt schedule in, per-frame values out."""

from __future__ import annotations

from deforum_core.keyframes import INTERPOLATIONS, parse_schedule
from deforum_core.plot import plot_schedule
from deforum_core.prompts import PromptTexts
from deforum_core.render.budget import check_evaluation_cost
from deforum_core.summaries import prompt_summary, schedule_values

from .widgets import FPS, FRAME_COUNT, MAX_FRAMES, S_VALUE, queue_check, widgets

CATEGORY = "Deforum/schedules"


class DeforumSchedule:
    """A Deforum keyframe string evaluated for every frame, with a plot of the curve."""

    DESCRIPTION = (
        "Evaluates a Deforum keyframe schedule such as `0:(1.0), 30:(1.02)` for every frame. "
        "Numeric keys are interpolated, expression keys re-evaluated on each frame."
    )
    CATEGORY = CATEGORY
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


class DeforumPromptSchedule:
    """Deforum's animation prompts keyed by frame, with global positive and negative text."""

    DESCRIPTION = (
        'Prompts keyed by frame, as Deforum JSON ({"0": "a cat", "30": "a dog"}) or one '
        "`frame: prompt` per line. Text after --neg is the negative prompt; `math` in "
        "backticks is evaluated on every frame."
    )
    CATEGORY = CATEGORY
    FUNCTION = "build"
    RETURN_TYPES = ("DEFORUM_PROMPTS",)
    RETURN_NAMES = ("prompts",)
    OUTPUT_TOOLTIPS = ("The prompt schedule, evaluated per frame by the Deforum loop.",)

    @classmethod
    def INPUT_TYPES(cls):
        texts = widgets(PromptTexts)
        return {
            "required": {
                "prompts": texts["prompts"],
                "max_frames": MAX_FRAMES,
                "positive": texts["positive"],
                "negative": texts["negative"],
                "s_value": S_VALUE,
                "fps": FPS,
            }
        }

    @queue_check
    def VALIDATE_INPUTS(cls, prompts=None, positive=None, negative=None) -> None:
        """The prompts and the global texts (their backtick math too), as far as they are
        constants; linked ones arrive at run time."""
        texts = {"prompts": prompts, "positive": positive, "negative": negative}
        PromptTexts(**{name: text for name, text in texts.items() if isinstance(text, str)}).parse()

    def build(self, prompts, max_frames, positive, negative, s_value, fps):
        parsed = PromptTexts(prompts, positive, negative).parse()
        summary = prompt_summary(parsed, max_frames, seed=s_value, fps=fps)
        return {"ui": summary, "result": (parsed,)}
