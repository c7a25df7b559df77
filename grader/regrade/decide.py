"""Whether what was stored suffices to judge a result again under the assignment as it is now.

Every check is a pure function of the grader's own record, evaluation, pre-check findings and
skeleton comparison, so a result is judged again from them (`grader.regrade.rejudge`) unless the
change needs something they do not hold: a run stopped early (by the epoch or layer limits, or the
time limit) that would now go on or stop elsewhere, a run the new limits would have stopped, a
verdict the pre-check gave alone that no longer holds, another data set, other packages or another
entry function, a measurement the evaluation did not make. Those are run again, with the reason.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from grader import __version__
from grader.assignment import Assignment
from grader.models import SCHEMA_VERSION, CheckResult, Finding, GradeResult, Recording
from grader.options import Options, Settings, resolve
from grader.pipeline import early_stop_limits, skeleton_integrity
from grader.regrade.plan import Planned, Reason, Stored
from grader.regrade.rejudge import rejudge, template_value
from grader.regrade.stored import submission_of
from grader.rules.checks import check_skeleton_integrity
from grader.rules.measured import Measured
from grader.rules.precheck import localise, precheck
from grader.run.submission import Submission

SKELETON = "skeleton.ipynb"
NOT_EXECUTED = ("not_run", "invalid")


@dataclass(frozen=True)
class Previous:
    """The assignment a stored result was judged against, and the digests of its folder's files."""

    assignment: Assignment
    files: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Now:
    """The assignment as it is now, the digests of its files, and the grading settings a batch
    would use with it (`asked`: the batch's options, `settings`: resolved against the assignment)."""

    assignment: Assignment
    files: dict[str, str]
    asked: Options
    settings: Settings


def decide(stored: Stored, previous: Previous | None, now: Now, *, assume: bool = False) -> Planned:
    """`stored` judged again under `now`, or the reason it must be run again. `previous`: the
    assignment it was judged against (None: not known); with `assume` (a result.json alone), what
    the record cannot show of it (data set, packages, entry function, skeleton, the pre-check's
    rules) is taken to be unchanged, else an unknown one is a reason to run again."""
    reason = unusable(stored, previous, now, assume)
    if reason is not None or stored.result is None:
        return Planned(stored, rerun=reason or Reason("gradebook_unreadable"))
    result, old = stored.result, previous.assignment if previous else None
    source: Callable[[], Submission | Reason] = functools.cache(lambda: submission_of(stored))
    try:
        reason = run_reason(result, old, now) if result.execution.status not in NOT_EXECUTED else None
        findings = reason or judged_findings(result, old, now, source, assume)
        if isinstance(findings, Reason):
            return Planned(stored, rerun=findings)
        integrity = judged_integrity(result, previous, now, source, assume)
        if isinstance(integrity, Reason):
            return Planned(stored, rerun=integrity)
        return Planned(stored, new=rejudge(result, now.assignment, findings, integrity, now.settings.timeout_s, now.settings.full))
    except Exception as exc:  # noqa: BLE001 - a stored result of the right shape that still breaks a check: run it again
        return Planned(stored, rerun=Reason("unjudgeable", {"error": type(exc).__name__}))


def unusable(stored: Stored, previous: Previous | None, now: Now, assume: bool) -> Reason | None:
    """Why `stored` cannot be judged again at all, or None."""
    result = stored.result
    if stored.problem is not None or result is None:
        return stored.problem
    if result.assignment != now.assignment.id:
        return Reason("other_assignment", {"assignment": result.assignment})
    if result.grader_version != __version__ or result.schema_version != SCHEMA_VERSION:
        return Reason("grader_version", {"version": result.grader_version or "—", "current": __version__})
    if stored.outcome == "crashed":
        return Reason("crashed")
    if result.execution.status not in NOT_EXECUTED and not result.execution.sandbox:
        return Reason("no_record")  # the grader's fault, or a result of last resort: nothing was recorded
    if previous is None and not assume:
        return Reason("assignment_unknown")
    if result.lang != now.settings.lang and not assume:  # the run's own messages are in the language it was graded in
        return Reason("language", {"old": result.lang, "new": now.settings.lang})
    return None


def run_reason(result: GradeResult, old: Assignment | None, now: Now) -> Reason | None:
    """Why the run behind `result` would go otherwise under `now`, so that its record does not
    stand for it, or None."""
    new, settings, info = now.assignment, now.settings, result.execution
    if old is not None:
        if old.dataset != new.dataset:
            return Reason("dataset", {"old": old.dataset, "new": new.dataset})
        if old.packages != new.packages:
            return Reason("packages", {"old": ", ".join(old.packages), "new": ", ".join(new.packages)})
        entry = resolve(old, now.asked).entry
        if entry != settings.entry:
            return Reason("entry", {"old": entry or "—", "new": settings.entry or "—"})
    limit = info.timeout_s or (old.timeout_s if old is not None else None)
    if info.status == "timeout" and limit != settings.timeout_s:
        return Reason("timeout", {"old": f"{limit:g}" if limit else "—", "new": f"{settings.timeout_s:g}"})
    if info.status != "timeout" and info.duration_s > settings.timeout_s:
        return Reason("too_slow", {"took": f"{info.duration_s:.0f}", "limit": f"{settings.timeout_s:g}"})
    limits = None if settings.full else early_stop_limits(new)
    if info.status == "stopped":
        if first_stop(result.recording, limits, went_on=True) != stop_point(result.recording):
            return Reason("stopped", {"check": result.recording.stopped_by or "—"})
    else:
        stop = first_stop(result.recording, limits, went_on=False)
        if stop is not None:
            return Reason("would_stop", {"check": stop[0]})
    evaluation = result.evaluation
    if ("test_accuracy" in new.points and info.status != "stopped" and result.recording.fits and evaluation.heldout_accuracy is None
            and not (evaluation.error or evaluation.disallowed_ops or result.recording.export_error)):
        return Reason("measurement")
    return None


