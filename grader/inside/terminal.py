"""Render text as a terminal shows it: carriage returns and backspaces overwrite, ANSI codes vanish.

Keras progress bars redraw one line thousands of times per epoch with `\\r` and `\\b`; a terminal
shows only the last state of that line. `Screen` keeps exactly that, incrementally and in bounded memory.
"""

from __future__ import annotations

import re

ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b[@-Z\\-_]")
_CONTROL = re.compile(r"[\r\b\n]")


class Screen:
    """An append-only terminal: feed it writes, read back the lines a terminal would show."""

    def __init__(self, max_lines: int = 400, max_line_chars: int = 2000) -> None:
        self.lines: list[str] = []
        self.current: list[str] = []
        self.column = 0
        self.max_lines, self.max_line_chars = max_lines, max_line_chars
        self.dropped_lines = 0

    def write(self, text: str) -> None:
        text = ANSI.sub("", text)
        pos = 0
        for match in _CONTROL.finditer(text):
            self._put(text[pos : match.start()])
            char = match.group()
            if char == "\n":
                self._newline()
            elif char == "\r":
                self.column = 0
            else:  # backspace
                self.column = max(0, self.column - 1)
            pos = match.end()
        self._put(text[pos:])

    def _put(self, chunk: str) -> None:
        if not chunk:
            return
        line, col = self.current, self.column
        room = max(0, self.max_line_chars - col)
        chunk = chunk[:room]
        line[col : col + len(chunk)] = list(chunk)
        self.column = col + len(chunk)

    def _newline(self) -> None:
        self.lines.append("".join(self.current).rstrip())
        self.current, self.column = [], 0
        if len(self.lines) > self.max_lines:
            del self.lines[0]
            self.dropped_lines += 1

    def text(self) -> str:
        """What the terminal shows now (the unfinished last line included)."""
        tail = "".join(self.current).rstrip()
        return "\n".join(self.lines + ([tail] if tail else []))


def render(text: str, max_lines: int = 400) -> str:
    """`text` as a terminal shows it."""
    screen = Screen(max_lines=max_lines)
    screen.write(text)
    return screen.text()
