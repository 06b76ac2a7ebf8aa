"""A whitelisting evaluator for the math in Deforum schedules.

Schedule text comes from shared workflows and settings files, so it must never reach
eval, exec or numexpr. This module tokenizes and parses the text itself and compiles it
into closures over plain floats. Only the names and functions listed here exist, and the
cost of every expression is bounded: the text length, the nesting depth and the number
of operations are capped, and every operation is O(1) on floats.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from .errors import ScheduleError

MAX_TEXT_LENGTH = 65_536
MAX_NESTING = 64
MAX_OPERATIONS = 1_000

Variables = Mapping[str, float]
Evaluator = Callable[[Variables], float]

CONSTANTS: dict[str, float] = {"pi": math.pi, "e": math.e}


class _EvaluationFailure(Exception):
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
_FUNCTIONS: dict[str, tuple[int, int | None, Callable[..., float]]] = {
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
FUNCTION_NAMES = frozenset([*_FUNCTIONS, "where"])

_TOKEN = re.compile(
    r"(?P<space>\s+)"
    r"|(?P<number>(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)"
    r"|(?P<name>[A-Za-z_][A-Za-z0-9_]*)"
    r"|(?P<op>\*\*|//|<=|>=|==|!=|[-+*/%(),<>&|])"
)

_BAD_CHARACTER_HINTS = {
    "^": "use ** for powers, for example t**2",
    "=": "use == to compare",
    "[": "use ( ) for grouping",
    "]": "use ( ) for grouping",
    "{": "use ( ) for grouping",
    "}": "use ( ) for grouping",
    ";": "separate keyframes with commas",
    '"': "quotes are only allowed around frame keys",
    "'": "quotes are only allowed around frame keys",
    "`": "backticks belong in prompts, not in numeric schedules",
}


@dataclass(frozen=True)
class _Token:
    kind: str  # "number", "name", "op" or "end"
    text: str
    position: int  # offset in the full source text


@dataclass(frozen=True)
class Expression:
    """A compiled expression: call evaluate() with values for its variables."""

    source: str
    start: int
    end: int
    names: frozenset[str]
    literal: float | None  # the value when the text is just a (signed) number
    _evaluator: Evaluator

    @property
    def text(self) -> str:
        return self.source[self.start : self.end]

    def evaluate(self, variables: Variables, *, parameter: str, frame: int | None = None) -> float:
        """The value for these variables; a ScheduleError if it is undefined or not finite."""
        try:
            value = self._evaluator(variables)
        except _EvaluationFailure as failure:
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
    parser = _Parser(source, start, end, parameter, allowed_names)
    return parser.parse()


class _Parser:
    """Recursive descent over Python's precedence: comparisons < | < & < + - < * / // % <
    unary < ** (right-associative)."""

    def __init__(
        self, source: str, start: int, end: int, parameter: str, allowed: frozenset[str]
    ) -> None:
        self.source = source
        self.start = start
        self.end = end
        self.parameter = parameter
        self.allowed = allowed
        self.tokens: list[_Token] = []
        self.scan_position = start
        self.index = 0
        self.depth = 0
        self.operations = 0
        self.names: set[str] = set()

    # -- errors -------------------------------------------------------------------------
    def _error(self, reason: str, position: int, hint: str = "") -> ScheduleError:
        return ScheduleError(
            reason, parameter=self.parameter, text=self.source, position=position, hint=hint
        )

    # -- tokens -------------------------------------------------------------------------
    def _peek(self, offset: int = 0) -> _Token:
        """The token `offset` places ahead, scanned on demand so bad text fails early."""
        while len(self.tokens) <= self.index + offset:
            if self.tokens and self.tokens[-1].kind == "end":
                return self.tokens[-1]
            self.tokens.append(self._scan())
        return self.tokens[self.index + offset]

    def _scan(self) -> _Token:
        while self.scan_position < self.end:
            match = _TOKEN.match(self.source, self.scan_position, self.end)
            if match is None:
                character = self.source[self.scan_position]
                hint = _BAD_CHARACTER_HINTS.get(character, "")
                raise self._error(f"unexpected character {character!r}", self.scan_position, hint)
            start, self.scan_position = self.scan_position, match.end()
            kind = match.lastgroup or "space"
            if kind != "space":
                return _Token(kind, match.group(), start)
        return _Token("end", "", self.end)

    @property
    def _current(self) -> _Token:
        if self.index < len(self.tokens):
            return self.tokens[self.index]
        return self._peek()

    def _advance(self) -> _Token:
        token = self._peek()
        self.index += 1
        return token

    def _at(self, *texts: str) -> bool:
        token = self._current
        return token.kind == "op" and token.text in texts

    def _expect_close(self, opened: _Token) -> None:
        if self._at(")"):
            self._advance()
            return
        if self._current.kind != "end":
            raise self._unexpected(self._current)
        raise self._error("unclosed '('", opened.position, "add the missing ')'")

    def _count_operation(self, token: _Token) -> None:
        self.operations += 1
        if self.operations > MAX_OPERATIONS:
            raise self._error(
                f"expression has more than {MAX_OPERATIONS} operations",
                token.position,
                "split it into simpler keyframes",
            )

    # -- grammar ------------------------------------------------------------------------
    def parse(self) -> Expression:
        if self._current.kind == "end":
            raise self._error(
                "empty value", self.start, "write a number or an expression, such as (1.0)"
            )
        evaluator, literal = self._comparison()
        token = self._current
        if token.kind != "end":
            raise self._unexpected(token)
        return Expression(
            self.source, self.start, self.end, frozenset(self.names), literal, evaluator
        )

    def _unexpected(self, token: _Token) -> ScheduleError:
        if token.kind == "op" and token.text == ")":
            return self._error("unbalanced ')'", token.position, "remove it or add a '('")
        if token.kind == "op" and token.text == ",":
            return self._error(
                "unexpected ','",
                token.position,
                "commas separate keyframes and function arguments only",
            )
        previous = self.tokens[self.index - 1] if self.index else None
        if previous is not None and token.kind in ("number", "name", "op"):
            return self._error(
                f"missing operator before {token.text!r}",
                token.position,
                f"write {previous.text}*{token.text} to multiply",
            )
        return self._error(f"unexpected {token.text!r}", token.position)

    def _comparison(self) -> tuple[Evaluator, float | None]:
        first, literal = self._bitor()
        comparisons: list[tuple[Callable[[float, float], bool], Evaluator]] = []
        while self._at("<", "<=", ">", ">=", "==", "!="):
            token = self._advance()
            self._count_operation(token)
            operand, _ = self._bitor()
            comparisons.append((_COMPARE[token.text], operand))
        if not comparisons:
            return first, literal

        def compare_chain(variables: Variables) -> float:
            left = first(variables)
            for compare, operand in comparisons:
                right = operand(variables)
                if not compare(left, right):
                    return 0.0
                left = right
            return 1.0

        return compare_chain, None

    def _bitor(self) -> tuple[Evaluator, float | None]:
        return self._logical_chain("|", self._bitand, any)

    def _bitand(self) -> tuple[Evaluator, float | None]:
        return self._logical_chain("&", self._additive, all)

    def _logical_chain(
        self, symbol: str, operand_parser, combine
    ) -> tuple[Evaluator, float | None]:
        first, literal = operand_parser()
        operands = [first]
        while self._at(symbol):
            self._count_operation(self._advance())
            operands.append(operand_parser()[0])
        if len(operands) == 1:
            return first, literal

        def logical(variables: Variables) -> float:
            return 1.0 if combine(operand(variables) != 0 for operand in operands) else 0.0

        return logical, None

    def _additive(self) -> tuple[Evaluator, float | None]:
        return self._arithmetic_chain(("+", "-"), self._multiplicative)

    def _multiplicative(self) -> tuple[Evaluator, float | None]:
        return self._arithmetic_chain(("*", "/", "//", "%"), self._unary)

    def _arithmetic_chain(self, symbols, operand_parser) -> tuple[Evaluator, float | None]:
        """Left-associative n-ary chain, evaluated in a loop so long sums stay shallow."""
        first, literal = operand_parser()
        steps: list[tuple[Callable[[float, float, int], float], Evaluator, int]] = []
        while self._at(*symbols):
            token = self._advance()
            self._count_operation(token)
            operand, _ = operand_parser()
            steps.append((_ARITHMETIC[token.text], operand, token.position))
        if not steps:
            return first, literal

        def chain(variables: Variables) -> float:
            value = first(variables)
            for apply, operand, position in steps:
                value = apply(value, operand(variables), position)
            return value

        return chain, None

    def _unary(self) -> tuple[Evaluator, float | None]:
        self.depth += 1
        if self.depth > MAX_NESTING:
            raise self._error(
                f"expression nested deeper than {MAX_NESTING} levels",
                self._current.position,
                "remove redundant parentheses or signs",
            )
        try:
            if self._at("+", "-"):
                token = self._advance()
                self._count_operation(token)
                operand, literal = self._unary()
                if token.text == "+":
                    return operand, literal
                negated = None if literal is None else -literal
                return (lambda variables: -operand(variables)), negated
            return self._power()
        finally:
            self.depth -= 1

    def _power(self) -> tuple[Evaluator, float | None]:
        base, literal = self._primary()
        if not self._at("**"):
            return base, literal
        token = self._advance()
        self._count_operation(token)
        exponent, _ = self._unary()
        position = token.position

        def power(variables: Variables) -> float:
            return _power(base(variables), exponent(variables), position)

        return power, None

    def _primary(self) -> tuple[Evaluator, float | None]:
        token = self._current
        if token.kind == "number":
            self._advance()
            value = float(token.text)
            if not math.isfinite(value):
                raise self._error(
                    f"number {token.text} is too large", token.position, "use a smaller number"
                )
            return (lambda variables: value), value
        if token.kind == "name":
            self._advance()
            if self._at("("):
                return self._call(token), None
            return self._name(token), None
        if self._at("("):
            return self._group(self._advance())
        if token.kind == "end" or token.text in (")", ","):
            raise self._error(
                "expression ends too early", token.position, "complete the expression"
            )
        raise self._unexpected(token)

    def _group(self, opened: _Token) -> tuple[Evaluator, float | None]:
        if self._at(")"):
            raise self._error(
                "empty parentheses", opened.position, "write a value inside, such as (1.0)"
            )
        inner, literal = self._comparison()
        if self._at(","):
            raise self._comma_in_group(opened)
        self._expect_close(opened)
        return inner, literal

    def _comma_in_group(self, opened: _Token) -> ScheduleError:
        comma = self._current
        before = self.tokens[self.index - 1]
        after = self._peek(1)
        is_decimal = (
            before.kind == "number"
            and after.kind == "number"
            and before.position + len(before.text) == comma.position
            and after.position == comma.position + 1
        )
        if is_decimal:
            return self._error(
                "decimal comma: ',' is not a decimal separator",
                comma.position,
                f"use '.' as the decimal separator: write {before.text}.{after.text}",
            )
        return self._error(
            "unexpected ',' inside parentheses",
            comma.position,
            "commas separate keyframes and function arguments only",
        )

    def _name(self, token: _Token) -> Evaluator:
        name = token.text
        if name in CONSTANTS:
            value = CONSTANTS[name]
            return lambda variables: value
        if name not in self.allowed:
            raise self._unknown_name(token)
        self.names.add(name)
        return lambda variables: variables[name]

    def _unknown_name(self, token: _Token) -> ScheduleError:
        known = sorted(self.allowed | CONSTANTS.keys())
        if token.text in FUNCTION_NAMES:
            hint = f"call it with parentheses: {token.text}(...)"
        else:
            hint = f"the names available here are {', '.join(known)}"
        return self._error(f"unknown name {token.text!r}", token.position, hint)

    def _call(self, name: _Token) -> Evaluator:
        opened = self._advance()
        self._count_operation(name)
        arguments: list[Evaluator] = []
        if not self._at(")"):
            while True:
                arguments.append(self._comparison()[0])
                if not self._at(","):
                    break
                self._advance()
        self._expect_close(opened)
        if name.text == "where":
            return self._where(name, arguments)
        if name.text not in _FUNCTIONS:
            raise self._error(
                f"unknown function {name.text!r}",
                name.position,
                f"available functions: {', '.join(sorted(FUNCTION_NAMES))}",
            )
        minimum, maximum, function = _FUNCTIONS[name.text]
        _check_arity(self, name, len(arguments), minimum, maximum)
        position = name.position
        label = name.text

        def call(variables: Variables) -> float:
            values = [argument(variables) for argument in arguments]
            try:
                return float(function(*values))
            except (ValueError, OverflowError, ZeroDivisionError) as error:
                raise _EvaluationFailure(
                    f"{label}({', '.join(f'{v:g}' for v in values)}) is undefined: {error}",
                    position,
                ) from None

        return call

    def _where(self, name: _Token, arguments: list[Evaluator]) -> Evaluator:
        _check_arity(self, name, len(arguments), 3, 3)
        condition, if_true, if_false = arguments

        def where(variables: Variables) -> float:
            return if_true(variables) if condition(variables) != 0 else if_false(variables)

        return where


def _check_arity(
    parser: _Parser, name: _Token, count: int, minimum: int, maximum: int | None
) -> None:
    if count >= minimum and (maximum is None or count <= maximum):
        return
    if maximum is None:
        expected = f"at least {minimum}"
    elif minimum == maximum:
        expected = str(minimum)
    else:
        expected = f"{minimum} to {maximum}"
    raise parser._error(
        f"{name.text}() takes {expected} argument(s), got {count}",
        name.position,
        "check the commas between the arguments",
    )


def _divide(a: float, b: float, position: int) -> float:
    if b == 0:
        raise _EvaluationFailure("division by zero", position, "guard it with where(...)")
    return a / b


def _floor_divide(a: float, b: float, position: int) -> float:
    if b == 0:
        raise _EvaluationFailure("division by zero", position, "guard it with where(...)")
    return float(a // b)


def _modulo(a: float, b: float, position: int) -> float:
    if b == 0:
        raise _EvaluationFailure("modulo by zero", position, "guard it with where(...)")
    return a % b


def _power(base: float, exponent: float, position: int) -> float:
    try:
        return math.pow(base, exponent)
    except OverflowError:
        raise _EvaluationFailure(
            "power too large", position, "use a smaller base or exponent"
        ) from None
    except (ValueError, ZeroDivisionError):
        raise _EvaluationFailure(
            f"{base:g}**{exponent:g} is undefined",
            position,
            "a negative base needs a whole exponent, and 0 a positive one",
        ) from None


_ARITHMETIC: dict[str, Callable[[float, float, int], float]] = {
    "+": lambda a, b, _position: a + b,
    "-": lambda a, b, _position: a - b,
    "*": lambda a, b, _position: a * b,
    "/": _divide,
    "//": _floor_divide,
    "%": _modulo,
}

_COMPARE: dict[str, Callable[[float, float], bool]] = {
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
    "==": lambda a, b: a == b,
    "!=": lambda a, b: a != b,
}
