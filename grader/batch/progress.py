"""The progress of a batch: a bar with counts and ETA on a terminal, one plain line per result otherwise."""

from __future__ import annotations

import math
import os
import shutil
import sys
import time
from typing import IO, TYPE_CHECKING

if TYPE_CHECKING:
    from grader.models import GradeResult


def format_duration(seconds: float | None) -> str:
    """A duration as `45s`, `3m07s` or `1h02m` (`—` when unknown)."""
    if seconds is None or math.isnan(seconds) or seconds == math.inf:
        return "—"
    seconds = round(seconds)
    if seconds >= 3600:
        return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
    if seconds >= 60:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds}s"


class Progress:
    """A progress bar with counts and ETA on a terminal; one plain line per result otherwise."""

    def __init__(self, total: int, todo: int, mode: str = "auto", stream: IO[str] | None = None) -> None:
        self.stream = stream or sys.stderr
        if mode == "auto":
            mode = "bar" if getattr(self.stream, "isatty", lambda: False)() and os.environ.get("TERM") != "dumb" else "plain"
        self.mode = mode
        self.total, self.todo = total, todo
        self.done = total - todo  # already graded
        self.fresh = self.passed = self.failed = 0
        self.started = time.monotonic()
        self.last_draw = 0.0
        self.running = 0

    def eta(self) -> float | None:
        """Seconds until the last grading is done, at the rate so far (None before the first)."""
        if not self.fresh:
            return None
        rate = self.fresh / max(1e-6, time.monotonic() - self.started)
        return (self.todo - self.fresh) / rate

    def _write(self, text: str) -> None:
        try:
            self.stream.write(text)
            self.stream.flush()
        except (OSError, ValueError):
            pass

    def line(self, text: str) -> None:
        """A line of its own (above the bar, on a terminal)."""
        if self.mode == "none":
            return
        if self.mode == "bar":
            self._write("\r\x1b[K" + text + "\n")
            self.draw(force=True)
        else:
            self._write(text + "\n")

    def result(self, student: str, result: GradeResult, crashed: bool) -> None:
        """Count a result; a line for it (on a terminal, only for a failure)."""
        self.done += 1
        self.fresh += 1
        self.passed += bool(result.passed)
        self.failed += not result.passed
        verdict = "passed" if result.passed else ("CRASHED" if crashed else "failed")
        status = "" if result.passed or result.execution.status == "ok" else f" [{result.execution.status}]"
        text = f"[{self.done}/{self.total}] {student}: {verdict} {result.score:g}/{result.max_score:g}{status} ({result.duration_s:.0f} s)"
        if self.mode == "plain":
            eta = self.eta()
            self._write(text + (f"  eta {format_duration(eta)}" if eta and self.fresh < self.todo else "") + "\n")
        elif self.mode == "bar":
            if not result.passed:
                self.line(text)
            else:
                self.draw(force=True)

    def tick(self, running: int) -> None:
        """How many gradings run now; redraws the bar (at most 5 times a second)."""
        self.running = running
        self.draw()

    def draw(self, force: bool = False) -> None:
        """Redraw the bar (on a terminal)."""
        if self.mode != "bar":
            return
        now = time.monotonic()
        if not force and now - self.last_draw < 0.2:
            return
        self.last_draw = now
        width = shutil.get_terminal_size((80, 20)).columns
        counts = (f" {self.done}/{self.total} ✓{self.passed} ✗{self.failed} · {self.running} running · {format_duration(now - self.started)}"
                  f" · ETA {format_duration(self.eta()) if self.fresh < self.todo else '0s'}")
        bar_width = max(10, min(40, width - len(counts) - 3))
        filled = int(bar_width * self.done / max(1, self.total))
        self._write("\r\x1b[K[" + "#" * filled + "-" * (bar_width - filled) + "]" + counts[: max(0, width - bar_width - 3)])

    def close(self) -> None:
        """Clear the bar's line."""
        if self.mode == "bar":
            self._write("\r\x1b[K")
