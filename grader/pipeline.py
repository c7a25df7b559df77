"""Grading one submission: load → clear outputs → execute → read the record → evaluate → check.

Each step is a small function whose inputs are in its signature. What the submission does wrong
becomes part of the `GradeResult`; only faults of the grader or its configuration raise.
"""

from __future__ import annotations

import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from grader import __version__
from grader.assignment import Assignment
from grader.checks import Measured, metrics_of, run_checks
from grader.datasets import ensure_mnist
from grader.evaluate import evaluate_model
from grader.execute import RunSpec, execute
from grader.i18n import t
from grader.integrity import compare
from grader.models import Evaluation, ExecutionInfo, Finding, GradeResult, Recording
from grader.precheck import localise, precheck
from grader.record import RecordError, read_recording
from grader.submission import InvalidSubmission, Submission, load_submission


@dataclass(frozen=True)
class Options:
    """How to grade: everything optional has the assignment's default."""

    lang: str | None = None
    timeout_s: float | None = None
    seed: int | None = 0
    entry: str | None = None
    data_dir: Path | None = None
    full: bool = False  # run everything: no verdict from the pre-check alone, no early stop
    kernel_prefix: tuple[str, ...] = ()
    env: dict[str, str] = field(default_factory=dict)


def grade(path: Path, assignment: Assignment, options: Options = Options()) -> GradeResult:
    """Grade the submission at `path`; a bad submission is a failed result, never an exception."""
    started = time.monotonic()
    lang = options.lang or assignment.default_lang
    mnist = ensure_mnist(options.data_dir)
    try:
        submission = load_submission(path)
    except InvalidSubmission as exc:
        info = ExecutionInfo(status="invalid", message=str(exc))
        return assemble(assignment, path, lang, info, Recording(), Evaluation(), None, [str(exc)], started)
    findings = tuple(localise(f, lang) for f in precheck([c.source for c in submission.code_cells], assignment))
    integrity = skeleton_integrity(assignment, submission)
    certain = [f for f in findings if f.certain]
    if certain and not options.full:
        info = ExecutionInfo(status="not_run", message=certain[0].message)
        return assemble(assignment, path, lang, info, Recording(), Evaluation(), integrity, [f.message for f in certain], started, findings)
    with tempfile.TemporaryDirectory(prefix="grader-") as tmp:
        spec = RunSpec(
            workdir=Path(tmp) / "work",
            rundir=Path(tmp) / "run",
            mnist_path=mnist,
            timeout_s=options.timeout_s or assignment.timeout_s,
            seed=options.seed,
            entry=options.entry or assignment.entry,
            limits=None if options.full else early_stop_limits(assignment),
            env=options.env,
            kernel_prefix=options.kernel_prefix,
        )
        info = execute(submission.notebook, spec)
        errors = [info.message] if info.status != "ok" and info.message else []
        recording, record_error = read_record(spec)
        errors += [record_error] if record_error else []
        evaluation = Evaluation()
        if info.status != "stopped":
            evaluation = evaluate_model(spec.model_dir, mnist, recording.input_transform, spec.rundir / "evaluation.json", prefix=options.kernel_prefix)
        if evaluation.error and recording.fits:
            errors.append(t(lang, "checks.test_accuracy.unknown", reason=recording.export_error or evaluation.error))
    return assemble(assignment, path, lang, info, recording, evaluation, integrity, errors, started, findings)


def early_stop_limits(assignment: Assignment) -> dict[str, int | None]:
    """The rules the kernel can see broken before training ends: stop right there."""
    limits = {"max_epochs": assignment.training.max_epochs if "epoch_limit" in assignment.points else None}
    if "layer_limit" in assignment.points:
        limits.update(max_conv=assignment.limits.max_conv, max_pool=assignment.limits.max_pool)
    return limits


def read_record(spec: RunSpec) -> tuple[Recording, str | None]:
    try:
        return read_recording(spec.record_path), None
    except RecordError as exc:
        return Recording(), f"The grader's record of your training was damaged ({exc}); nothing recorded could be used."


def skeleton_integrity(assignment: Assignment, submission: Submission) -> tuple[bool, str] | None:
    if assignment.integrity == "off" or not assignment.skeleton_path.is_file():
        return None
    skeleton = nbformat.read(assignment.skeleton_path, as_version=4)
    return compare(skeleton, submission.notebook)


def assemble(
    assignment: Assignment,
    path: Path,
    lang: str,
    info: ExecutionInfo,
    recording: Recording,
    evaluation: Evaluation,
    integrity: tuple[bool, str] | None,
    errors: list[str],
    started: float,
    findings: tuple[Finding, ...] = (),
) -> GradeResult:
    measured = Measured(assignment, recording, evaluation, info, integrity, lang, findings)
    checks = run_checks(measured)
    return GradeResult(
        assignment=assignment.id,
        submission=path.name,
        passed=all(c.passed for c in checks if c.blocking),
        score=sum(c.score for c in checks),
        max_score=sum(c.max_score for c in checks),
        checks=checks,
        metrics=metrics_of(recording, evaluation),
        errors=tuple(dict.fromkeys(errors)),
        duration_s=round(time.monotonic() - started, 3),
        execution=info,
        recording=recording,
        evaluation=evaluation,
        findings=findings,
        lang=lang,
        grader_version=__version__,
    )

