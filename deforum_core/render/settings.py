"""The render-wide settings of a Deforum animation and their per-frame schedules."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from ..diffusion.backend import check_size
from ..errors import ScheduleError
from ..keyframes import parse_schedule
from ..seeds import SEED_BEHAVIORS, resolve_seed, seed_sequence

ANIMATION_MODES = ("None", "2D", "3D")


@dataclass(frozen=True)
class AnimationSettings:
    """What Deforum's run and keyframe tabs hold that is not a stage of its own."""

    animation_mode: str = "2D"
    max_frames: int = 120
    width: int = 512
    height: int = 512
    fps: float = 15.0
    seed: int = -1
    seed_behavior: str = "iter"
    seed_iter_n: int = 1
    seed_schedule: str = "0:(s)"
    strength_schedule: str = "0:(0.65)"
    steps_schedule: str = "0:(25)"
    cfg_schedule: str = "0:(7)"
    diffusion_cadence: int = 1
    init_strength: float = 0.0

    def __post_init__(self) -> None:
        if self.animation_mode not in ANIMATION_MODES:
            raise ScheduleError(
                f"unknown animation mode {self.animation_mode!r}",
                parameter="animation_mode",
                hint=f"use one of {', '.join(ANIMATION_MODES)}",
            )
        if self.seed_behavior not in SEED_BEHAVIORS:
            raise ScheduleError(
                f"unknown seed behaviour {self.seed_behavior!r}",
                parameter="seed_behavior",
                hint=f"use one of {', '.join(SEED_BEHAVIORS)}",
            )
        if self.max_frames < 1:
            raise ScheduleError("max_frames must be at least 1", parameter="max_frames")
        if self.diffusion_cadence < 1:
            raise ScheduleError(
                "diffusion_cadence must be at least 1", parameter="diffusion_cadence"
            )
        check_size(self.width, self.height)
        for name in ("seed_schedule", "strength_schedule", "steps_schedule", "cfg_schedule"):
            parse_schedule(getattr(self, name), name=name)

    @property
    def cadence(self) -> int:
        """Cadence in force: mode None renders every frame on its own."""
        return 1 if self.animation_mode == "None" else self.diffusion_cadence

    def with_resolved_seed(self) -> AnimationSettings:
        """These settings with seed -1 replaced by the drawn seed, to be recorded."""
        return AnimationSettings(**{**asdict(self), "seed": resolve_seed(self.seed)})

    def as_dict(self) -> dict:
        return asdict(self)

    def diffused_frames(self) -> list[int]:
        """The frames that are diffused: 0, c, 2c, ... below max_frames."""
        return list(range(0, self.max_frames, self.cadence))


@dataclass(frozen=True)
class FrameSchedules:
    """The per-frame values of the render-wide schedules, evaluated once per render."""

    strength: list[float]
    steps: list[int]
    cfg: list[float]
    seeds: dict[int, int]  # seed of each diffused frame, by frame index

    @classmethod
    def evaluate(cls, settings: AnimationSettings) -> FrameSchedules:
        if settings.seed < 0:
            raise ScheduleError("resolve the seed before evaluating", parameter="seed")

        def values(name: str) -> list[float]:
            schedule = parse_schedule(getattr(settings, name), name=name)
            return schedule.evaluate(settings.max_frames, seed=settings.seed, fps=settings.fps)

        diffused = settings.diffused_frames()
        seed_values = values("seed_schedule")
        seeds = seed_sequence(
            settings.seed_behavior,
            settings.seed,
            len(diffused),
            iter_n=settings.seed_iter_n,
            schedule=[seed_values[frame] for frame in diffused],
        )
        strength = values("strength_schedule")
        steps = [round(value) for value in values("steps_schedule")]
        _check_range("strength_schedule", strength, 0.0, 1.0, "1 keeps the frame, 0 ignores it")
        _check_range("steps_schedule", steps, 1, 10_000, "use 1 or more steps")
        return cls(strength, steps, values("cfg_schedule"), dict(zip(diffused, seeds, strict=True)))


def _check_range(name: str, values: list, low: float, high: float, hint: str) -> None:
    for frame, value in enumerate(values):
        if not low <= value <= high:
            raise ScheduleError(
                f"{value:g} is outside {low:g}..{high:g}", parameter=name, frame=frame, hint=hint
            )
