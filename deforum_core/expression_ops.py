"""What the schedule math may do: its constants, functions and operators, and nothing else.

Every entry is a plain function of floats; the parser (expression_parser.py) looks names and
operators up here and refuses everything that is not listed.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping

Variables = Mapping[str, float]
Evaluator = Callable[[Variables], float]

CONSTANTS: dict[str, float] = {"pi": math.pi, "e": math.e}


class EvaluationFailure(Exception):
    """Raised inside compiled closures; turned into a ScheduleError with context."""

    def __init__(self, reason: str, position: int, hint: str = "") -> None:
        super().__init__(reason)
        self.reason = reason
        self.position = position
        self.hint = hint


def _round_half_away(value: float, digits: float = 0) -> float:
    scale = 10.0 ** int(digits)
    return math.copysign(math.floor(abs(value) * scale + 0.5), value) / scale


def _python_mod(a: float, b: float) -> float:
    return a % b


# name -> (minimum arguments, maximum arguments or None for any, implementation)
FUNCTIONS: dict[str, tuple[int, int | None, Callable[..., float]]] = {
    "sin": (1, 1, math.sin),
    "cos": (1, 1, math.cos),
    "tan": (1, 1, math.tan),
    "asin": (1, 1, math.asin),
    "acos": (1, 1, math.acos),
    "atan": (1, 1, math.atan),
    "atan2": (2, 2, math.atan2),
    "arcsin": (1, 1, math.asin),
    "arccos": (1, 1, math.acos),
    "arctan": (1, 1, math.atan),
    "arctan2": (2, 2, math.atan2),
    "sinh": (1, 1, math.sinh),
    "cosh": (1, 1, math.cosh),
    "tanh": (1, 1, math.tanh),
    "sqrt": (1, 1, math.sqrt),
    "exp": (1, 1, math.exp),
    "log": (1, 1, math.log),
    "log10": (1, 1, math.log10),
    "log2": (1, 1, math.log2),
    "abs": (1, 1, abs),
    "floor": (1, 1, lambda x: float(math.floor(x))),
    "ceil": (1, 1, lambda x: float(math.ceil(x))),
    "round": (1, 2, _round_half_away),
    "min": (2, None, min),
    "max": (2, None, max),
    "pow": (2, 2, math.pow),
    "mod": (2, 2, _python_mod),
    "fmod": (2, 2, math.fmod),
}
FUNCTION_NAMES = frozenset([*FUNCTIONS, "where"])


def _divide(a: float, b: float, position: int) -> float:
    if b == 0:
        raise EvaluationFailure("division by zero", position, "guard it with where(...)")
    return a / b


def _floor_divide(a: float, b: float, position: int) -> float:
    if b == 0:
        raise EvaluationFailure("division by zero", position, "guard it with where(...)")
    return float(a // b)


def _modulo(a: float, b: float, position: int) -> float:
    if b == 0:
        raise EvaluationFailure("modulo by zero", position, "guard it with where(...)")
    return a % b


def checked_power(base: float, exponent: float, position: int) -> float:
    try:
        return math.pow(base, exponent)
    except OverflowError:
        raise EvaluationFailure(
            "power too large", position, "use a smaller base or exponent"
        ) from None
    except (ValueError, ZeroDivisionError):
        raise EvaluationFailure(
            f"{base:g}**{exponent:g} is undefined",
            position,
            "a negative base needs a whole exponent, and 0 a positive one",
        ) from None


ARITHMETIC: dict[str, Callable[[float, float, int], float]] = {
    "+": lambda a, b, _position: a + b,
    "-": lambda a, b, _position: a - b,
    "*": lambda a, b, _position: a * b,
    "/": _divide,
    "//": _floor_divide,
    "%": _modulo,
}

COMPARE: dict[str, Callable[[float, float], bool]] = {
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
    "==": lambda a, b: a == b,
    "!=": lambda a, b: a != b,
}
