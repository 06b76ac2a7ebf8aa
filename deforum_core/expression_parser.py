"""The tokenizer and recursive-descent parser of schedule math, compiling it to closures.

Only the names and functions of expression_ops.py exist; the nesting depth and the number
of operations are capped while parsing, so no text can make the parser or the compiled
expression do unbounded work.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import NamedTuple

from .errors import ScheduleError
from .expression_ops import (
    ARITHMETIC,
    COMPARE,
    CONSTANTS,
    FUNCTION_NAMES,
    FUNCTIONS,
    EvaluationFailure,
    Evaluator,
    Variables,
    checked_power,
)
from .expression_tokens import BAD_CHARACTER_HINTS, Token, next_token

MAX_NESTING = 64
MAX_OPERATIONS = 1_000


class Parsed(NamedTuple):
    """A parsed expression: its compiled closure, its value when it is a plain (signed)
    number, and the variable names it uses."""

    evaluator: Evaluator
    literal: float | None
    names: frozenset[str]
    operations: int


class Parser:
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
        self.tokens: list[Token] = []
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
    def _peek(self, offset: int = 0) -> Token:
        """The token `offset` places ahead, scanned on demand so bad text fails early."""
        while len(self.tokens) <= self.index + offset:
            if self.tokens and self.tokens[-1].kind == "end":
                return self.tokens[-1]
            self.tokens.append(self._scan())
        return self.tokens[self.index + offset]

    def _scan(self) -> Token:
        token, self.scan_position = next_token(self.source, self.scan_position, self.end)
        if token.kind == "bad":
            hint = BAD_CHARACTER_HINTS.get(token.text, "")
            raise self._error(f"unexpected character {token.text!r}", token.position, hint)
        return token

    @property
    def _current(self) -> Token:
        if self.index < len(self.tokens):
            return self.tokens[self.index]
        return self._peek()

    def _advance(self) -> Token:
        token = self._peek()
        self.index += 1
        return token

    def _at(self, *texts: str) -> bool:
        token = self._current
        return token.kind == "op" and token.text in texts

    def _expect_close(self, opened: Token) -> None:
        if self._at(")"):
            self._advance()
            return
        if self._current.kind != "end":
            raise self._unexpected(self._current)
        raise self._error("unclosed '('", opened.position, "add the missing ')'")

    def _count_operation(self, token: Token) -> None:
        self.operations += 1
        if self.operations > MAX_OPERATIONS:
            raise self._error(
                f"expression has more than {MAX_OPERATIONS} operations",
                token.position,
                "split it into simpler keyframes",
            )

    # -- grammar ------------------------------------------------------------------------
    def parse(self) -> Parsed:
        if self._current.kind == "end":
            raise self._error(
                "empty value", self.start, "write a number or an expression, such as (1.0)"
            )
        evaluator, literal = self._comparison()
        token = self._current
        if token.kind != "end":
            raise self._unexpected(token)
        return Parsed(evaluator, literal, frozenset(self.names), self.operations)

    def _unexpected(self, token: Token) -> ScheduleError:
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
            comparisons.append((COMPARE[token.text], operand))
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
            steps.append((ARITHMETIC[token.text], operand, token.position))
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
            return checked_power(base(variables), exponent(variables), position)

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

    def _group(self, opened: Token) -> tuple[Evaluator, float | None]:
        if self._at(")"):
            raise self._error(
                "empty parentheses", opened.position, "write a value inside, such as (1.0)"
            )
        inner, literal = self._comparison()
        if self._at(","):
            raise self._comma_in_group(opened)
        self._expect_close(opened)
        return inner, literal

    def _comma_in_group(self, opened: Token) -> ScheduleError:
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

    def _name(self, token: Token) -> Evaluator:
        name = token.text
        if name in CONSTANTS:
            value = CONSTANTS[name]
            return lambda variables: value
        if name not in self.allowed:
            raise self._unknown_name(token)
        self.names.add(name)
        return lambda variables: variables[name]

    def _unknown_name(self, token: Token) -> ScheduleError:
        known = sorted(self.allowed | CONSTANTS.keys())
        if token.text in FUNCTION_NAMES:
            hint = f"call it with parentheses: {token.text}(...)"
        else:
            hint = f"the names available here are {', '.join(known)}"
        return self._error(f"unknown name {token.text!r}", token.position, hint)

    def _call(self, name: Token) -> Evaluator:
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
        if name.text not in FUNCTIONS:
            raise self._error(
                f"unknown function {name.text!r}",
                name.position,
                f"available functions: {', '.join(sorted(FUNCTION_NAMES))}",
            )
        minimum, maximum, function = FUNCTIONS[name.text]
        _check_arity(self, name, len(arguments), minimum, maximum)
        position = name.position
        label = name.text

        def call(variables: Variables) -> float:
            values = [argument(variables) for argument in arguments]
            try:
                return float(function(*values))
            except (ValueError, OverflowError, ZeroDivisionError) as error:
                raise EvaluationFailure(
                    f"{label}({', '.join(f'{v:g}' for v in values)}) is undefined: {error}",
                    position,
                ) from None

        return call

    def _where(self, name: Token, arguments: list[Evaluator]) -> Evaluator:
        _check_arity(self, name, len(arguments), 3, 3)
        condition, if_true, if_false = arguments

        def where(variables: Variables) -> float:
            return if_true(variables) if condition(variables) != 0 else if_false(variables)

        return where


def _check_arity(
    parser: Parser, name: Token, count: int, minimum: int, maximum: int | None
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
