"""The progress of a batch: a tqdm bar with counts and ETA on a terminal, one plain line per result otherwise."""

from __future__ import annotations

import math
import os
import sys
import time
from typing import IO, TYPE_CHECKING, NoReturn

from tqdm import tqdm

if TYPE_CHECKING:
    from grader.models import GradeResult

BAR_FORMAT = "[{bar}] {n_fmt}/{total_fmt} {desc} · {elapsed} · ETA {remaining}"  # desc: ✓passed ✗failed · N running


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
    """A progress bar (tqdm) with counts and ETA on a terminal; one plain line per result otherwise
    (no carriage return, no escape sequence: a log file or CI output stays readable)."""

    def __init__(self, total: int, todo: int, mode: str = "auto", stream: IO[str] | None = None) -> None:
        self.stream = stream or sys.stderr
        if mode == "auto":
            mode = "bar" if getattr(self.stream, "isatty", lambda: False)() and os.environ.get("TERM") != "dumb" else "plain"
        self.mode = mode
        self.total, self.todo = total, todo
        self.done = total - todo  # already graded
        self.fresh = self.passed = self.failed = 0
        self.started = time.monotonic()
        self.running = 0
        self.last_draw = 0.0
        self.bar: tqdm[NoReturn] | None = None  # a bar that is not iterated
        if mode == "bar":
            # smoothing=0: the ETA is the rate over the whole run, of the gradings done in it (`initial` are cached)
            self.bar = tqdm(total=total, initial=self.done, file=self.stream, bar_format=BAR_FORMAT, desc=self._counts(),
                            dynamic_ncols=True, mininterval=0.2, smoothing=0, leave=False)

    def eta(self) -> float | None:
        """Seconds until the last grading is done, at the rate so far (None before the first)."""
        if not self.fresh:
            return None
        rate = self.fresh / max(1e-6, time.monotonic() - self.started)
        return (self.todo - self.fresh) / rate

    def _counts(self) -> str:
        return f"✓{self.passed} ✗{self.failed} · {self.running} running"

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
        if self.bar is not None:
            try:
                self.bar.write(text, file=self.stream)
            except (OSError, ValueError):
                pass
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
        elif self.bar is not None:
            if not result.passed:
                self.line(text)
            self._redraw(advance=1)

    def tick(self, running: int) -> None:
        """How many gradings run now; redraws the bar (at most 5 times a second)."""
        self.running = running
        self._redraw()

    def _redraw(self, advance: int = 0) -> None:
        now = time.monotonic()
        if self.bar is None or (not advance and now - self.last_draw < 0.2):
            return
        self.last_draw = now
        try:
            self.bar.set_description_str(self._counts(), refresh=False)
            if advance:
                self.bar.update(advance)
            self.bar.refresh()
        except (OSError, ValueError):
            pass

    def close(self) -> None:
        """Clear the bar's line (again: nothing)."""
        if self.bar is not None:
            bar, self.bar = self.bar, None
            try:
                bar.close()
            except (OSError, ValueError):
                pass
