"""The render-wide settings of a Deforum animation (the Animate node's widgets) and their
values on every frame."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

from ..diffusion.backend import check_size
from ..diffusion.sampler_names import SamplerChoice
from ..diffusion.sampler_schedule import parse_sampler_schedule
from ..keyframes import Schedule
from ..modes import MODE_NAMES, AnimationMode, get_mode
from ..params import ParameterTable, choice, frame_values, integer, number, schedule, text
from ..seeds import SEED_BEHAVIORS, SEED_MODULUS, resolve_seed, seed_sequence

MAX_FRAMES_LIMIT = 100_000


@dataclass(frozen=True)
class AnimationSettings(ParameterTable):
    """What Deforum's run and keyframe tabs hold that is not a stage of its own, in the
    Deforum Animate node's widget order."""

    animation_mode: str = choice(
        "2D",
        MODE_NAMES,
        "2D camera motion, 3D camera motion through depth, None: separate stills, Video "
        "Input: each frame restyles a frame of the video linked to Animate's video input, or "
        "Interpolation: a morph between the prompts (see Deforum Interpolation).",
        deforum_key="animation_mode",
    )
    max_frames: int = integer(
        120,
        "Number of frames in the animation (Video Input: the video's; Interpolation: the "
        "prompts'); max_f in expressions is max_frames - 1.",
        low=1,
        high=MAX_FRAMES_LIMIT,
        deforum_key="max_frames",
    )
    width: int = integer(
        512, "Frame width in pixels (a multiple of 8).", low=64, high=8192, step=8,
        deforum_key="W", aliases=("width",),
    )  # fmt: skip
    height: int = integer(
        512, "Frame height in pixels (a multiple of 8).", low=64, high=8192, step=8,
        deforum_key="H", aliases=("height",),
    )  # fmt: skip
    fps: float = number(
        15.0, "Frames per second; `fps` in expressions.", low=0.01, high=1000.0, step=0.01,
        deforum_key="fps",
    )  # fmt: skip
    base_seed: int = integer(
        -1,
        "Seed of the first frame; -1 draws one, which is recorded in the run's settings.json.",
        low=-1,
        high=SEED_MODULUS - 1,
        deforum_key="seed",
    )
    seed_behavior: str = choice(
        "iter",
        SEED_BEHAVIORS,
        "How the seed changes between frames.",
        deforum_key="seed_behavior",
    )
    seed_iter_N: int = integer(  # Deforum's own name
        1, "iter: +1 every N frames.", low=1, high=10_000, deforum_key="seed_iter_N"
    )
    seed_schedule: Schedule = schedule(
        "0:(s)", "Seed per frame for seed_behavior schedule.", deforum_key="seed_schedule"
    )
    strength_schedule: Schedule = schedule(
        "0:(0.65)",
        "How much of the previous frame survives (1 = all, 0 = none).",
        low=0.0,
        high=1.0,
        hint="1 keeps the frame, 0 ignores it",
        deforum_key="strength_schedule",
    )
    steps_schedule: Schedule = schedule(
        "0:(25)", "Sampler steps per frame.", low=1, high=10_000, whole=True,
        hint="use 1 or more steps", deforum_key="steps_schedule", aliases=("steps",),
    )  # fmt: skip
    cfg_schedule: Schedule = schedule(
        "0:(7)", "Classifier-free guidance per frame.", low=0.0, high=100.0,
        hint="Stable Diffusion works with about 1 to 30; higher values burn the picture",
        deforum_key="cfg_scale_schedule", aliases=("scale",),
    )  # fmt: skip
    diffusion_cadence: int = integer(
        1,
        "Diffuse every Nth frame; the frames between are warped and blended.",
        low=1,
        high=50,
        deforum_key="diffusion_cadence",
    )
    init_strength: float = number(
        0.65,
        "How much of the init image survives in frame 0.",
        low=0.0,
        high=1.0,
        step=0.01,
        deforum_key="strength",
    )

    noise_multiplier_schedule: Schedule = schedule(
        "0:(1.0)",
        "Scale of the sampler's starting noise on img2img frames (sd-webui-deforum's noise "
        "multiplier, 1.05 there by default); 1 leaves it as is.",
        low=0.0, high=10.0, hint="1 leaves the noise as is; Deforum uses about 0.9 to 1.1",
        deforum_key="noise_multiplier_schedule", appended=True,
    )  # fmt: skip
    subseed_schedule: Schedule = schedule(
        "0:(1)", "Variation seed per frame, mixed in by subseed_strength_schedule.",
        low=0, high=SEED_MODULUS - 1, whole=True, deforum_key="subseed_schedule",
        aliases=("subseed",), appended=True,
    )  # fmt: skip
    subseed_strength_schedule: Schedule = schedule(
        "0:(0)",
        "How far each frame's noise turns toward the variation seed's (0: not at all, 1: all).",
        low=0.0, high=1.0, deforum_key="subseed_strength_schedule",
        aliases=("subseed_strength",), appended=True,
    )  # fmt: skip
    clipskip_schedule: Schedule = schedule(
        "0:(1)", "CLIP skip per frame: 1 uses the text encoder's last layer, 2 the one before.",
        low=1, high=24, whole=True, hint="use 1 (the last layer) to 12",
        deforum_key="clipskip_schedule", appended=True,
    )  # fmt: skip
    sampler_schedule: str = text(
        "", 'Sampler per frame, held from each keyframe to the next: 0: ("Euler a"), '
        '30: ("DPM++ 2M Karras") (webui, k-diffusion or ComfyUI names). Empty: the '
        "diffuser's own sampler on every frame.",
        deforum_key="sampler_schedule", appended=True,
    )  # fmt: skip

    def __post_init__(self) -> None:
        super().__post_init__()
        check_size(self.width, self.height)
        parse_sampler_schedule(self.sampler_schedule)

    @property
    def mode(self) -> AnimationMode:
        return get_mode(self.animation_mode)

    @property
    def cadence(self) -> int:
        """The cadence in force: the mode's rule applied to diffusion_cadence."""
        return self.mode.cadence(self.diffusion_cadence)

    def with_resolved_seed(self) -> AnimationSettings:
        """These settings with seed -1 replaced by the drawn seed, to be recorded."""
        return replace(self, base_seed=resolve_seed(self.base_seed))

    def diffused_frames(self) -> list[int]:
        """The frames that are diffused: 0, c, 2c, ... below max_frames."""
        return list(range(0, self.max_frames, self.cadence))


