"""Results built in memory, for the tests of what is made of them (exports, messages)."""

from __future__ import annotations

from typing import Any

from grader import __version__
from grader.models import CheckResult, ExecutionInfo, GradeResult, Metrics


def result(assignment: Any, passes: dict[str, bool], lang: str = "en", status: str = "ok", printed: str = "") -> GradeResult:
    """A graded result of `assignment` whose checks pass but where `passes` says False."""
    checks = tuple(
        CheckResult(id=c, passed=passes.get(c, True), score=p if passes.get(c, True) else 0.0, max_score=p,
                    message=f"{c} {'ok' if passes.get(c, True) else 'failed'}{printed}", required=f"{c} required",
                    measured="measured", hint="" if passes.get(c, True) else "do better", blocking=c != "skeleton_integrity")
        for c, p in assignment.points.items()
    )
    passed = all(c.passed for c in checks if c.blocking)
    return GradeResult(assignment=assignment.id, submission="nb.ipynb", passed=passed, score=sum(c.score for c in checks),
                       max_score=sum(c.max_score for c in checks), checks=checks, metrics=Metrics(epochs_run=3),
                       errors=() if passed else ("Cell 2 raised ValueError",), duration_s=12.3,
                       execution=ExecutionInfo(status=status, message="" if status == "ok" else "failed"), lang=lang,
                       grader_version=__version__)
