"""Deforum's composable masks: `{video_mask} & !{init_mask}` and the like, parsed, never run.

sd-webui-deforum (composable_masks.py) composes named masks with `!` (not), `&` (and), `|`
(or), `^` (xor) and `\\` (and not), in that order of binding (it rewrites all `&` first, then
`|`, then `^`, then `\\`), with brackets for grouping, on masks made black and white. Here
the same grammar is parsed into a tree once and evaluated per frame on tensors, a pixel
counting as white from half grey up. The names the pack has: {init_mask} (the mask picture),
{video_mask} (the mask video's frame) and {everywhere} (all white). Deforum's other sources,
{human_mask}, [file] and <words>, need what the pack does not have yet; they are refused with
a message that says so and where they are.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import torch

from .errors import ScheduleError

PARAMETER = "mask_expression"
KNOWN = ("init_mask", "video_mask", "everywhere")
BINDING = ("\\", "^", "|", "&")  # loosest first
_TOKEN = re.compile(r"\s*(?:(\{[^{}]*\})|(\[[^\]]*\])|(<[^>]*>)|([!&|^\\()]))")
_UNSUPPORTED = {
    "[": "a mask file inside an expression is not supported yet",
    "<": "a word mask needs CLIPSeg, which the pack does not have yet",
}
_HINT = "compose {init_mask}, {video_mask} and {everywhere} with ! & | ^ \\ and brackets"


@dataclass(frozen=True)
class _Node:
    operator: str  # "name", "!" or one of BINDING
    parts: tuple = ()
    name: str = ""


@dataclass(frozen=True)
class MaskExpression:
    """A parsed mask expression: the names it uses, and its value for given masks."""

    text: str
    tree: _Node

    @property
    def names(self) -> set[str]:
        found, pending = set(), [self.tree]
        while pending:
            node = pending.pop()
            if node.operator == "name":
                found.add(node.name)
            pending.extend(node.parts)
        return found

    def evaluate(self, masks: dict[str, torch.Tensor]) -> torch.Tensor:
        """The composed mask (0 or 1 per pixel) of masks by name, each [H, W] in 0..1."""
        return _value(self.tree, {name: mask >= 0.5 for name, mask in masks.items()}).float()


def parse_mask_expression(text: str) -> MaskExpression:
    """Parse Deforum's mask expression grammar; a ScheduleError points at the problem."""
    tokens = _tokens(text)
    parser = _Parser(text, tokens)
    tree = parser.binary(0)
    if parser.index < len(tokens):
        raise parser.error("unexpected text after the expression", tokens[parser.index][1])
    return MaskExpression(text, tree)


def _tokens(text: str) -> list[tuple[str, int]]:
    tokens, position = [], 0
    while text[position:].strip():
        match = _TOKEN.match(text, position)
        if match is None:
            start = len(text) - len(text[position:].lstrip())
            raise ScheduleError("not part of a mask expression", parameter=PARAMETER, text=text,
                                position=start, hint=_HINT)  # fmt: skip
        token = match.group(match.lastindex)
        start = match.start(match.lastindex)
        if token[0] in _UNSUPPORTED:
            raise ScheduleError(_UNSUPPORTED[token[0]], parameter=PARAMETER, text=text,
                                position=start, hint=_HINT)  # fmt: skip
        tokens.append((token, start))
        position = match.end()
    return tokens


class _Parser:
    def __init__(self, text: str, tokens: list[tuple[str, int]]) -> None:
        self.text, self.tokens, self.index = text, tokens, 0

    def error(self, reason: str, position: int) -> ScheduleError:
        return ScheduleError(reason, parameter=PARAMETER, text=self.text, position=position,
                             hint=_HINT)  # fmt: skip

    def peek(self) -> str | None:
        return self.tokens[self.index][0] if self.index < len(self.tokens) else None

    def binary(self, level: int) -> _Node:
        if level == len(BINDING):
            return self.unary()
        node = self.binary(level + 1)
        while self.peek() == BINDING[level]:
            self.index += 1
            node = _Node(BINDING[level], (node, self.binary(level + 1)))
        return node

    def unary(self) -> _Node:
        token = self.peek()
        position = self.tokens[self.index][1] if token is not None else len(self.text)
        if token is None:
            raise self.error("the expression ends where a mask is expected", position)
        self.index += 1
        if token == "!":
            return _Node("!", (self.unary(),))
        if token == "(":
            inner = self.binary(0)
            if self.peek() != ")":
                raise self.error("this bracket is not closed", position)
            self.index += 1
            return inner
        if token.startswith("{"):
            name = token[1:-1].strip()
            if name not in KNOWN:
                raise self.error(f"unknown mask {{{name}}}", position)
            return _Node("name", name=name)
        raise self.error(f"{token!r} where a mask is expected", position)


def _value(node: _Node, masks: dict[str, torch.Tensor]) -> torch.Tensor:
    if node.operator == "name":
        return masks[node.name]
    values = [_value(part, masks) for part in node.parts]
    if node.operator == "!":
        return ~values[0]
    first, second = values
    return {"&": first & second, "|": first | second, "^": first ^ second,
            "\\": first & ~second}[node.operator]  # fmt: skip
