"""The `GradeResult` of a worker's outcome: the result it sent, or a failed one when it produced none."""

from __future__ import annotations

from typing import TYPE_CHECKING

from grader import __version__
from grader.batch.jobs import Outcome

if TYPE_CHECKING:
    from grader.assignment import Assignment
    from grader.models import ExecutionInfo, GradeResult

_CRASH_STATUS = {"timeout": "timeout", "signal": "kernel_died", "exit": "kernel_died", "lost": "kernel_died"}


def failed_result(assignment: Assignment, filename: str, lang: str, status: str, message: str, duration_s: float = 0.0, *,
                  timeout_s: float | None = None) -> GradeResult:
    """A failed `GradeResult` for a submission the grader could not grade: every check fails.
    `timeout_s`: the grading's effective time limit (`grader.options.resolve`), which the
    execution check's requirement states; None: the assignment's."""
    from grader.i18n import t
    from grader.models import CheckResult, ExecutionInfo, GradeResult, Metrics

    not_graded = t(lang, "summary.batch.not_graded")
    execution = ExecutionInfo(status=status, message=message, timeout_s=timeout_s)  # type: ignore[arg-type]
    checks = tuple(
        CheckResult(
            id=check_id,
            passed=False,
            score=0.0,
            max_score=float(points),
            message=message if check_id == "execution" else not_graded,
            required=_required(assignment, check_id, execution, lang),
            measured="—",
            blocking=not (check_id == "skeleton_integrity" and assignment.integrity != "enforce"),
        )
        for check_id, points in assignment.points.items()
    )
    return GradeResult(
        assignment=assignment.id,
        submission=filename,
        passed=False,
        score=0.0,
        max_score=float(sum(assignment.points.values())),
        checks=checks,
        metrics=Metrics(),
        errors=(message,),
        duration_s=round(duration_s, 3),
        execution=execution,
        lang=lang,
        grader_version=__version__,
    )


def _required(assignment: Assignment, check_id: str, execution: ExecutionInfo, lang: str) -> str:
    """What the check requires, in the words the grader uses for it (empty if that cannot be had)."""
    try:
        from grader.models import Evaluation, Recording
        from grader.rules.checks import Measured, required_text

        return required_text(check_id, Measured(assignment, Recording(), Evaluation(), execution, None, lang))
    except Exception:  # noqa: BLE001 - a nicety: a failed result must be made whatever happens
        return ""


def crash_result(assignment: Assignment, filename: str, lang: str, outcome: Outcome, *, timeout_s: float | None = None) -> GradeResult:
    """The failed result of a crashed grading, with a message in `lang` that says how it crashed."""
    from grader.i18n import t

    kind = outcome.get("kind") or "error"
    detail = str(outcome.get("message") or "")
    messages = {
        "timeout": lambda: t(lang, "summary.batch.crash_timeout", limit=detail),
        "signal": lambda: t(lang, "summary.batch.crash_signal", signal=detail),
        "exit": lambda: t(lang, "summary.batch.crash_exit", code=detail),
        "lost": lambda: t(lang, "summary.batch.crash_lost", error=detail),
        "version": lambda: t(lang, "summary.batch.crash_version", error=detail),
        "bad_result": lambda: t(lang, "summary.batch.crash_bad_result", error=detail),
        "stopped": lambda: t(lang, "summary.batch.crash_stopped"),
        "result_too_large": lambda: t(lang, "summary.batch.crash_result_too_large", limit=detail),
        "unreadable_error": lambda: t(lang, "summary.batch.crash_unreadable_error"),
        "wrong_assignment": lambda: t(lang, "summary.batch.crash_wrong_assignment", assignment=detail),
    }
    message = messages.get(kind, lambda: t(lang, "summary.batch.crash_error", error=detail))()
    return failed_result(assignment, filename, lang, _CRASH_STATUS.get(kind, "not_run"), message, float(outcome.get("wall_s") or 0.0), timeout_s=timeout_s)


def result_of_outcome(assignment: Assignment, filename: str, lang: str, outcome: Outcome, *,
                      timeout_s: float | None = None) -> tuple[GradeResult, bool]:
    """(the result, whether the grading crashed): a result for another assignment, or unreadable, is a crash."""
    from grader.models import GradeResult

    if outcome.get("outcome") == "graded":
        try:
            result = GradeResult.from_dict(outcome["result"])
        except Exception as exc:  # noqa: BLE001 - an unusable result is a crash of this grading
            outcome = {**outcome, "kind": "bad_result", "message": f"{type(exc).__name__}: {exc}"[:300]}
        else:
            if result.assignment != assignment.id:
                outcome = {**outcome, "kind": "wrong_assignment", "message": str(result.assignment)[:100]}
            elif not isinstance(result.passed, bool):
                outcome = {**outcome, "kind": "bad_result", "message": "passed"}  # the field that is not a boolean
            else:
                return result, False
    return crash_result(assignment, filename, lang, outcome, timeout_s=timeout_s), True
