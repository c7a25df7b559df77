"""Plain helpers of the regrade tests: a small class, a runner that grades each submission without
a kernel but the way the pipeline does (the pre-check and the skeleton comparison for real, then the
run its file names, `# kind: ...`, assembled by `grader.pipeline.assemble` into a result with a
record, an evaluation and the sandbox that ran it), and an edit of an assignment's TOML. The
fixtures are in conftest.py."""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from grader.assignment import Assignment, load_assignment
from grader.batch.jobs import Job
from grader.i18n import t
from grader.models import Evaluation, ExecutionInfo, FitRecord, GradeResult, Recording
from grader.pipeline import assemble, record_mismatch, skeleton_integrity
from grader.rules.execution import execution_message
from grader.rules.precheck import localise, precheck
from grader.run.submission import load_submission
from tests.support.recordings import EVALUATED, epochs

ROOT = Path(__file__).resolve().parents[2]
SANDBOX = "bubblewrap (a test's)"
CLASS = {  # student: the run its file names; erin's does not parse, so the pre-check alone judges it
    "alice": "# kind: pass\nx = 1\n",
    "bob": "# kind: near\nx = 2\n",
    "carol": "# kind: stopped\nx = 3\n",
    "dave": "# kind: timeout\nx = 4\n",
    "erin": "# kind: syntax\ndef broken(:\n",
}


def fit(requested: int, accuracies: tuple[float, ...], message: str | None = None, completed: bool = True) -> FitRecord:
    """One fit whose last epoch prints `message` and stops training (None: neither)."""
    last = len(accuracies) - 1
    records = epochs(accuracies, {last: f"\n{message}\n"} if message else {}, stop_at=last if message else None)
    return FitRecord(epochs_requested=requested, initial_epoch=0, accuracy_metric="accuracy", epochs=records, completed=completed)


def run_of(kind: str, a: Assignment, timeout_s: float, lang: str) -> tuple[ExecutionInfo, Recording, Evaluation, list[str]]:
    """What running a submission of `kind` gave: how it went, its record, the evaluation, the errors."""
    message = a.training.stop_messages[-1]
    info = ExecutionInfo(status="ok", sandbox=SANDBOX, timeout_s=timeout_s, duration_s=30.0, timings={"student_cells": 25.0})
    if kind == "pass":
        return info, Recording(fits=(fit(5, (0.94, 0.96, 0.97, 0.979, 0.9912), message),)), EVALUATED, []
    if kind == "near":  # ends at 98.5%: passes a threshold of 0.98, not one of 0.99
        return info, Recording(fits=(fit(5, (0.94, 0.97, 0.985), message),)), EVALUATED, []
    if kind == "stopped":  # two fits of 6 epochs: the grader stops the run as epoch limit + 1 begins
        first = min(6, a.training.max_epochs)
        second = a.training.max_epochs - first
        fits = (fit(6, (0.9,) * first), fit(6, (0.95,) * second, completed=False))
        stop = replace(info, status="stopped", message=f"epoch {a.training.max_epochs + 1} was about to start", cell=1)
        return stop, Recording(fits=fits, stopped_by="epoch_limit"), Evaluation(), []
    if kind == "timeout":
        timed_out = replace(info, status="timeout", message="time limit", duration_s=timeout_s, cell=1)
        evaluation = Evaluation(error="no model was exported")
        errors = [execution_message(timed_out, a, lang), t(lang, "checks.test_accuracy.unknown", reason=evaluation.error)]
        return timed_out, Recording(fits=(fit(5, (0.9, 0.92, 0.93)),)), evaluation, errors
    if kind == "mismatch":  # the record claims 99.12%; the model reaches 50% on the grader's training images
        evaluation = replace(EVALUATED, train_accuracy=0.5, train_images=512)
        recording = Recording(fits=(fit(5, (0.94, 0.96, 0.97, 0.979, 0.9912), message),))
        mismatch = record_mismatch(recording, evaluation, lang, loss=a.training.below) or ""
        forged = replace(info, status="record_mismatch", message=mismatch, exception=mismatch)
        return forged, recording, evaluation, [execution_message(forged, a, lang)]
    if kind == "damaged":  # the record could not be read: nothing recorded, no model
        return info, Recording(), Evaluation(error="no model was exported"), [t(lang, "input.record.damaged", reason="not JSON")]
    if kind == "truncated":
        return replace(info, output_truncated=True), Recording(fits=(fit(5, (0.94, 0.985), message),)), EVALUATED, [
            t(lang, "checks.execution.output_truncated", limit=100_000)]
    raise ValueError(kind)


def grade_like_pipeline(path: Path, a: Assignment, timeout_s: float | None = None, full: bool = False, lang: str = "en") -> GradeResult:
    """`path` graded as `grader.pipeline` grades it, but with the run its file names instead of a kernel."""
    submission = load_submission(path)
    timeout = float(timeout_s or a.timeout_s)
    findings = tuple(localise(f, lang) for f in precheck([c.source for c in submission.code_cells], a))
    integrity = skeleton_integrity(a, submission)
    certain = [f for f in findings if f.certain]
    if certain and not full:
        info = ExecutionInfo(status="not_run", message=certain[0].message, timeout_s=timeout)
        return replace(assemble(a, path, lang, info, Recording(), Evaluation(), integrity, [f.message for f in certain], 0.0, findings), duration_s=1.0)
    kind = re.search(r"# kind: (\w+)", path.read_text()).group(1)  # type: ignore[union-attr]
    info, recording, evaluation, errors = run_of(kind, a, timeout, lang)
    return replace(assemble(a, path, lang, info, recording, evaluation, integrity, errors, 0.0, findings), duration_s=31.0)


@dataclass
class Runner:
    """A batch runner that grades with `grade_like_pipeline`, against the assignment the job names."""

    calls: list[str] = field(default_factory=list)

    def __call__(self, job: Job, **_: Any) -> dict[str, Any]:
        self.calls.append(job.student)
        assignment = load_assignment(Path(job.assignment_ref or ""))
        options = job.options
        result = grade_like_pipeline(Path(job.path or ""), assignment, options.get("timeout_s"), bool(options.get("full")), options.get("lang") or "en")
        return {"student": job.student, "key": job.key, "outcome": "graded", "result": result.to_dict(), "kind": "", "message": "",
                "log_tail": "", "wall_s": 0.1}


def edit(folder: Path, old: str, new: str) -> Assignment:
    """The assignment in `folder` with `old` replaced by `new` in its TOML."""
    toml = folder / "assignment.toml"
    text = toml.read_text(encoding="utf-8")
    assert old in text
    toml.write_text(text.replace(old, new), encoding="utf-8")
    return load_assignment(folder)
