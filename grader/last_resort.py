"""The result of last resort, and results that can always be written.

Grading turns everything a submission does into a result; when assembling that result fails anyway
(a fault nobody foresaw, perhaps provoked by hostile input), `last_resort_result` still gives a
failed `GradeResult` with a clear, localised message, so that `result.json` is always written.
`encodable` makes any result safe to encode: text that came from the sandbox may hold lone
surrogates, which UTF-8 cannot encode.
"""

from __future__ import annotations

import logging
import os
import time

from grader import __version__
from grader.assignment import Assignment
from grader.i18n import t
from grader.models import CheckResult, ExecutionInfo, GradeResult, Metrics
from grader.untrusted import clean, safe_text

log = logging.getLogger("grader")


def describe(exc: BaseException) -> str:
    """`Type: message` of `exc`, short and safe to encode, whatever its str() does."""
    try:
        text = f"{type(exc).__name__}: {exc}"
    except Exception:  # noqa: BLE001 - str() of an exception may itself fail
        text = type(exc).__name__
    return safe_text(text[:300])


def last_resort_result(assignment: Assignment, submission: str, lang: str, exc: BaseException, started: float | None = None) -> GradeResult:
    """A failed result saying that grading could not be finished, and why. It needs nothing but
    the assignment's check ids and points, and logs the fault for the person running the grader."""
    reason = describe(exc)
    log.error("grading %s failed inside the grader (%s); a failed result was written instead", safe_text(submission), reason,
              exc_info=bool(os.environ.get("GRADER_DEBUG")))
    message = t(lang, "input.fallback.message", reason=reason)
    checks = tuple(
        CheckResult(
            id=check_id,
            passed=False,
            score=0.0,
            max_score=float(points),
            message=message if i == 0 else t(lang, "input.fallback.not_checked"),
            hint=t(lang, "input.fallback.hint"),
        )
        for i, (check_id, points) in enumerate(assignment.points.items())
    )
    return GradeResult(
        assignment=assignment.id,
        submission=safe_text(submission),
        passed=False,
        score=0.0,
        max_score=sum(c.max_score for c in checks),
        checks=checks,
        metrics=Metrics(),
        errors=(message,),
        duration_s=round(time.monotonic() - started, 3) if started is not None else 0.0,
        execution=ExecutionInfo(status="error", message=message, exception=reason),
        lang=lang,
        grader_version=__version__,
    )


def encodable(result: GradeResult) -> GradeResult:
    """`result` with every string safe to encode as UTF-8 (lone surrogates replaced by U+FFFD)."""
    return GradeResult.from_dict(clean(result.to_dict()))
