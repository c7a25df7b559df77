"""The checks: pure functions from what the grader measured to a `CheckResult` each.

Inputs are the kernel `Recording` (what Keras computed, captured by the grader's own callbacks),
the separate-process `Evaluation` and the `ExecutionInfo`; never the submission's own objects.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable

from grader.assignment import Assignment
from grader.i18n import t
from grader.models import CheckResult, EpochRecord, Evaluation, ExecutionInfo, Finding, Metrics, Recording

FULL_WIDTH = str.maketrans({"！": "!", "，": ","})
LINE_BREAKS = re.compile(r"[\r\n]+")


@dataclass(frozen=True)
class Measured:
    """Everything a check may look at."""

    assignment: Assignment
    recording: Recording
    evaluation: Evaluation
    execution: ExecutionInfo
    integrity: tuple[bool, str] | None = None  # (kept, what changed) from the skeleton comparison
    lang: str = "en"
    findings: tuple[Finding, ...] = ()  # the static pre-check's, localised

    def t(self, key: str, **values: object) -> str:
        return t(self.lang, f"checks.{key}", **values)


Outcome = tuple[bool, str, str, str]  # passed, message, measured, hint


def normalise_message(text: str) -> str:
    """Surrounding whitespace and full-width `！`/`，` are tolerated; nothing else is."""
    return text.strip().translate(FULL_WIDTH)


def message_printed(printed: str, expected: tuple[str, ...]) -> bool:
    wanted = {normalise_message(m) for m in expected}
    return any(normalise_message(line) in wanted for line in LINE_BREAKS.split(printed))


def pct(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.2f}%"


def layer_counts(recording: Recording, evaluation: Evaluation) -> tuple[int, int]:
    """Convolutions and poolings: the larger of the Keras layer census and the graph's op count.

    A custom layer that calls `tf.nn.conv2d` shows in the graph; a separable convolution is one
    layer but two graph ops, so each is counted once.
    """
    conv_layers = sum(1 for layer in recording.layers if layer.kind == "conv")
    pool_layers = sum(1 for layer in recording.layers if layer.kind == "pool")
    separable = sum(1 for layer in recording.layers if "Separable" in layer.class_name)
    return max(conv_layers, evaluation.conv_ops - separable), max(pool_layers, evaluation.pool_ops)


def metrics_of(recording: Recording, evaluation: Evaluation) -> Metrics:
    epochs = recording.all_epochs
    conv, pool = layer_counts(recording, evaluation)
    return Metrics(
        epochs_run=len(epochs),
        epochs_requested=max((f.epochs_requested for f in recording.fits), default=0),
        train_accuracy=epochs[-1].accuracy if epochs else None,
        train_loss=epochs[-1].loss if epochs else None,
        test_accuracy=evaluation.test_accuracy,
        conv_layers=conv,
        pooling_layers=pool,
        seconds_per_epoch=round(sum(e.duration_s for e in epochs) / len(epochs), 3) if epochs else None,
    )


def check_execution(m: Measured) -> Outcome:
    info = m.execution
    if info.status == "ok":
        return True, m.t("execution.pass"), m.t("execution.measured_ok"), ""
    where = m.t("execution.where", cell=info.cell, line=info.line) if info.cell and info.line else m.t("execution.where_cell", cell=info.cell) if info.cell else ""
    message = m.t(f"execution.{info.status}", limit=m.assignment.timeout_s, where=where, exception=info.exception or info.message)
    return False, message, info.exception or info.message, m.t(f"execution.hint_{info.status}")


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
    return True, m.t("epoch_limit.pass", run=total, limit=limit), measured, ""


def check_stop_message(m: Measured) -> Outcome:
    training = m.assignment.training
    epochs = m.recording.all_epochs
    expected = " / ".join(training.stop_messages)
    if not epochs:
        return False, m.t("no_training"), "—", m.t("no_training_hint")
    if all(e.accuracy is None for e in epochs):
        return False, m.t("no_accuracy"), "—", m.t("no_accuracy_hint")
    printed = [i for i, e in enumerate(epochs) if message_printed(e.printed, training.stop_messages)]
    crossing = next((i for i, e in enumerate(epochs) if e.accuracy is not None and e.accuracy > training.threshold), None)
    stopped = [i for i, e in enumerate(epochs) if e.stop_training]
    measured = m.t(
        "stop_message.measured",
        printed=", ".join(str(i + 1) for i in printed) or "—",
        crossed=crossing + 1 if crossing is not None else "—",
        stopped=", ".join(str(i + 1) for i in stopped) or "—",
    )
    threshold = pct(training.threshold)
    if printed and (crossing is None or printed[0] < crossing):
        at = epochs[printed[0]]
        return False, m.t("stop_message.fail_early", epoch=printed[0] + 1, accuracy=pct(at.accuracy), threshold=threshold), measured, m.t("stop_message.hint_early", threshold=training.threshold)
    if crossing is None:
        best = max((e.accuracy for e in epochs if e.accuracy is not None), default=None)
        return False, m.t("stop_message.fail_never", best=pct(best), threshold=threshold), measured, m.t("stop_message.hint_never")
    if crossing not in printed:
        shown = _last_line(epochs[crossing])
        return False, m.t("stop_message.fail_missing", epoch=crossing + 1, threshold=threshold, shown=shown), measured, m.t("stop_message.hint_missing", expected=expected)
    if not epochs[crossing].stop_training:
        return False, m.t("stop_message.fail_not_stopped", epoch=crossing + 1), measured, m.t("stop_message.hint_not_stopped")
    if crossing != len(epochs) - 1:
        return False, m.t("stop_message.fail_went_on", epoch=crossing + 1, run=len(epochs)), measured, m.t("stop_message.hint_went_on")
    return True, m.t("stop_message.pass", epoch=crossing + 1), measured, ""


def _last_line(epoch: EpochRecord) -> str:
    lines = [line.strip() for line in LINE_BREAKS.split(epoch.printed) if line.strip()]
    return (lines[-1][:120] if lines else "—")


def check_accuracy_threshold(m: Measured) -> Outcome:
    threshold = m.assignment.training.threshold
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


def check_layer_limit(m: Measured) -> Outcome:
    limits = m.assignment.limits
    if not m.recording.layers and m.evaluation.error:
        return False, m.t("layer_limit.unknown"), "—", m.t("no_model_hint")
    conv, pool = layer_counts(m.recording, m.evaluation)
    measured = m.t("layer_limit.measured", conv=conv, pool=pool)
    problems = []
    if limits.max_conv is not None and conv > limits.max_conv:
        problems.append(m.t("layer_limit.too_many_conv", count=conv, limit=limits.max_conv))
    if limits.max_pool is not None and pool > limits.max_pool:
        problems.append(m.t("layer_limit.too_many_pool", count=pool, limit=limits.max_pool))
    if problems:
        return False, "; ".join(problems), measured, m.t("layer_limit.hint", conv=limits.max_conv, pool=limits.max_pool)
    return True, m.t("layer_limit.pass", conv=conv, pool=pool), measured, ""


def check_test_accuracy(m: Measured) -> Outcome:
    minimum = m.assignment.min_test_accuracy or 0.0
    accuracy = m.evaluation.test_accuracy
    if accuracy is None:
        reason = m.evaluation.error or m.recording.export_error or "—"
        return False, m.t("test_accuracy.unknown", reason=reason), "—", m.t("no_model_hint")
    measured = m.t("test_accuracy.measured", accuracy=pct(accuracy), images=m.evaluation.test_images)
    if accuracy >= minimum:
        return True, m.t("test_accuracy.pass", accuracy=pct(accuracy), minimum=pct(minimum)), measured, ""
    return False, m.t("test_accuracy.fail", accuracy=pct(accuracy), minimum=pct(minimum)), measured, m.t("test_accuracy.hint")


def check_skeleton_integrity(m: Measured) -> Outcome:
    if m.integrity is None:
        return True, m.t("skeleton_integrity.no_skeleton"), "—", ""
    kept, changed = m.integrity
    if kept:
        return True, m.t("skeleton_integrity.pass"), m.t("skeleton_integrity.pass"), ""
    return False, m.t("skeleton_integrity.fail", changed=changed), changed, m.t("skeleton_integrity.hint")


CHECKS: dict[str, Callable[[Measured], Outcome]] = {
    "execution": check_execution,
    "epoch_limit": check_epoch_limit,
    "stop_message": check_stop_message,
    "accuracy_threshold": check_accuracy_threshold,
    "layer_limit": check_layer_limit,
    "test_accuracy": check_test_accuracy,
    "skeleton_integrity": check_skeleton_integrity,
}


def required_text(check_id: str, m: Measured) -> str:
    a = m.assignment
    return m.t(
        f"{check_id}.required",
        limit=a.training.max_epochs,
        threshold=pct(a.training.threshold),
        messages=" / ".join(a.training.stop_messages),
        conv=a.limits.max_conv if a.limits.max_conv is not None else "∞",
        pool=a.limits.max_pool if a.limits.max_pool is not None else "∞",
        minimum=pct(a.min_test_accuracy),
        timeout=a.timeout_s,
    )


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
        return False, m.t("not_evaluated_stopped", reason=m.execution.message), "—", ""
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
