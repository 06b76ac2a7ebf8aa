"""Seed behaviours, compared with a step-by-step model of Deforum's next_seed."""

import pytest

from deforum_core import ScheduleError, resolve_seed, seed_sequence


def deforum_next_seed_model(behavior: str, seed: int, count: int, iter_n: int = 1) -> list[int]:
    """Deforum's stateful next_seed, called once after each diffused frame."""
    seeds, internal = [seed], 0
    for _ in range(count - 1):
        if behavior == "iter":
            seed += 1 if internal % iter_n == 0 else 0
            internal += 1
        elif behavior == "ladder":
            seed += 2 if internal == 0 else -1
            internal = 1 if internal == 0 else 0
        elif behavior == "alternate":
            seed += 1 if internal == 0 else -1
            internal = 1 if internal == 0 else 0
        seeds.append(seed)
    return seeds


@pytest.mark.parametrize("behavior", ["iter", "fixed", "ladder", "alternate"])
@pytest.mark.parametrize("iter_n", [1, 2, 3, 7])
def test_deterministic_behaviours_match_deforum(behavior, iter_n):
    assert seed_sequence(behavior, 1000, 40, iter_n=iter_n) == deforum_next_seed_model(
        behavior, 1000, 40, iter_n
    )


def test_known_sequences():
    assert seed_sequence("iter", 10, 5) == [10, 11, 12, 13, 14]
    assert seed_sequence("iter", 10, 6, iter_n=2) == [10, 11, 11, 12, 12, 13]
    assert seed_sequence("ladder", 10, 6) == [10, 12, 11, 13, 12, 14]
    assert seed_sequence("alternate", 10, 4) == [10, 11, 10, 11]
    assert seed_sequence("fixed", 10, 3) == [10, 10, 10]


def test_random_is_repeatable_from_the_base_seed_and_a_prefix_of_longer_runs():
    first = seed_sequence("random", 42, 20)
    assert first == seed_sequence("random", 42, 20)
    assert first[:5] == seed_sequence("random", 42, 5)
    assert first[0] == 42
    assert len(set(first)) == 20
    assert first != seed_sequence("random", 43, 20)
    assert all(0 <= seed < 2**32 for seed in first)


def test_schedule_behaviour_uses_the_value_per_frame_and_minus_one_for_random():
    seeds = seed_sequence("schedule", 5, 4, schedule=[5.0, 9.7, -1.0, 3.0])
    assert seeds[0] == 5 and seeds[1] == 9 and seeds[3] == 3
    assert seeds[2] == seed_sequence("random", 5, 4)[2]


def test_seeds_wrap_into_32_bits():
    assert seed_sequence("iter", 2**32 - 1, 3) == [2**32 - 1, 0, 1]


def test_minus_one_draws_a_base_seed_that_must_be_recorded():
    drawn = {resolve_seed(-1) for _ in range(5)}
    assert all(0 <= seed < 2**32 for seed in drawn) and len(drawn) > 1
    assert resolve_seed(123) == 123
    with pytest.raises(ScheduleError, match="resolve_seed"):
        seed_sequence("iter", -1, 3)


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"behavior": "sometimes"}, "unknown seed behaviour 'sometimes'"),
        ({"iter_n": 0}, "seed_iter_N must be a whole number of at least 1"),
        ({"behavior": "schedule"}, "needs a seed schedule value for every frame"),
        ({"behavior": "schedule", "schedule": [1, -5, 1]}, "seed -5 is negative"),
    ],
)
def test_seed_errors(arguments, message):
    options = {"behavior": "iter", "seed": 1, "count": 3, **arguments}
    with pytest.raises(ScheduleError, match=message):
        seed_sequence(**options)


def test_negative_base_seed_other_than_minus_one_is_refused():
    with pytest.raises(ScheduleError, match="seed must be -1"):
        resolve_seed(-2)
