"""The whitelisting evaluator: operators, precedence and functions give Python's math results."""

import math

import pytest

from deforum_core import ScheduleError, evaluate_schedule


def value_of(expression: str, t: float = 3) -> float:
    """The value of an expression on frame t of a 10-frame schedule."""
    return evaluate_schedule(f"0:({expression})", 10)[int(t)]


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("1+2*3", 7.0),
        ("(1+2)*3", 9.0),
        ("-2**2", -4.0),
        ("2**-1", 0.5),
        ("2**3**2", 512.0),
        ("7/2", 3.5),
        ("7//2", 3.0),
        ("-7//2", -4.0),
        ("7%3", 1.0),
        ("-7%3", 2.0),
        ("mod(-7, 3)", 2.0),
        ("fmod(-7, 3)", -1.0),
        ("t*2", 6.0),
        ("1e-3*1000", 1.0),
        (".5+.5", 1.0),
        ("1 < 2", 1.0),
        ("2 < 1", 0.0),
        ("1 < t < 5", 1.0),
        ("1 < t < 2", 0.0),
        ("t == 3", 1.0),
        ("t != 3", 0.0),
        ("t >= 3", 1.0),
        ("t <= 2", 0.0),
        ("(t > 1) & (t < 5)", 1.0),
        ("(t > 4) | (t < 2)", 0.0),
        ("where(t > 2, 10, 20)", 10.0),
        ("where(t > 5, 10, 20)", 20.0),
        ("where(t == 3, 0, 1/(t-3))", 0.0),
        ("min(4, t, 5)", 3.0),
        ("max(4, t, 5)", 5.0),
        ("abs(-t)", 3.0),
        ("floor(2.7)", 2.0),
        ("ceil(2.1)", 3.0),
        ("round(2.5)", 3.0),
        ("round(-2.5)", -3.0),
        ("round(1.2345, 2)", 1.23),
        ("pow(2, 10)", 1024.0),
        ("sqrt(16)", 4.0),
        ("exp(0)", 1.0),
        ("log(e)", 1.0),
        ("log10(1000)", 3.0),
        ("log2(8)", 3.0),
        ("sin(pi/2)", 1.0),
        ("cos(0)", 1.0),
        ("tan(0)", 0.0),
        ("asin(1)", math.pi / 2),
        ("arcsin(1)", math.pi / 2),
        ("acos(1)", 0.0),
        ("atan(1)", math.pi / 4),
        ("atan2(1, 1)", math.pi / 4),
        ("tanh(0)", 0.0),
    ],
)
def test_expression_values(expression, expected):
    assert value_of(expression) == pytest.approx(expected, abs=1e-12)


def test_where_only_evaluates_the_chosen_branch():
    assert evaluate_schedule("0:(where(t == 0, 0, 1/t))", 3) == [0.0, 1.0, 0.5]


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("(-8)**(1/3)", "is undefined"),
        ("0**-1", "is undefined"),
        ("10**400", "power too large"),
        ("log(0)", "log(0) is undefined"),
        ("acos(2)", "acos(2) is undefined"),
        ("5 % 0", "modulo by zero"),
        ("5 // 0", "division by zero"),
        ("where(1, 2)", "where() takes 3 argument(s), got 2"),
        ("min(1)", "min() takes at least 2 argument(s)"),
        ("sin", "call it with parentheses: sin(...)"),
        ("t = 3", "use == to compare"),
        ("[t]", "use ( ) for grouping"),
        ("1.2.3", "missing operator"),
        ("1 +", "expression ends too early"),
        ("floor(1e400)", "number 1e400 is too large"),
        ("floor(1e300*1e300)", "floor(inf) is undefined"),
    ],
)
def test_expression_errors(expression, message):
    with pytest.raises(ScheduleError) as caught:
        evaluate_schedule(f"0:({expression})", 3, name="angle")
    assert message in str(caught.value)
