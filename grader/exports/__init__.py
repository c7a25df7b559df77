"""Exports of a batch's results: LMS grade imports, CI reports and the class summary page.

Every format is a pure function of entries (a student, its roster columns and its `GradeResult`,
read back from the gradebook or from `result.json` files) to text; `write_export` writes that
text inside the batch's output folder:

=============  ===================================================  ======================================
format         file(s)                                              for
=============  ===================================================  ======================================
``canvas``     ``exports/canvas.csv``                               Canvas: Grades → Import
``moodle``     ``exports/moodle.csv``                               Moodle: Grades → Import → CSV file
``gradescope`` ``exports/gradescope/<student>/results.json``        Gradescope's autograder results format
``junit``      ``exports/junit.xml``                                CI dashboards (one suite per student)
``jsonl``      ``exports/results.jsonl``                            anything: one JSON result per line
``summary``    ``summary.html``                                     people: histogram, pass rates, reports
=============  ===================================================  ======================================
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Protocol, Sequence

from grader.common.files import atomic_write
from grader.errors import UsageError
from grader.models import GradeResult

FORMATS = ("canvas", "moodle", "gradescope", "junit", "jsonl", "summary")


class Entry(Protocol):
    """One student's result, as the exports need it (`gradebook.StoredResult` is one)."""

    student: str
    folder: str
    result: GradeResult
    info: dict[str, str]
    graded_at: str
    outcome: str


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


def render(fmt: str, entries: Sequence[Entry], settings: ExportSettings) -> dict[str, str]:
    """{path relative to the output folder: content} for one format; pure."""
    from grader.exports import canvas, gradescope, jsonl, junit, moodle, summary

    renderers: dict[str, Callable[[Sequence[Entry], ExportSettings], dict[str, str]]] = {
        "canvas": canvas.files,
        "moodle": moodle.files,
        "gradescope": gradescope.files,
        "junit": junit.files,
        "jsonl": jsonl.files,
        "summary": summary.files,
    }
    if fmt not in renderers:
        raise UsageError(f"unknown export format '{fmt}' (known: {', '.join(FORMATS)})")
    return renderers[fmt](sorted(entries, key=lambda e: e.student), settings)


def write_export(fmt: str, entries: Sequence[Entry], outdir: Path, settings: ExportSettings) -> list[Path]:
    """Render one format and write its files (atomically) inside `outdir`."""
    written = []
    root = Path(outdir).resolve()
    for rel, content in render(fmt, entries, settings).items():
        target = (root / rel).resolve()
        if root not in target.parents:
            raise ValueError(f"export path outside the output folder: {rel}")
        target.parent.mkdir(parents=True, exist_ok=True)
        written.append(atomic_write(target, content))
    return written


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
