"""Gradescope's autograder mode: inside Gradescope's container, grade the one notebook or module in
the submission folder and write Gradescope's `results.json`.

The grading runs in a batch worker process (:mod:`grader.batch.local`), so a submission that crashes
or kills its interpreter still gets a `results.json`, with a failed result. The zip an instructor
uploads is built by :mod:`grader.exports.autograder_zip`; the command is `grader gradescope`.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from grader.batch import local
from grader.common.files import atomic_write

if TYPE_CHECKING:
    from grader.assignment import Assignment
    from grader.models import GradeResult
    from grader.options import Options

SUBMISSION_DIR = Path("/autograder/submission")
RESULTS_PATH = Path("/autograder/results/results.json")


def grade_submission(submission_dir: Path, assignment: Assignment, options: Options) -> GradeResult:
    """The GradeResult for the one gradable file in `submission_dir` (a failed one if there is none)."""
    from grader.batch.discovery import candidates
    from grader.batch.jobs import grading_job
    from grader.batch.machine import usable_cores
    from grader.batch.results import crash_result, failed_result
    from grader.i18n import t
    from grader.models import GradeResult
    from grader.options import resolve

    settings = resolve(assignment, options)  # the same effective settings as `grader grade` and a batch
    lang = settings.lang
    files = candidates(submission_dir) if submission_dir.is_dir() else []
    if not files:
        return failed_result(assignment, submission_dir.name, lang, "invalid", t(lang, "summary.gradescope.no_file"), timeout_s=settings.timeout_s)
    if len(files) > 1:
        names = ", ".join(p.relative_to(submission_dir).as_posix() for p in files[:10])
        return failed_result(assignment, files[0].name, lang, "invalid", t(lang, "summary.gradescope.several", names=names), timeout_s=settings.timeout_s)
    outcome = local.run_job(grading_job("submission", "", files[0], assignment, settings, threads=usable_cores()))
    if outcome["outcome"] == "graded":
        try:
            return GradeResult.from_dict(outcome["result"])
        except Exception as exc:  # noqa: BLE001
            outcome = {**outcome, "kind": "bad_result", "message": str(exc)[:300]}
    if outcome.get("log_tail"):
        print(outcome["log_tail"], file=sys.stderr)  # Gradescope shows stdout/stderr to instructors only
    return crash_result(assignment, files[0].name, lang, outcome, timeout_s=settings.timeout_s)


def autograde(submission_dir: Path, assignment: Assignment, options: Options, results_path: Path,
              visibility: str = "visible") -> GradeResult:
    """Provision the data set, grade the submission folder and write its `results.json`; the result."""
    from grader.data.datasets import ensure_dataset
    from grader.exports.gradescope import results

    ensure_dataset(assignment.dataset, options.data_dir)
    result = grade_submission(submission_dir, assignment, options)
    write_results(results(result, visibility), results_path)
    return result


def write_failure(results_path: Path, exc: BaseException, lang: str, elapsed: float) -> Path:
    """A `results.json` saying that the autograder itself failed (Gradescope must get one whatever happens)."""
    from grader.i18n import t

    return write_results(failure_results(t(lang, "summary.gradescope.failed", error=f"{type(exc).__name__}: {exc}"), elapsed), results_path)


def write_results(data: dict[str, Any], path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    return atomic_write(path, json.dumps(data, ensure_ascii=False, indent=2))


def failure_results(message: str, elapsed: float) -> dict[str, Any]:
    return {"score": 0.0, "execution_time": int(elapsed), "output": message, "output_format": "text", "stdout_visibility": "hidden", "tests": []}
