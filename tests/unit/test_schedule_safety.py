"""Schedule text from a shared workflow must never run code or stall the render."""

import os
import time

import pytest

from deforum_core import ScheduleError, evaluate_schedule, parse_prompt_schedule

TIME_LIMIT_S = 0.05

HOSTILE = {
    "import_call": "__import__('os').system('touch {marker}')",
    "import_call_as_value": "0:(__import__('os').system('touch {marker}'))",
    "import_call_unquoted": "0:(__import__(os).system(touch))",
    "dunder_class": "().__class__",
    "dunder_class_as_value": "0:(().__class__)",
    "attribute_walk": "0:(t.__class__.__mro__)",
    "huge_power": "9**9**9**9",
    "huge_power_as_value": "0:(9**9**9**9)",
    "huge_power_function": "0:(pow(9, pow(9, pow(9, 9))))",
    "nested_parentheses": "0:" + "(" * 10_000 + "1" + ")" * 10_000,
    "nested_without_key": "(" * 10_000 + ")" * 10_000,
    "nested_signs": "0:(" + "-" * 10_000 + "1)",
    "power_tower": "0:(" + "2**" * 5_000 + "1)",
    "long_sum": "0:(" + "+".join(["t"] * 5_000) + ")",
    "one_megabyte": "0:(1)" + ", 1:(2)" * 150_000,
    "lambda": "0:(lambda: 1)",
    "walrus": "0:(x := 1)",
    "subscript": "0:(t[0])",
    "string_literal": "0:('a' * 10**9)",
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_schedule_is_refused_quickly_and_runs_nothing(name, tmp_path):
    marker = tmp_path / "executed"
    text = HOSTILE[name].format(marker=marker)
    started = time.perf_counter()
    with pytest.raises(ScheduleError):
        evaluate_schedule(text, 120, name="zoom")
    elapsed = time.perf_counter() - started
    assert elapsed < TIME_LIMIT_S, f"{name} took {elapsed * 1000:.1f} ms"
    assert not marker.exists()


def test_one_megabyte_string_is_refused_by_its_length():
    with pytest.raises(ScheduleError, match=r"limit is 65,536"):
        evaluate_schedule("0:(1)" + " " * 1_000_000, 10)


def test_prompt_backticks_use_the_same_evaluator(tmp_path):
    marker = tmp_path / "executed"
    text = f"{{\"0\": \"a cat `__import__('os').system('touch {marker}')`\"}}"
    with pytest.raises(ScheduleError):
        parse_prompt_schedule(text).evaluate(10)
    assert not marker.exists()


def test_evaluator_never_calls_eval_exec_or_compile(monkeypatch):
    import builtins

    def forbidden(*args, **kwargs):
        raise AssertionError("the schedule evaluator must not use eval, exec or compile")

    for name in ("eval", "exec", "compile"):
        monkeypatch.setattr(builtins, name, forbidden)
    values = evaluate_schedule("0:(where(t > 2, sqrt(t) * pi, -t)), 5:(1)", 7)
    assert values[:3] == [0.0, -1.0, -2.0]
    assert values[3] == pytest.approx(3**0.5 * 3.141592653589793)
    assert os.environ is not None  # the test process is unharmed
