"""Helpers shared by the batch tests: fake results and runners, a class folder, settings."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from grader import __version__
from grader.batch.jobs import Job
from grader.batch.run import BatchSettings
from grader.models import CheckResult, ExecutionInfo, GradeResult, Metrics


def fake_result(assignment: Any, filename: str, passed: bool, lang: str = "en") -> GradeResult:
    checks = tuple(
        CheckResult(id=c, passed=passed, score=p if passed else 0.0, max_score=p, message="ok" if passed else "not ok",
                    blocking=c != "skeleton_integrity")
        for c, p in assignment.points.items()
    )
    return GradeResult(
        assignment=assignment.id, submission=filename, passed=passed, score=sum(c.score for c in checks),
        max_score=sum(c.max_score for c in checks), checks=checks, metrics=Metrics(), errors=() if passed else ("it failed",),
        duration_s=1.5, execution=ExecutionInfo(status="ok" if passed else "error", message="" if passed else "boom"), lang=lang,
        grader_version=__version__,
    )


class FakeRunner:
    """Grades by content: 'PASS' passes, 'CRASH' crashes the worker, 'GARBAGE' returns nonsense, else fails."""

    def __init__(self, assignment: Any) -> None:
        self.assignment = assignment
        self.calls: list[str] = []
        self.threads: list[int | None] = []

    def __call__(self, job: Job, **_: Any) -> dict[str, Any]:  # `workers=`: when it stands in for `local.run_job`
        self.calls.append(job.student)
        self.threads.append(job.threads)
        text = Path(job.path).read_text() if job.path else job.payload.decode()
        base = {"student": job.student, "key": job.key, "kind": "", "message": "", "log_tail": "worker output", "wall_s": 0.1}
        if "CRASH" in text:
            return {**base, "outcome": "crashed", "kind": "signal", "message": "SIGKILL", "result": None}
        if "GARBAGE" in text:
            return {**base, "outcome": "graded", "result": {"what": "no"}}
        return {**base, "outcome": "graded", "result": fake_result(self.assignment, job.filename, "PASS" in text).to_dict()}


def make_class(root: Path, **files: str) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        path = root / name.replace("__", "/")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def settings(out: Path, **kw: Any) -> BatchSettings:
    return BatchSettings(outdir=out, progress="none", summary=kw.pop("summary", False), **kw)


def rows(out: Path) -> dict[str, tuple]:
    db = sqlite3.connect(out / "gradebook.sqlite")
    try:
        return {r[0]: r[1:] for r in db.execute("SELECT student, outcome, gradings, graded_at, passed FROM results")}
    finally:
        db.close()


