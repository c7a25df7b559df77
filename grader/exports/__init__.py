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

What the formats share (the entry, the settings, the number and cell rules of LMS imports) lives
in `grader.exports.common`, which imports none of them; this package keeps the registry.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from grader.common.files import atomic_write
from grader.errors import UsageError
from grader.exports import canvas, gradescope, jsonl, junit, moodle, summary
from grader.exports.common import Entry, ExportSettings, SimpleEntry, crashed, entries_from_results, number, safe_cell, scaled

__all__ = ["FORMATS", "Entry", "ExportSettings", "SimpleEntry", "crashed", "entries_from_results", "number", "render", "safe_cell", "scaled", "write_export"]

FORMATS = ("canvas", "moodle", "gradescope", "junit", "jsonl", "summary")

RENDERERS: dict[str, Callable[[Sequence[Entry], ExportSettings], dict[str, str]]] = {
    "canvas": canvas.files,
    "moodle": moodle.files,
    "gradescope": gradescope.files,
    "junit": junit.files,
    "jsonl": jsonl.files,
    "summary": summary.files,
}


def render(fmt: str, entries: Sequence[Entry], settings: ExportSettings) -> dict[str, str]:
    """{path relative to the output folder: content} for one format; pure."""
    if fmt not in RENDERERS:
        raise UsageError(f"unknown export format '{fmt}' (known: {', '.join(FORMATS)})")
    return RENDERERS[fmt](sorted(entries, key=lambda e: e.student), settings)


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
