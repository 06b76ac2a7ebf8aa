"""A whitelisting evaluator for the math in Deforum schedules.

Schedule text comes from shared workflows and settings files, so it must never reach
eval, exec or numexpr. The text is tokenized and parsed here (expression_parser.py) and
compiled into closures over plain floats. Only the names and functions of expression_ops.py
exist, and the cost of every expression is bounded: the text length, the nesting depth and
the number of operations are capped, and every operation is O(1) on floats.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from .errors import ScheduleError
from .expression_ops import EvaluationFailure, Evaluator, Variables
from .expression_parser import MAX_NESTING, MAX_OPERATIONS, Parser

MAX_TEXT_LENGTH = 65_536

__all__ = [
    "MAX_NESTING",
    "MAX_OPERATIONS",
    "MAX_TEXT_LENGTH",
    "Expression",
    "check_length",
    "compile_expression",
]


@dataclass(frozen=True)
class Expression:
    """A compiled expression: call evaluate() with values for its variables."""

    source: str
    start: int
    end: int
    names: frozenset[str]
    literal: float | None  # the value when the text is just a (signed) number
    _evaluator: Evaluator
    operations: int = 0  # what one evaluation costs, in operations (at most MAX_OPERATIONS)

    @property
    def text(self) -> str:
        return self.source[self.start : self.end]

    def evaluate(self, variables: Variables, *, parameter: str, frame: int | None = None) -> float:
        """The value for these variables; a ScheduleError if it is undefined or not finite."""
        try:
            value = self._evaluator(variables)
        except EvaluationFailure as failure:
            raise ScheduleError(
                failure.reason,
                parameter=parameter,
                text=self.source,
                position=failure.position,
                hint=failure.hint,
                frame=frame,
            ) from None
        except (ArithmeticError, ValueError, TypeError) as error:
            raise ScheduleError(
                f"cannot evaluate '{self.text.strip()}': {error}",
                parameter=parameter,
                text=self.source,
                position=self.start,
                frame=frame,
            ) from None
        if not math.isfinite(value):
            raise ScheduleError(
                f"'{self.text.strip()}' gives {value}, not a finite number",
                parameter=parameter,
                text=self.source,
                position=self.start,
                hint="keep values finite: avoid huge powers, exp of large numbers and 0/0",
                frame=frame,
            )
        return value


def check_length(text: str, parameter: str) -> None:
    """Refuse text too long to be a schedule before any work is spent on it."""
    if len(text) > MAX_TEXT_LENGTH:
        raise ScheduleError(
            f"text is {len(text):,} characters long; the limit is {MAX_TEXT_LENGTH:,}",
            parameter=parameter,
            hint="use fewer keyframes or shorter expressions",
        )


def compile_expression(
    source: str,
    start: int = 0,
    end: int | None = None,
    *,
    parameter: str,
    allowed_names: frozenset[str],
) -> Expression:
    """Parse source[start:end] into an Expression that may use only allowed_names."""
    check_length(source, parameter)
    end = len(source) if end is None else end
    parsed = Parser(source, start, end, parameter, allowed_names).parse()
    return Expression(
        source, start, end, parsed.names, parsed.literal, parsed.evaluator, parsed.operations
    )
