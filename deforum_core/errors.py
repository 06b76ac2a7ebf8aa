"""One error family for everything a user can get wrong, written to be read by that user.

`DeforumError` is the base: a ValueError carrying the parameter, the frame, the offending
text with the position in it, and the fix. Every error the engine raises for bad input is a
DeforumError (schedules, settings, diffusion requests, depth models, run folders, videos),
so the nodes and the command line catch one type and show its message as it is.
"""

from __future__ import annotations

_EXCERPT_RADIUS = 40


class DeforumError(ValueError):
    """Input that cannot be used as given; the message says what is wrong and how to fix it.

    The first line is `parameter: reason at frame N`; a quoted excerpt of the text with a
    caret under the position and a `fix:` line follow when they are known.
    """

    default_parameter: str | None = None

    def __init__(
        self,
        reason: str,
        *,
        parameter: str | None = None,
        frame: int | None = None,
        text: str = "",
        position: int | None = None,
        hint: str = "",
    ) -> None:
        self.reason = reason
        self.parameter = parameter if parameter is not None else self.default_parameter
        self.frame = frame
        self.text = text
        self.position = position
        self.hint = hint
        super().__init__(self._format())

    def _format(self) -> str:
        where = f" at frame {self.frame}" if self.frame is not None else ""
        head = f"{self.parameter}: " if self.parameter else ""
        lines = [f"{head}{self.reason}{where}"]
        if self.text:
            excerpt, caret = _excerpt(self.text, self.position)
            at = f" (position {self.position})" if self.position is not None else ""
            lines.append(f"  in '{excerpt}'{at}")
            if caret is not None:
                lines.append("      " + " " * caret + "^")
        if self.hint:
            lines.append(f"  fix: {self.hint}")
        return "\n".join(lines)


class ScheduleError(DeforumError):
    """A schedule, prompt schedule, expression or setting that cannot be used as written."""

    default_parameter = "value"


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
