"""Property-based tests: any text is either a schedule or a ScheduleError, and numeric
schedules are exactly piecewise linear through their keys."""

import itertools
import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from deforum_core import ScheduleError, evaluate_schedule, parse_prompt_schedule

SCHEDULE_ALPHABET = st.sampled_from(
    list("0123456789.,:()+-*/%<>=!&|^ \n\t'\"`etsmaxfpinqrtwhe_[]{}")
)
schedule_like = st.text(SCHEDULE_ALPHABET, max_size=80)
prompt_like = st.text(st.sampled_from(list('{}":,0123456789 abc-neg`t*+()\n\\')), max_size=80)
fast = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def check_schedule_text(text: str, frames: int) -> None:
    try:
        values = evaluate_schedule(text, frames)
    except ScheduleError as error:
        assert str(error)  # the message renders
        return
    assert len(values) == frames
    assert all(isinstance(value, float) and math.isfinite(value) for value in values)


@fast
@given(st.text(max_size=60), st.integers(1, 40))
def test_any_unicode_text_is_a_schedule_or_a_schedule_error(text, frames):
    check_schedule_text(text, frames)


@fast
@given(schedule_like, st.integers(1, 40))
def test_schedule_like_text_is_a_schedule_or_a_schedule_error(text, frames):
    check_schedule_text(text, frames)


@fast
@given(
    st.lists(st.tuples(st.integers(-5, 50), schedule_like), min_size=1, max_size=4),
    st.integers(1, 40),
)
def test_keyed_expressions_are_a_schedule_or_a_schedule_error(pairs, frames):
    check_schedule_text(", ".join(f"{key}:({value})" for key, value in pairs), frames)


@fast
@given(st.one_of(prompt_like, st.text(max_size=60)), st.integers(1, 20))
def test_any_prompt_text_is_a_prompt_schedule_or_a_schedule_error(text, frames):
    try:
        prompts = parse_prompt_schedule(text).evaluate(frames)
    except ScheduleError as error:
        assert str(error)
        return
    assert [prompt.frame for prompt in prompts] == list(range(frames))


numeric_keys = st.dictionaries(
    st.integers(0, 150),
    st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False).map(lambda v: round(v, 6)),
    min_size=1,
    max_size=8,
)


def format_key(frame: int, value: float, style: int) -> str:
    """Write a key the ways Deforum users do: spaced, quoted, with or without parentheses."""
    return [
        f"{frame}:({value!r})",
        f" {frame} : ( {value!r} ) ",
        f'"{frame}":({value!r})',
        f"{frame}:{value!r}",
        f"\n{frame}:\n({value!r})\n",
    ][style % 5]


@fast
@given(numeric_keys, st.integers(1, 120), st.randoms(use_true_random=False))
def test_numeric_schedules_are_piecewise_linear_through_their_keys(keys, frames, rng):
    text = ",".join(format_key(frame, value, rng.randrange(5)) for frame, value in keys.items())
    values = np.array(evaluate_schedule(text, frames))
    key_frames = sorted(keys)
    key_values = [keys[frame] for frame in key_frames]
    # np.interp joins the keys with straight lines and holds the end values: Deforum's rule
    expected = np.interp(np.arange(frames), key_frames, key_values)
    scale = max(1.0, *(abs(value) for value in key_values))
    assert np.allclose(values, expected, rtol=0, atol=1e-9 * scale)
    for frame in key_frames:
        if frame < frames:
            assert values[frame] == keys[frame]


@fast
@given(numeric_keys, st.integers(1, 120))
def test_step_schedules_hold_the_last_key(keys, frames):
    text = ", ".join(f"{frame}:({value!r})" for frame, value in keys.items())
    values = evaluate_schedule(text, frames, interpolation="step")
    key_frames = sorted(keys)
    for t, value in enumerate(values):
        earlier = [frame for frame in key_frames if frame <= t]
        assert value == keys[earlier[-1] if earlier else key_frames[0]]


@fast
@given(numeric_keys, st.integers(1, 120))
def test_cubic_schedules_pass_through_keys_and_stay_between_neighbours(keys, frames):
    text = ", ".join(f"{frame}:({value!r})" for frame, value in keys.items())
    values = evaluate_schedule(text, frames, interpolation="cubic")
    key_frames = sorted(keys)
    scale = max(1.0, *(abs(value) for value in keys.values()))
    for frame in key_frames:
        if frame < frames:
            assert values[frame] == pytest.approx(keys[frame], abs=1e-9 * scale)
    for left, right in itertools.pairwise(key_frames):
        low, high = sorted((keys[left], keys[right]))
        for t in range(left, min(right, frames)):
            assert low - 1e-9 * scale <= values[t] <= high + 1e-9 * scale
