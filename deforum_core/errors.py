"""The one error type for bad schedule text, written to be read by the person who typed it."""

from __future__ import annotations

_EXCERPT_RADIUS = 40


class ScheduleError(ValueError):
    """A schedule, prompt schedule or expression that cannot be used as written.

    The message names the parameter, quotes the offending text with a caret under the
    position, says what is wrong and how to fix it.
    """

    def __init__(
        self,
        reason: str,
        *,
        parameter: str = "value",
        text: str = "",
        position: int | None = None,
        hint: str = "",
        frame: int | None = None,
    ) -> None:
        self.reason = reason
        self.parameter = parameter
        self.text = text
        self.position = position
        self.hint = hint
        self.frame = frame
        super().__init__(self._format())

    def _format(self) -> str:
        where = f" at frame {self.frame}" if self.frame is not None else ""
        lines = [f"{self.parameter}: {self.reason}{where}"]
        if self.text:
            excerpt, caret = _excerpt(self.text, self.position)
            at = f" (position {self.position})" if self.position is not None else ""
            lines.append(f"  in '{excerpt}'{at}")
            if caret is not None:
                lines.append("      " + " " * caret + "^")
        if self.hint:
            lines.append(f"  fix: {self.hint}")
        return "\n".join(lines)


def _excerpt(text: str, position: int | None) -> tuple[str, int | None]:
    """A one-line window of the text around the position, and the caret column in it."""
    flat = text.replace("\n", " ").replace("\t", " ")
    if position is None:
        if len(flat) <= 2 * _EXCERPT_RADIUS:
            return flat, None
        return flat[: 2 * _EXCERPT_RADIUS] + "...", None
    position = max(0, min(position, len(flat)))
    start = max(0, position - _EXCERPT_RADIUS)
    end = min(len(flat), position + _EXCERPT_RADIUS)
    prefix = "..." if start > 0 else ""
    suffix = "..." if end < len(flat) else ""
    return prefix + flat[start:end] + suffix, len(prefix) + position - start