@dataclass(frozen=True)
class FrameSettings:
    """One frame's values of the render-wide schedules."""

    seed: float  # the seed schedule's value (used by seed_behavior schedule)
    strength: float
    steps: int
    cfg: float
    noise_multiplier: float
    subseed: int
    subseed_strength: float
    clipskip: int


@dataclass(frozen=True)
class RenderValues:
    """Every frame's values of the render-wide schedules, and each diffused frame's seed
    and sampler (None: the diffuser's own), evaluated once per render."""

    frames: list[FrameSettings]
    seeds: dict[int, int]
    samplers: dict[int, SamplerChoice | None]

    @classmethod
    def evaluate(
        cls, settings: AnimationSettings, check_cancel: Callable[[], None] | None = None
    ) -> RenderValues:
        """For settings whose seed is resolved (see with_resolved_seed)."""
        frames = frame_values(settings, FrameSettings, settings.max_frames,
                              seed=settings.base_seed, fps=settings.fps,
                              check_cancel=check_cancel)  # fmt: skip
        diffused = settings.diffused_frames()
        seeds = seed_sequence(
            settings.seed_behavior,
            settings.base_seed,
            len(diffused),
            iter_n=settings.seed_iter_N,
            schedule=[frames[frame].seed for frame in diffused],
        )
        samplers = parse_sampler_schedule(settings.sampler_schedule)
        return cls(
            frames,
            dict(zip(diffused, seeds, strict=True)),
            {frame: samplers.at(frame) for frame in diffused},
        )
