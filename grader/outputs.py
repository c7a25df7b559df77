"""Writing a graded result to its output folder: `result.json` and `report.html`."""

from __future__ import annotations

import json
from pathlib import Path

from grader.assignment import Assignment
from grader.models import GradeResult


def write_json(result: GradeResult, outdir: Path) -> Path:
    """`result.json`, written atomically (a reader never sees half a file)."""
    outdir.mkdir(parents=True, exist_ok=True)
    target = outdir / "result.json"
    tmp = outdir / ".result.json.tmp"
    tmp.write_text(json.dumps(result.to_dict(), ensure_ascii=False, indent=2), encoding="utf-8")
    tmp.replace(target)
    return target


def write_outputs(result: GradeResult, assignment: Assignment | None, outdir: Path) -> list[Path]:
    from grader.report import write_report

    return [write_json(result, outdir), write_report(result, assignment, result.lang, outdir / "report.html")]
