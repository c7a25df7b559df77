"""The short terminal summary of one graded submission."""

from __future__ import annotations

from pathlib import Path

from grader.i18n import t
from grader.models import GradeResult


def summary(result: GradeResult, written: list[Path] = ()) -> str:  # type: ignore[assignment]
    lang = result.lang
    verdict = t(lang, "cli.passed" if result.passed else "cli.failed")
    lines = [f"{result.submission} [{result.assignment}]: {verdict}  {result.score:g}/{result.max_score:g}  ({result.duration_s:.0f} s)"]
    if result.execution.unsafe:
        lines.append(f"  ! {t(lang, 'cli.unsafe')}")
    for check in result.checks:
        mark = "✓" if check.passed else ("!" if not check.blocking else "✗")
        lines.append(f"  {mark} {check.id:<20} {check.message}")
        if not check.passed and check.hint:
            lines.append(f"    {'':<20} → {check.hint}")
    lines += [f"  {t(lang, 'cli.error')}: {e}" for e in result.errors]
    lines += [f"  → {p}" for p in written]
    return "\n".join(lines)
