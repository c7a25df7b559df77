"""JSON Lines: one line per student, with the whole `GradeResult` (`GradeResult.from_dict` reads it)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from grader.exports.common import Entry, ExportSettings

FILENAME = "exports/results.jsonl"


def record(entry: Entry) -> dict[str, Any]:
    return {
        "student": entry.student,
        "folder": entry.folder,
        "assignment": entry.result.assignment,
        "passed": entry.result.passed,
        "score": entry.result.score,
        "max_score": entry.result.max_score,
        "outcome": entry.outcome,
        "graded_at": entry.graded_at,
        "info": dict(entry.info),
        "result": entry.result.to_dict(),
    }


def render(entries: Sequence[Entry], settings: ExportSettings) -> str:
    return "".join(json.dumps(record(e), ensure_ascii=False, sort_keys=True) + "\n" for e in entries)


def files(entries: Sequence[Entry], settings: ExportSettings) -> dict[str, str]:
    return {FILENAME: render(entries, settings)}
