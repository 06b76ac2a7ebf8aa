"""The tokens of schedule math: numbers, names and operators, scanned one at a time."""

from __future__ import annotations

import re
from dataclasses import dataclass

_TOKEN = re.compile(
    r"(?P<space>\s+)"
    r"|(?P<number>(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)"
    r"|(?P<name>[A-Za-z_][A-Za-z0-9_]*)"
    r"|(?P<op>\*\*|//|<=|>=|==|!=|[-+*/%(),<>&|])"
)

BAD_CHARACTER_HINTS = {
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
class Token:
    kind: str  # "number", "name", "op", "end", or "bad" for a character no token starts with
    text: str
    position: int  # offset in the full source text


def next_token(source: str, position: int, end: int) -> tuple[Token, int]:
    """The token at or after position in source[:end] (spaces skipped), and the position
    after it."""
    while position < end:
        match = _TOKEN.match(source, position, end)
        if match is None:
            return Token("bad", source[position], position), position
        start, position = position, match.end()
        kind = match.lastgroup or "space"
        if kind != "space":
            return Token(kind, match.group(), start), position
    return Token("end", "", end), end
