"""Gradescope's autograder results format (`results.json`), one file per submission.

Fields follow Gradescope's specification: top level `score`, `execution_time`, `output`,
`output_format`, `test_output_format`, `test_name_format`, `visibility`, `stdout_visibility`,
`extra_data`, `tests`; each test (one per check) `score`, `max_score`, `status`
("passed"/"failed"), `name`, `name_format`, `number`, `output`, `output_format`, `tags`,
`visibility`. The same function writes `/autograder/results/results.json` in `grader gradescope`.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from grader.exports.common import Entry, ExportSettings
from grader.models import CheckResult, GradeResult

VISIBILITIES = ("hidden", "after_due_date", "after_published", "visible")
OUTPUT_FORMATS = ("text", "html", "simple_format", "md", "ansi")


def check_name(check: CheckResult, lang: str) -> str:
    from grader.i18n import t

    try:
        return t(lang, f"summary.check_names.{check.id}")
    except KeyError:
        return check.id


def check_output(check: CheckResult, lang: str = "en") -> str:
    """One check's test output, labelled in the result's language."""
    from grader.i18n import t

    shown = {"required": check.required, "measured": check.measured, "hint": check.hint if not check.passed else None}
    lines = [check.message, *(t(lang, f"summary.gradescope.{key}", value=value) for key, value in shown.items() if value)]
    if not check.blocking:
        lines.append(t(lang, "summary.gradescope.advisory"))
    return "\n".join(lines)


def results(result: GradeResult, visibility: str = "visible", stdout_visibility: str = "hidden") -> dict[str, Any]:
    """The `results.json` document for one graded submission."""
    from grader.report.summary import summary

    if visibility not in VISIBILITIES or stdout_visibility not in VISIBILITIES:
        raise ValueError(f"visibility must be one of {', '.join(VISIBILITIES)}")
    tests = [
        {
            "score": check.score,
            "max_score": check.max_score,
            "status": "passed" if check.passed else "failed",
            "name": check_name(check, result.lang),
            "name_format": "text",
            "number": str(number),
            "output": check_output(check, result.lang),
            "output_format": "text",
            "tags": [check.id, "blocking" if check.blocking else "advisory"],
            "visibility": visibility,
        }
        for number, check in enumerate(result.checks, start=1)
    ]
    return {
        "score": result.score,
        "execution_time": max(0, int(round(result.duration_s))),
        "output": summary(result),
        "output_format": "text",
        "test_output_format": "text",
        "test_name_format": "text",
        "visibility": visibility,
        "stdout_visibility": stdout_visibility,
        "extra_data": {
            "assignment": result.assignment,
            "submission": result.submission,
            "passed": result.passed,
            "max_score": result.max_score,
            "execution_status": result.execution.status,
            "grader_version": result.grader_version,
        },
        "tests": tests,
    }


def files(entries: Sequence[Entry], settings: ExportSettings) -> dict[str, str]:
    return {
        f"exports/gradescope/{e.folder}/results.json": json.dumps(
            results(e.result, settings.visibility, settings.stdout_visibility), ensure_ascii=False, indent=2
        ) + "\n"
        for e in entries
    }
