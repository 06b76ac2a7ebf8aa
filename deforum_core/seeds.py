"""Deforum's seed behaviours: which seed each diffused frame uses.

The sequences match Deforum's `next_seed` for iter (with seed_iter_N), fixed, ladder and
alternate. Deforum's `random` is not repeatable; here it is drawn from a generator seeded
with the base seed, so a render can be repeated exactly. Seeds wrap into 0..2**32-1.
"""

from __future__ import annotations

import random
import secrets
from collections.abc import Sequence

from .errors import ScheduleError

SEED_BEHAVIORS = ("iter", "fixed", "random", "ladder", "alternate", "schedule")
SEED_MODULUS = 2**32
RANDOM_SEED = -1


def resolve_seed(seed: int) -> int:
    """The base seed of a render: -1 draws a fresh one, which the caller must record."""
    if seed == RANDOM_SEED:
        return secrets.randbelow(SEED_MODULUS)
    if not isinstance(seed, int) or seed < 0:
        raise ScheduleError(
            f"seed must be -1 (random) or a whole number from 0, got {seed!r}", parameter="seed"
        )
    return seed % SEED_MODULUS


def seed_sequence(
    behavior: str,
    seed: int,
    count: int,
    *,
    iter_n: int = 1,
    schedule: Sequence[float] | None = None,
) -> list[int]:
    """Seeds of the first `count` diffused frames of a render whose base seed is `seed`.

    For the schedule behaviour, `schedule` holds one value per frame (a seed schedule
    evaluated with s = seed); a value of -1 draws a repeatable random seed for that frame.
    """
    if behavior not in SEED_BEHAVIORS:
        raise ScheduleError(
            f"unknown seed behaviour {behavior!r}",
            parameter="seed_behavior",
            hint=f"use one of {', '.join(SEED_BEHAVIORS)}",
        )
    if not isinstance(iter_n, int) or iter_n < 1:
        raise ScheduleError(
            f"seed_iter_N must be a whole number of at least 1, got {iter_n!r}",
            parameter="seed_iter_N",
        )
    if seed == RANDOM_SEED:
        raise ScheduleError(
            "seed -1 must be resolved once per render with resolve_seed(), so it can be recorded",
            parameter="seed",
        )
    base = resolve_seed(seed)
    draws = random.Random(base)
    randoms = [draws.getrandbits(32) for _ in range(count)]
    if behavior == "schedule":
        return _scheduled(schedule, count, randoms)
    if behavior == "random":
        return [base if index == 0 else randoms[index] for index in range(count)]
    offset = _OFFSETS[behavior]
    return [(base + offset(index, iter_n)) % SEED_MODULUS for index in range(count)]


# Offset from the base seed of the index-th diffused frame, in closed form.
_OFFSETS = {
    "fixed": lambda index, iter_n: 0,
    "iter": lambda index, iter_n: 0 if index == 0 else (index - 1) // iter_n + 1,
    "ladder": lambda index, iter_n: index // 2 + 2 * (index % 2),
    "alternate": lambda index, iter_n: index % 2,
}


def _scheduled(schedule: Sequence[float] | None, count: int, randoms: list[int]) -> list[int]:
    if schedule is None or len(schedule) < count:
        raise ScheduleError(
            "the schedule seed behaviour needs a seed schedule value for every frame",
            parameter="seed_schedule",
            hint="connect a seed schedule such as 0:(s), 30:(s+1)",
        )
    seeds = []
    for index in range(count):
        value = int(schedule[index])
        if value == RANDOM_SEED:
            seeds.append(randoms[index])
        elif value < 0:
            raise ScheduleError(
                f"seed {value} is negative",
                parameter="seed_schedule",
                frame=index,
                hint="use -1 for a random seed or a value from 0",
            )
        else:
            seeds.append(value % SEED_MODULUS)
    return seeds
