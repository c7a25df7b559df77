"""A stored result judged again: the checks (`grader.rules.checks.run_checks`, through the
pipeline's own `assemble`) over the stored record, evaluation and pre-check findings, against the
assignment as it is now. Nothing is run; what the stored data cannot decide is `grader.regrade.decide`'s.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from grader.assignment import Assignment
from grader.i18n import t
from grader.models import Evaluation, ExecutionInfo, Finding, GradeResult, Recording
from grader.pipeline import assemble, judge_measurement
from grader.rules.execution import execution_message

# Messages a grading added that no stored field can give again: kept as they were (by their template).
KEPT = (("input.record.damaged", "reason"), ("checks.execution.output_truncated", "limit"))


def rejudge(old: GradeResult, assignment: Assignment, findings: tuple[Finding, ...], integrity: tuple[bool, str] | None,
            timeout_s: float, full: bool) -> GradeResult:
    """`old` judged against `assignment` with the pre-check's `findings` and the skeleton comparison
    `integrity` (both as they stand under it); `timeout_s` and `full`: the grading's settings. A
    certain finding gives the verdict without the run, as in `grader.pipeline`."""
    lang, info, path = old.lang, old.execution, Path(old.submission)
    certain = [f for f in findings if f.certain]
    if info.status == "invalid":
        result = assemble(assignment, path, lang, info, Recording(), Evaluation(), None, [execution_message(info, assignment, lang)], 0.0)
    elif certain and not full:
        if info.status == "not_run":
            static = replace(info, message=certain[0].message)
        else:  # the rules the pre-check reads changed: a fresh grading would not run it
            static = ExecutionInfo(status="not_run", message=certain[0].message, timeout_s=timeout_s)
        result = assemble(assignment, path, lang, static, Recording(), Evaluation(), integrity, [f.message for f in certain], 0.0, findings)
    else:
        info, errors = run_errors(old, assignment)
        result = assemble(assignment, path, lang, info, old.recording, old.evaluation, integrity, errors, 0.0, findings)
    return replace(result, duration_s=old.duration_s, submission=old.submission)


def run_errors(old: GradeResult, assignment: Assignment) -> tuple[ExecutionInfo, list[str]]:
    """The execution info and the messages of a run, judged again in the order `grader.pipeline`
    gives them: how the run went, the damaged record, the evaluation's failure, a record that does
    not match the model (on the loss too when the assignment's rule is on the loss), too much output."""
    lang, recording, evaluation = old.lang, old.recording, old.evaluation
    info = old.execution
    if info.status == "record_mismatch":  # the run itself went well: whether the record matches is judged again
        info = replace(info, status="ok", message="", exception="")
    errors = [execution_message(info, assignment, lang)] if info.status not in ("ok", "stopped") else []
    kept = {key: [e for e in old.errors if template_value(lang, key, name, e) is not None] for key, name in KEPT}
    errors += kept["input.record.damaged"]
    info, measured = judge_measurement(info, recording, evaluation, assignment, lang)
    errors += measured
    errors += kept["checks.execution.output_truncated"] if info.output_truncated else []
    return info, errors


def template_value(lang: str, key: str, name: str, text: str) -> str | None:
    """The value `name` had where `text` is the message `key` in `lang` (None: it is not that message)."""
    marker = "\x00"
    try:
        before, _, after = t(lang, key, **{name: marker}).partition(marker)
    except KeyError:
        return None
    if len(text) < len(before) + len(after) or not (text.startswith(before) and text.endswith(after)):
        return None
    return text[len(before): len(text) - len(after)]
