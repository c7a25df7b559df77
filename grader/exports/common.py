"""What every export shares: the entry a format reads, its settings, and the cell and number rules of LMS imports."""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from grader.errors import UsageError
from grader.models import GradeResult


class Entry(Protocol):
    """One student's result, as the exports need it (`gradebook.StoredResult` is one); read-only."""

    @property
    def student(self) -> str: ...
    @property
    def folder(self) -> str: ...
    @property
    def result(self) -> GradeResult: ...
    @property
    def info(self) -> dict[str, str]: ...
    @property
    def graded_at(self) -> str: ...
    @property
    def outcome(self) -> str: ...


@dataclass(frozen=True)
class SimpleEntry:
    """An entry read from a `result.json` (no gradebook)."""

    student: str
    folder: str
    result: GradeResult
    info: dict[str, str] = field(default_factory=dict)
    graded_at: str = ""
    outcome: str = "graded"


@dataclass(frozen=True)
class ExportSettings:
    assignment_id: str
    title: str  # the LMS column / page title
    lang: str = "en"
    max_score: float | None = None  # the assignment's points (default: from the results)
    out_of: float | None = None  # rescale scores to this many points (LMS exports)
    canvas_assignment_id: str | None = None  # Canvas: update this existing assignment ("Title (id)")
    visibility: str = "visible"  # Gradescope tests
    stdout_visibility: str = "hidden"  # Gradescope
    reports: bool = True  # the summary links report.html files
    missing: tuple[str, ...] = ()  # roster students without a submission (summary)

    @classmethod
    def for_assignment(cls, assignment: Any, lang: str | None = None, **changes: Any) -> ExportSettings:
        from grader.options import Options, resolve

        lang = resolve(assignment, Options(lang=lang)).lang  # the grading's language: one default, grader.options
        changes["missing"] = tuple(changes.get("missing") or ())
        return cls(
            assignment_id=assignment.id,
            title=assignment.title_for(lang),
            lang=lang,
            max_score=float(sum(assignment.points.values())),
            **changes,
        )


def crashed(entries: Iterable[Entry]) -> list[str]:
    return [e.student for e in entries if e.outcome == "crashed"]


def scaled(result: GradeResult, out_of: float | None) -> float:
    """The score, rescaled to `out_of` points if asked (2 decimals, as LMS gradebooks keep)."""
    if out_of is None or not result.max_score:
        return round(result.score, 2)
    return round(result.score * out_of / result.max_score, 2)


def number(value: float) -> str:
    """A number as LMS imports read it: '.' as decimal separator, no thousands separator, ≤ 2 decimals."""
    if math.isnan(value) or math.isinf(value):
        raise ValueError(f"not a finite score: {value}")
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def safe_cell(text: str) -> str:
    """Free text for a spreadsheet cell: a leading = + - @ would make Excel run it as a formula."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def entries_from_results(outdir: Path) -> list[SimpleEntry]:
    """Entries from `OUTDIR/<student>/result.json` files, for an output folder without a gradebook."""
    entries = []
    for path in sorted(Path(outdir).glob("*/result.json")):
        try:
            result = GradeResult.from_dict(json.loads(path.read_text(encoding="utf-8")))
        except (OSError, ValueError, TypeError) as exc:
            raise UsageError(f"{path}: not a result.json ({exc})") from exc
        entries.append(SimpleEntry(student=path.parent.name, folder=path.parent.name, result=result))
    return entries
