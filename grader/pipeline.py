"""Grading one submission: load → clear outputs → execute → read the record → evaluate → check.

Each step is a small function whose inputs are in its signature. What the submission does wrong
becomes part of the `GradeResult`; only faults of the grader or its configuration raise.
"""

from __future__ import annotations

import contextlib
import time
from dataclasses import replace
from pathlib import Path

import nbformat

from grader import __version__
from grader.assignment import Assignment
from grader.data.datasets import ensure_dataset
from grader.data.heldout import prepare
from grader.errors import GraderError
from grader.i18n import t
from grader.last_resort import encodable, last_resort_result
from grader.models import Evaluation, ExecutionInfo, Finding, GradeResult, Recording
from grader.options import Options, Settings, resolve
from grader.rules.checks import Measured, execution_message, metrics_of, run_checks, stop_reason
from grader.rules.integrity import compare
from grader.rules.precheck import localise, precheck
from grader.run.evaluate import Evaluator
from grader.run.execute import RunSpec, execute
from grader.run.figures import prepare_matplotlib
from grader.run.record import RecordError, read_recording
from grader.run.submission import InvalidSubmission, Submission, load_submission
from grader.sandbox.core import Sandbox
from grader.sandbox.output import grading_folder

EVALUATION_MIN_S, EVALUATION_MAX_S = 20.0, 300.0  # the evaluation's time, whatever is left of the limit
MISMATCH_MARGIN = 0.03  # recorded last-epoch accuracy may exceed what the exported model achieves by this
LOSS_MARGIN, LOSS_SHARE = 0.05, 0.10  # recorded loss may be below the measured one by the larger of these


def grade(path: Path, assignment: Assignment, options: Options = Options()) -> GradeResult:
    """Grade the submission at `path`; a bad submission is a failed result, never an exception.

    Only the grader's own errors (`GraderError`: configuration, data set, sandbox) raise. Anything
    else that goes wrong, whatever the submission provoked, gives a failed result of last resort;
    every result is made safe to encode (text from the sandbox may hold lone surrogates).
    What `options` leave open takes its default from `grader.options.resolve`."""
    started = time.monotonic()
    settings = resolve(assignment, options)
    try:
        return encodable(_grade(path, assignment, settings))
    except GraderError:
        raise
    except Exception as exc:  # noqa: BLE001 - the last line of defence: result.json is always written
        return last_resort_result(assignment, path.name, settings.lang, exc, started)


def _grade(path: Path, assignment: Assignment, settings: Settings) -> GradeResult:
    started = time.monotonic()
    lang = settings.lang
    mnist = ensure_dataset(assignment.dataset, settings.data_dir)  # mnist.npz or fashion_mnist.npz: the kernel tells them by name
    try:
        submission = load_submission(path)
    except InvalidSubmission as exc:
        info = ExecutionInfo(status="invalid", message=exc.localised(lang), exception=exc.localised(lang), timeout_s=settings.timeout_s)
        return assemble(assignment, path, lang, info, Recording(), Evaluation(), None, [execution_message(info, assignment, lang)], started)
    findings = tuple(localise(f, lang) for f in precheck([c.source for c in submission.code_cells], assignment))
    integrity = skeleton_integrity(assignment, submission)
    certain = [f for f in findings if f.certain]
    if certain and not settings.full:
        info = ExecutionInfo(status="not_run", message=certain[0].message, timeout_s=settings.timeout_s)
        return assemble(assignment, path, lang, info, Recording(), Evaluation(), integrity, [f.message for f in certain], started, findings)
    with grading_folder("grader-") as tmp:  # removed however deep a tree the submission left in it
        sandbox = Sandbox(Path(tmp), mode=settings.sandbox, limits=settings.limits())  # the time limit sizes the CPU time limit too
        held = prepare(mnist, Path(tmp))  # the kernel's copy of the data set, without the held-out rows
        with contextlib.ExitStack() as stack:
            stack.callback(sandbox.close)
            spec = RunSpec(
                workdir=sandbox.writable_dir("work"),  # under bubblewrap, a private tmpfs is mounted over it
                rundir=sandbox.writable_dir("run"),
                mnist_path=sandbox.readable_copy(held.kernel_store),
                timeout_s=settings.timeout_s,
                seed=settings.seed,
                entry=settings.entry,
                limits=None if settings.full else early_stop_limits(assignment),
                env=settings.env,
                kernel_prefix=settings.kernel_prefix,
                sandbox=sandbox,
                ipc_dir=sandbox.writable_dir("ipc"),
                packages=assignment.packages,
                lang=lang,  # the run's verdicts speak the result's language
            )
            prepare_matplotlib(spec.rundir / "matplotlib", sandbox.give)  # the kernel's MPLCONFIGDIR (grader.run.execute.kernel_env)
            # Started first, as a uid of its own: its TensorFlow import overlaps the kernel's run.
            evaluator = Evaluator(held, settings.kernel_prefix, sandbox)
            stack.callback(evaluator.close)
            info = execute(submission.notebook, spec)  # returns when no process of the submission is left
            errors = [execution_message(info, assignment, lang)] if info.status not in ("ok", "stopped") else []  # stopped: assemble() says why
            recording, record_error = read_record(spec, lang)
            errors += [record_error] if record_error else []
            evaluation = Evaluation()
            measuring = time.monotonic()
            if info.status != "stopped":
                evaluation = evaluator.measure(spec.model_dir, recording.input_transform, evaluation_budget(started, spec.timeout_s), lang)
            info = replace(info, timings={**info.timings, "evaluation": round(time.monotonic() - measuring, 3)})
            info, measured = judge_measurement(info, recording, evaluation, assignment, lang)
            errors += measured
            if info.output_truncated:
                errors.append(t(lang, "checks.execution.output_truncated", limit=sandbox.limits.output_chars))
    return assemble(assignment, path, lang, info, recording, evaluation, integrity, errors, started, findings)


