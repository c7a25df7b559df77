"""The checks: pure functions from what the grader measured to a `CheckResult` each.

Inputs are the kernel `Recording` (what Keras computed, captured by the grader's own callbacks),
the separate-process `Evaluation` and the `ExecutionInfo`; never the submission's own objects.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from grader.assignment import Training
from grader.data.heldout import REMEMBER_GAP, SHIFT_GAP
from grader.i18n import t
from grader.models import CheckResult, EpochRecord, Evaluation, Metrics, Recording
from grader.rules.execution import execution_message, missing_module, verdict_key
from grader.rules.measured import Measured, Outcome
from grader.rules.structure import check_layer_limit, check_model_structure, layer_counts, limit_text, structure_text

FULL_WIDTH = str.maketrans({"！": "!", "，": ","})
LINE_BREAKS = re.compile(r"[\r\n]+")


def normalise_message(text: str) -> str:
    """Surrounding whitespace and full-width `！`/`，` are tolerated; nothing else is."""
    return text.strip().translate(FULL_WIDTH)


def message_printed(printed: str, expected: tuple[str, ...]) -> bool:
    wanted = {normalise_message(m) for m in expected}
    return any(normalise_message(line) in wanted for line in LINE_BREAKS.split(printed))


def pct(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.2f}%"


def threshold_text(training: Training) -> str:
    """The threshold as the student reads it: a percentage for accuracy, a number for loss."""
    if training.threshold is None:
        return "—"
    return f"{training.threshold:g}" if training.below else pct(training.threshold)


def metric_text(training: Training, value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value:.4f}" if training.below else pct(value)


def metric_value(training: Training, epoch: EpochRecord) -> float | None:
    """One epoch's value of the metric the assignment's training rule is about."""
    return epoch.loss if training.below else epoch.accuracy


def metrics_of(recording: Recording, evaluation: Evaluation) -> Metrics:
    epochs = recording.all_epochs
    conv, pool = layer_counts(recording, evaluation)
    return Metrics(
        epochs_run=len(epochs),
        epochs_requested=max((f.epochs_requested for f in recording.fits), default=0),
        train_accuracy=epochs[-1].accuracy if epochs else None,
        train_loss=epochs[-1].loss if epochs else None,
        test_accuracy=evaluation.test_accuracy,
        heldout_accuracy=evaluation.heldout_accuracy,
        conv_layers=conv,
        pooling_layers=pool,
        seconds_per_epoch=round(sum(e.duration_s for e in epochs) / len(epochs), 3) if epochs else None,
    )


def stop_reason(m: Measured) -> str:
    """Why the grader stopped the run early, in the report's language: the failure of the check
    whose rule was broken, judged on what the record holds (the kernel's own words otherwise)."""
    check = m.recording.stopped_by
    if check in CHECKS and check in m.assignment.points and check != "execution":
        passed, message, _, _ = CHECKS[check](m)
        if not passed:
            return message.rstrip(".。")
    return m.execution.message


def check_execution(m: Measured) -> Outcome:
    info = m.execution
    if info.status == "ok":
        return True, m.t("execution.pass"), m.t("execution.measured_ok"), ""
    if info.status == "stopped":
        reason = stop_reason(m)
        return False, execution_message(info, m.assignment, m.lang, reason), reason, m.t("execution.hint_stopped")
    module = missing_module(info)
    if module:
        key = "hint_missing_module_provided" if module.split(".")[0] in m.assignment.packages else "hint_missing_module"
        return False, execution_message(info, m.assignment, m.lang), info.exception, m.t(f"execution.{key}", module=module)
    return False, execution_message(info, m.assignment, m.lang), info.exception or info.message, m.t(f"execution.hint_{verdict_key(info)}")


def check_epoch_limit(m: Measured) -> Outcome:
    limit, fits = m.assignment.training.max_epochs, m.recording.fits
    if not fits:
        return False, m.t("no_training"), "—", m.t("no_training_hint")
    total = sum(f.epochs_run for f in fits)
    measured = m.t("epoch_limit.measured", requested=", ".join(str(f.epochs_requested) for f in fits), run=total, calls=len(fits))
    over = [f.epochs_requested for f in fits if f.epochs_requested > limit]
    if over:
        return False, m.t("epoch_limit.fail_requested", requested=max(over), limit=limit), measured, m.t("epoch_limit.hint_requested", limit=limit)
    if total > limit:
        return False, m.t("epoch_limit.fail_total", run=total, calls=len(fits), limit=limit), measured, m.t("epoch_limit.hint_total", limit=limit)
    if m.execution.status == "stopped" and m.recording.stopped_by == "epoch_limit":
        # the grader stopped the run as epoch limit + 1 was about to start: it never ran, but it was asked for
        message = m.t("epoch_limit.fail_stopped", run=total, calls=len(fits), next=total + 1, limit=limit)
        return False, message, measured, m.t("epoch_limit.hint_total", limit=limit)
    outside = training_outside(m)
    if outside:
        seen = sum(e.steps or 0 for e in m.recording.all_epochs)
        measured += m.t("epoch_limit.outside.measured", found=m.recording.optimizer_steps if m.recording.optimizer_steps is not None else "—", seen=seen)
        return False, outside, measured, m.t("epoch_limit.outside.hint")
    return True, m.t("epoch_limit.pass", run=total, limit=limit), measured, ""


def training_outside(m: Measured) -> str | None:
    """Training that the recorded epochs do not account for (`grader.inside.provenance`), in words,
    or None: an epoch with more optimizer steps than batches, more optimizer steps in all than the
    recorded epochs saw, weights that no recorded epoch left, weights that started from values
    given to them (weights trained elsewhere, brought in as initial values) or variables created
    out of the grader's sight."""
    rec = m.recording
    for fit_index, fit in enumerate(rec.fits, 1):
        for epoch_index, epoch in enumerate(fit.epochs, 1):
            if epoch.steps is not None and fit.steps_per_epoch is not None and epoch.steps > fit.steps_per_epoch:
                return m.t("epoch_limit.outside.fail_epoch", fit=fit_index, epoch=epoch_index, steps=epoch.steps, batches=fit.steps_per_epoch)
    epochs = rec.all_epochs
    seen = sum(e.steps or 0 for e in epochs)
    if rec.optimizer_steps is not None and rec.optimizer_steps > seen:
        key = "fail_steps_batches" if rec.train_on_batch else "fail_steps"
        return m.t(f"epoch_limit.outside.{key}", found=rec.optimizer_steps, seen=seen, epochs=len(epochs), calls=rec.train_on_batch)
    for change in rec.weight_changes:
        if change.given or change.unseen:
            key = "fail_weights_given" if change.given else "fail_weights_unseen"
            return m.t(f"epoch_limit.outside.{key}", variables=change.given or change.unseen, example=change.example or "—")
        if change.where == "epoch":
            return m.t("epoch_limit.outside.fail_weights_epoch", fit=change.fit, epoch=change.epoch, variables=change.variables)
        return m.t("epoch_limit.outside.fail_weights_export", variables=change.variables)
    return None


def check_stop_message(m: Measured) -> Outcome:
    training = m.assignment.training
    epochs = m.recording.all_epochs
    expected = " / ".join(training.stop_messages)
    k = _metric_keys(training)
    if not epochs:
        return False, m.t("no_training"), "—", m.t("no_training_hint")
    if all(metric_value(training, e) is None for e in epochs):
        return (False, m.t("no_loss"), "—", m.t("no_loss_hint")) if training.below else (False, m.t("no_accuracy"), "—", m.t("no_accuracy_hint"))
    printed = [i for i, e in enumerate(epochs) if message_printed(e.printed, training.stop_messages)]
    crossing = next((i for i, e in enumerate(epochs) if training.reached(metric_value(training, e))), None)
    stopped = [i for i, e in enumerate(epochs) if e.stop_training]
    measured = m.t(
        k("measured"),
        printed=", ".join(str(i + 1) for i in printed) or "—",
        crossed=crossing + 1 if crossing is not None else "—",
        stopped=", ".join(str(i + 1) for i in stopped) or "—",
    )
    threshold = threshold_text(training)
    if printed and (crossing is None or printed[0] < crossing):
        at = epochs[printed[0]]
        value = metric_text(training, metric_value(training, at))
        message = m.t(k("fail_early"), epoch=printed[0] + 1, accuracy=value, loss=value, threshold=threshold)
        return False, message, measured, m.t(k("hint_early"), threshold=training.threshold)
    if crossing is None:
        values = [v for v in (metric_value(training, e) for e in epochs) if v is not None]
        best = metric_text(training, (min if training.below else max)(values, default=None))
        return False, m.t(k("fail_never"), best=best, threshold=threshold), measured, m.t(k("hint_never"))
    if crossing not in printed:
        shown = _last_line(epochs[crossing])
        message = m.t(k("fail_missing"), epoch=crossing + 1, threshold=threshold, shown=shown)
        return False, message, measured, m.t("stop_message.hint_missing", expected=expected)
    if not epochs[crossing].stop_training:
        return False, m.t("stop_message.fail_not_stopped", epoch=crossing + 1), measured, m.t("stop_message.hint_not_stopped")
    if crossing != len(epochs) - 1:
        return False, m.t("stop_message.fail_went_on", epoch=crossing + 1, run=len(epochs)), measured, m.t("stop_message.hint_went_on")
    return True, m.t(k("pass"), epoch=crossing + 1), measured, ""


def _metric_keys(training: Training) -> Callable[[str], str]:
    """Message keys of the stop_message check: those that name the metric have a `_loss` variant."""
    suffix = "_loss" if training.below else ""
    return lambda name: f"stop_message.{name}{suffix}"


def _last_line(epoch: EpochRecord) -> str:
    lines = [line.strip() for line in LINE_BREAKS.split(epoch.printed) if line.strip()]
    return (lines[-1][:120] if lines else "—")


def check_accuracy_threshold(m: Measured) -> Outcome:
    threshold = m.assignment.training.threshold
    assert threshold is not None  # grader.assignment refuses this check without training.threshold
    epochs = m.recording.all_epochs
    if not epochs:
        return False, m.t("no_training"), "—", m.t("no_training_hint")
    last = epochs[-1].accuracy
    if last is None:
        return False, m.t("no_accuracy"), "—", m.t("no_accuracy_hint")
    measured = m.t("accuracy_threshold.measured", accuracy=pct(last), epoch=len(epochs))
    if last > threshold:
        return True, m.t("accuracy_threshold.pass", accuracy=pct(last), threshold=pct(threshold)), measured, ""
    return False, m.t("accuracy_threshold.fail", accuracy=pct(last), threshold=pct(threshold)), measured, m.t("accuracy_threshold.hint")


def check_loss_threshold(m: Measured) -> Outcome:
    training = m.assignment.training
    epochs = m.recording.all_epochs
    if not epochs:
        return False, m.t("no_training"), "—", m.t("no_training_hint")
    last = epochs[-1].loss
    if last is None:
        return False, m.t("no_loss"), "—", m.t("no_loss_hint")
    threshold = threshold_text(training)
    measured = m.t("loss_threshold.measured", loss=f"{last:.4f}", epoch=len(epochs))
    if training.reached(last):
        return True, m.t("loss_threshold.pass", loss=f"{last:.4f}", threshold=threshold), measured, ""
    return False, m.t("loss_threshold.fail", loss=f"{last:.4f}", threshold=threshold), measured, m.t("loss_threshold.hint", threshold=threshold)


def check_test_accuracy(m: Measured) -> Outcome:
    """Judged on the held-out images the kernel never had (`grader.data.heldout`); the public test set's
    accuracy is shown, and far above the held-out one it means images were remembered, not learnt;
    so does a held-out accuracy far above that on the same images shifted a pixel (`SHIFT_GAP`), which
    catches a table of the public test set that holds the held-out images too."""
    minimum = m.assignment.min_test_accuracy or 0.0
    accuracy, public, images = m.evaluation.heldout_accuracy, m.evaluation.test_accuracy, m.evaluation.heldout_images
    if m.evaluation.disallowed_ops:
        return False, m.t("test_accuracy.graph.disallowed", ops=", ".join(m.evaluation.disallowed_ops)), "—", m.t("test_accuracy.graph.hint")
    if accuracy is None:
        reason = m.evaluation.error or m.recording.export_error or "—"
        return False, m.t("test_accuracy.unknown", reason=reason), "—", m.t("no_model_hint")
    values = {"accuracy": pct(accuracy), "minimum": pct(minimum), "images": f"{images:,}", "test": pct(public), "public": f"{m.evaluation.test_images:,}"}
    measured = m.t("test_accuracy.measured", **values)
    if public is not None and public - accuracy > REMEMBER_GAP:
        return False, m.t("test_accuracy.remembered", **values), measured, m.t("test_accuracy.hint_remembered")
    shifted = m.evaluation.shifted_accuracy
    if shifted is not None and accuracy - shifted > SHIFT_GAP:
        return False, m.t("test_accuracy.remembered_shifted", **values, shifted=pct(shifted)), measured, m.t("test_accuracy.hint_remembered")
    if accuracy >= minimum:
        return True, m.t("test_accuracy.pass", **values), measured, ""
    return False, m.t("test_accuracy.fail", **values), measured, m.t("test_accuracy.hint")


def check_skeleton_integrity(m: Measured) -> Outcome:
    if m.integrity is None:
        return True, m.t("skeleton_integrity.no_skeleton"), "—", ""
    kept, changed = m.integrity
    if kept:
        return True, m.t("skeleton_integrity.pass"), m.t("skeleton_integrity.pass"), ""
    changed = m.t("skeleton_integrity.changed", line=changed)
    return False, m.t("skeleton_integrity.fail", changed=changed), changed, m.t("skeleton_integrity.hint")


CHECKS: dict[str, Callable[[Measured], Outcome]] = {
    "execution": check_execution,
    "epoch_limit": check_epoch_limit,
    "stop_message": check_stop_message,
    "accuracy_threshold": check_accuracy_threshold,
    "loss_threshold": check_loss_threshold,
    "layer_limit": check_layer_limit,
    "model_structure": check_model_structure,
    "test_accuracy": check_test_accuracy,
    "skeleton_integrity": check_skeleton_integrity,
}


def required_text(check_id: str, m: Measured) -> str:
    a = m.assignment
    key = _metric_keys(a.training)("required") if check_id == "stop_message" else f"{check_id}.required"
    text = m.t(
        key,
        limit=a.training.max_epochs,
        threshold=threshold_text(a.training),
        messages=" / ".join(a.training.stop_messages),
        conv=limit_text(a.limits.max_conv),
        pool=limit_text(a.limits.max_pool),
        minimum=pct(a.min_test_accuracy),
        timeout=f"{m.execution.timeout_s or a.timeout_s:g}",  # the run's limit (--timeout), else the assignment's
        structure=structure_text(m) if check_id == "model_structure" else "",
    )
    if check_id == "layer_limit" and a.limits.max_dense is not None:
        text += " " + m.t("layer_limit.required_dense", dense=a.limits.max_dense)
    return text


RECORD_BASED = ("epoch_limit", "stop_message", "accuracy_threshold", "loss_threshold")  # need a trustworthy record


def static_verdict(check_id: str, m: Measured) -> Outcome:
    """When the pre-check's certain findings stopped grading before execution."""
    certain = [f for f in m.findings if f.certain and f.check == check_id]
    if certain:
        return False, " ".join(f.message for f in certain), m.t("static_measured"), m.t("static_hint")
    if check_id == "skeleton_integrity":
        return CHECKS[check_id](m)
    return False, t(m.lang, "precheck.not_evaluated"), "—", ""


def outcome(check_id: str, m: Measured) -> Outcome:
    """The check's verdict; a run that never happened or was stopped early evaluates only what it can."""
    status = m.execution.status
    if status == "not_run":
        return static_verdict(check_id, m)
    if status == "stopped" and check_id not in (m.recording.stopped_by, "skeleton_integrity", "execution"):
        return False, m.t("not_evaluated_stopped", reason=stop_reason(m)), "—", ""
    if status == "record_mismatch" and check_id in RECORD_BASED:
        return False, execution_message(m.execution, m.assignment, m.lang), m.execution.exception, m.t("execution.hint_record_mismatch")
    return CHECKS[check_id](m)


def run_checks(m: Measured) -> tuple[CheckResult, ...]:
    results = []
    for check_id, points in m.assignment.points.items():
        passed, message, measured, hint = outcome(check_id, m)
        blocking = not (check_id == "skeleton_integrity" and m.assignment.integrity != "enforce")
        results.append(
            CheckResult(
                id=check_id,
                passed=passed,
                score=points if passed else 0.0,
                max_score=points,
                message=message,
                required=required_text(check_id, m),
                measured=measured,
                hint=hint,
                blocking=blocking,
            )
        )
    return tuple(results)
