"""What a regrade will do, as data: per student the result judged again or the reason to run it
again, the score changes between the stored and the new results, and their plain-text rendering."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from grader.i18n import t

if TYPE_CHECKING:
    from grader.models import GradeResult
    from grader.options import Options, Settings


@dataclass(frozen=True)
class Reason:
    """Why a result needs a new run (or cannot have one): a message key under `regrade.reason.`
    and its values; a value with `localised(lang)` (a `HostileInput`) or `text(lang)` (another
    `Reason`) is put in the same language."""

    key: str
    values: dict[str, Any] = field(default_factory=dict)

    def text(self, lang: str) -> str:
        values = {k: v.text(lang) if isinstance(v, Reason) else v.localised(lang) if hasattr(v, "localised") else v
                  for k, v in self.values.items()}
        return t(lang, f"regrade.reason.{self.key}", **values)


@dataclass(frozen=True)
class Stored:
    """One student's stored result as the regrade read it (None, with the `problem`, when it cannot
    be used), and what the gradebook says of it (a `result.json` alone: the defaults)."""

    student: str
    folder: str
    result: GradeResult | None
    problem: Reason | None = None
    result_path: Path | None = None  # the result.json it was read from
    in_gradebook: bool = False
    source: str = ""  # the submission as the batch found it
    content_sha256: str = ""
    outcome: str = "graded"  # graded | crashed
    assignment_sha256: str = ""  # the assignment it was judged against ("": not known)


@dataclass(frozen=True)
class Planned:
    """One student's part of the plan: `new` (judged again from what was stored) or `rerun`."""

    stored: Stored
    new: GradeResult | None = None
    rerun: Reason | None = None

    @property
    def student(self) -> str:
        return self.stored.student

    @property
    def changed(self) -> bool:
        """Whether the new result says anything the stored one did not (its time aside)."""
        old = self.stored.result
        return self.new is not None and (old is None or replace(self.new, duration_s=old.duration_s) != old)


@dataclass(frozen=True)
class CheckChange:
    """One check whose verdict or score differs between the stored and the new result."""

    id: str
    before: float | None  # None: the check was not there
    after: float | None
    passed_before: bool | None
    passed_after: bool | None


@dataclass(frozen=True)
class ScoreChange:
    """A student's score and verdict, before and after; `checks` that changed."""

    student: str
    before: float
    after: float
    max_before: float
    max_after: float
    passed_before: bool
    passed_after: bool
    checks: tuple[CheckChange, ...] = ()

    @property
    def delta(self) -> float:
        return round(self.after - self.before, 6)


@dataclass(frozen=True)
class BatchContext:
    """How the batch was run, as its last run recorded it: what a re-run needs."""

    options: Options  # the grading options asked for (None fields: the assignment's defaults)
    paths: tuple[Path, ...] = ()  # where its submissions were found (empty: not recorded)
    roster: Path | None = None
    id_pattern: str | None = None
    jobs: int | None = None


@dataclass(frozen=True)
class RegradePlan:
    """Everything a regrade will do, decided before anything is written."""

    grades_dir: Path
    assignment_id: str
    assignment_sha256: str
    lang: str
    settings: Settings  # the effective grading settings, as a fresh batch would grade with them
    entries: tuple[Planned, ...]
    context: BatchContext | None = None  # None: no gradebook (a result.json alone): nothing can be run again
    assumed: bool = False  # judged without knowing the assignment the results were graded under

    @property
    def rejudged(self) -> tuple[Planned, ...]:
        return tuple(e for e in self.entries if e.new is not None)

    @property
    def reruns(self) -> tuple[Planned, ...]:
        return tuple(e for e in self.entries if e.rerun is not None)

    @property
    def changes(self) -> tuple[ScoreChange, ...]:
        """Students whose score, verdict or any check's verdict changes, by student."""
        found = (score_change(e.student, e.stored.result, e.new) for e in self.rejudged if e.stored.result is not None and e.new is not None)
        return tuple(c for c in found if c is not None)


def score_change(student: str, old: GradeResult, new: GradeResult) -> ScoreChange | None:
    """How `new` differs from `old` in score, verdict and checks' verdicts (None: not at all)."""
    before = {c.id: (c.score, c.passed) for c in old.checks}
    after = {c.id: (c.score, c.passed) for c in new.checks}
    checks = []
    for cid in dict.fromkeys([*before, *after]):
        (b_score, b_passed), (a_score, a_passed) = before.get(cid, (None, None)), after.get(cid, (None, None))
        if (b_score, b_passed) != (a_score, a_passed):
            checks.append(CheckChange(cid, b_score, a_score, b_passed, a_passed))
    if not checks and (old.score, old.max_score, old.passed) == (new.score, new.max_score, new.passed):
        return None
    return ScoreChange(student, old.score, new.score, old.max_score, new.max_score, old.passed, new.passed, tuple(checks))


def _number(value: float) -> str:
    return f"{value:g}"


def render_change(change: ScoreChange, lang: str) -> str:
    """One line: the student, the score before and after, by how much, the verdict and the checks."""
    delta = change.delta
    key = "regrade.up" if delta > 0 else "regrade.down" if delta < 0 else "regrade.same"
    line = t(lang, key, student=change.student, before=_number(change.before), after=_number(change.after),
             max=_number(change.max_after), delta=_number(abs(delta)))
    if change.passed_before != change.passed_after:
        line += t(lang, "regrade.now_passes" if change.passed_after else "regrade.now_fails")
    if change.checks:
        line += t(lang, "regrade.checks", checks=", ".join(c.id for c in change.checks))
    return line


def render_plan(plan: RegradePlan, lang: str | None = None, *, dry_run: bool = False) -> str:
    """The plan in plain text, in `lang` (default: the results' language): scores that go up and
    down and by how much, how many stay, and which results are run again, and why."""
    lang = lang or plan.lang
    changes = plan.changes
    ups = sorted((c for c in changes if c.delta > 0), key=lambda c: (-c.delta, c.student))
    downs = sorted((c for c in changes if c.delta < 0), key=lambda c: (c.delta, c.student))
    others = [c for c in changes if c.delta == 0]
    lines = [t(lang, "regrade.header", total=len(plan.entries), assignment=plan.assignment_id, rejudged=len(plan.rejudged), rerun=len(plan.reruns))]
    for title, group in (("regrade.ups", ups), ("regrade.downs", downs), ("regrade.verdicts", others)):
        if group:
            lines.append(t(lang, title, count=len(group)))
            lines += [render_change(c, lang) for c in group]
    lines.append(t(lang, "regrade.unchanged", count=len(plan.rejudged) - len(changes)))
    if plan.reruns:
        lines.append(t(lang, "regrade.rerun_title", count=len(plan.reruns)))
        lines += [t(lang, "regrade.rerun_line", student=e.student, reason=e.rerun.text(lang)) for e in plan.reruns if e.rerun]
    if plan.assumed:
        lines.append(t(lang, "regrade.assumed"))
    if dry_run:
        lines.append(t(lang, "regrade.dry_run"))
    return "\n".join(lines)