def judge_measurement(info: ExecutionInfo, recording: Recording, evaluation: Evaluation, assignment: Assignment,
                      lang: str) -> tuple[ExecutionInfo, list[str]]:
    """What the evaluation says of a run, from the record and the measurement alone (a grading, and a
    regrade of its stored result, both judge it here): the evaluation's failure, and a record that
    does not match the exported model (on the loss too when the rule is on the loss), which turns
    a run that went well into `record_mismatch`."""
    errors = []
    if evaluation.error and recording.fits:
        errors.append(t(lang, "checks.test_accuracy.unknown", reason=recording.export_error or evaluation.error))
    mismatch = record_mismatch(recording, evaluation, lang, loss=assignment.training.below)
    if mismatch and info.status == "ok":
        info = replace(info, status="record_mismatch", message=mismatch, exception=mismatch)
        errors.append(execution_message(info, assignment, lang))
    return info, errors


def evaluation_budget(started: float, timeout_s: float) -> float:
    """Seconds the evaluation may take: what is left of the grading's time limit, at least
    EVALUATION_MIN_S (an honest evaluation takes seconds), at most EVALUATION_MAX_S. A graph that
    loops for ever cannot keep the grader much past the limit the student was given."""
    left = started + timeout_s - time.monotonic()
    return min(EVALUATION_MAX_S, max(EVALUATION_MIN_S, left))


def early_stop_limits(assignment: Assignment) -> dict[str, int | None]:
    """The rules the kernel can see broken before training ends: stop right there."""
    limits = {"max_epochs": assignment.training.max_epochs if "epoch_limit" in assignment.points else None}
    if "layer_limit" in assignment.points:
        limits.update(max_conv=assignment.limits.max_conv, max_pool=assignment.limits.max_pool)
    return limits


def read_record(spec: RunSpec, lang: str = "en") -> tuple[Recording, str | None]:
    """The kernel's record; the sandbox is gone by now, so it cannot change while it is read."""
    try:
        if spec.record_path.is_symlink() or (spec.record_path.exists() and not spec.record_path.is_file()):
            raise RecordError(key="record.not_regular")
        return read_recording(spec.record_path), None
    except RecordError as exc:
        return Recording(), t(lang, "input.record.damaged", reason=exc.localised(lang))


def record_mismatch(recording: Recording, evaluation: Evaluation, lang: str, *, loss: bool = False) -> str | None:
    """A message when the last recorded training accuracy is far above what the exported model
    achieves on training images the grader chose, or (with `loss`: the assignment's rule is on the
    loss) the recorded loss far below the cross-entropy measured there: the record (written inside
    the kernel) was forged or doctored."""
    epochs = recording.all_epochs
    if not epochs:
        return None
    last, images = epochs[-1], f"{evaluation.train_images:,}"
    recorded, measured = last.accuracy, evaluation.train_accuracy
    if recorded is not None and measured is not None and recorded - measured > MISMATCH_MARGIN:
        return t(lang, "checks.execution.mismatch_detail", recorded=f"{recorded * 100:.2f}%", measured=f"{measured * 100:.2f}%", images=images)
    recorded, measured = last.loss, evaluation.train_loss
    if loss and recorded is not None and measured is not None and measured - recorded > max(LOSS_MARGIN, LOSS_SHARE * measured):
        return t(lang, "checks.execution.mismatch_loss_detail", recorded=f"{recorded:.4f}", measured=f"{measured:.4f}", images=images)
    return None


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
    if info.status == "stopped":  # why, judged on the record, in the report's language
        errors = [execution_message(info, assignment, lang, stop_reason(measured)), *errors]
        info = replace(info, message=errors[0])  # the kernel gave its reason in English: the message says why, in `lang`
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