def first_stop(recording: Recording, limits: dict[str, int | None] | None, *, went_on: bool) -> tuple[str, int, int] | None:
    """Where the kernel's recorder (`grader.inside.recorder`: before each fit, an `epochs` argument
    over the limit or too many layers; before each epoch, the limit reached) would have stopped
    the recorded run under `limits`: (check, fit, epochs of that fit run before); None if nowhere.
    `went_on`: the run was about to begin another epoch after its last recorded one."""
    if not limits:
        return None
    most = limits.get("max_epochs")
    kinds: list[str] = [layer.kind for layer in recording.layers]
    allowed_of = (("conv", limits.get("max_conv")), ("pool", limits.get("max_pool")))
    too_many = any(allowed is not None and kinds.count(kind) > allowed for kind, allowed in allowed_of)
    total = 0
    for i, fit in enumerate(recording.fits):
        if most is not None and isinstance(fit.epochs_requested, int) and fit.epochs_requested > most:
            return "epoch_limit", i, 0
        if too_many:
            return "layer_limit", i, 0
        for j in range(len(fit.epochs) + (1 if went_on and i == len(recording.fits) - 1 else 0)):
            if most is not None and total >= most:
                return "epoch_limit", i, j
            total += 1
    return None


def stop_point(recording: Recording) -> tuple[str, int, int] | None:
    """Where the recorded run was stopped: (check, fit, epochs of that fit run before)."""
    if not recording.fits or not recording.stopped_by:
        return None
    return recording.stopped_by, len(recording.fits) - 1, len(recording.fits[-1].epochs)


def precheck_rules(a: Assignment) -> tuple[object, ...]:
    """Everything of an assignment that the pre-check reads (`grader.rules.precheck`)."""
    return a.training.max_epochs, a.limits.max_conv, a.limits.max_pool, a.training.stop_messages, a.packages, frozenset(a.points)


def judged_findings(result: GradeResult, old: Assignment | None, now: Now, source: Callable[[], Submission | Reason],
                    assume: bool) -> tuple[Finding, ...] | Reason:
    """The pre-check's findings under `now`: the stored ones where the rules it reads are the same,
    else the pre-check read again from the submission (static: nothing runs). A verdict the
    pre-check gave alone that no longer holds needs the run it spared."""
    if result.execution.status == "invalid":
        return ()
    findings = result.findings
    if not assume and (old is None or precheck_rules(old) != precheck_rules(now.assignment)):
        submission = source()
        if isinstance(submission, Reason):
            return Reason("precheck_source", {"problem": submission})
        findings = tuple(localise(f, result.lang) for f in precheck([c.source for c in submission.code_cells], now.assignment))
    if result.execution.status == "not_run" and (now.settings.full or not any(f.certain for f in findings)):
        return Reason("precheck")
    return findings


def judged_integrity(result: GradeResult, previous: Previous | None, now: Now, source: Callable[[], Submission | Reason],
                     assume: bool) -> tuple[bool, str] | None | Reason:
    """The skeleton comparison under `now` (`grader.pipeline.skeleton_integrity`): the stored one
    where the skeleton is the same file and was compared then, else compared again."""
    new = now.assignment
    if result.execution.status == "invalid" or "skeleton_integrity" not in new.points or new.integrity == "off" or SKELETON not in now.files:
        return None
    check = result.check("skeleton_integrity")
    old = previous.assignment if previous else None
    same = assume or (previous is not None and old is not None and old.integrity != "off" and previous.files.get(SKELETON) == now.files[SKELETON])
    if same and check is not None:
        found = integrity_of(check, Measured(new, result.recording, result.evaluation, result.execution, None, result.lang))
        if found is not UNKNOWN:
            return found  # type: ignore[return-value]
    submission = source()
    if isinstance(submission, Reason):
        return Reason("skeleton_source", {"problem": submission})
    return skeleton_integrity(new, submission)


UNKNOWN = object()


def integrity_of(check: CheckResult, m: Measured) -> tuple[bool, str] | None | object:
    """The skeleton comparison a stored skeleton_integrity check was judged from: the one for
    which the check (`grader.rules.checks.check_skeleton_integrity`) says again exactly what it
    said; UNKNOWN if none does (its messages changed since, say)."""
    line = template_value(m.lang, "checks.skeleton_integrity.changed", "line", check.measured)
    said = (check.passed, check.message, check.measured, check.hint)
    for candidate in (None, (True, ""), (False, check.measured), *([(False, line)] if line is not None else [])):
        if check_skeleton_integrity(replace(m, integrity=candidate)) == said:
            return candidate
    return UNKNOWN
