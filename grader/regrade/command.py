"""`grader regrade GRADES_DIR [-a ASSIGNMENT] [--dry-run]`, as a function the command line calls:
which assignment, which results, what the regrade did in plain text, and the exit code."""

from __future__ import annotations

import json
from pathlib import Path
from typing import IO

from grader.assignment import Assignment, find_assignment
from grader.batch.gradebook import FILENAME, Gradebook
from grader.errors import UsageError
from grader.i18n import t
from grader.regrade.apply import RegradeOutcome, regrade, regrade_one
from grader.regrade.stored import Unusable, read_result


def run_regrade_command(grades_dir: Path, assignment_id_or_none: str | None, dry_run: bool, lang: str | None, out: IO[str]) -> int:
    """Regrade a batch output folder, or one `result.json`, against the assignment as it is now
    (`-a`: an id or a path; default: the one the batch was graded with); print what changes and
    what runs again, and why; the exit code (`RegradeOutcome.exit_code`). A `UsageError` rises."""
    target = Path(grades_dir)
    if not target.exists():
        raise UsageError(f"no such file or folder: {target}")
    assignment = find_assignment(assignment_id_or_none) if assignment_id_or_none else assignment_of(target)
    if target.is_file():
        outcome = regrade_one(target, assignment, dry_run=dry_run, out=out, lang=lang)
    else:
        outcome = regrade(target, assignment, dry_run=dry_run, out=out, lang=lang)
    text = render_outcome(outcome, lang)
    if text:
        print(text, file=out)
    return outcome.exit_code


def assignment_of(target: Path) -> Assignment:
    """The assignment a batch folder (or a result.json) was graded with: the folder its gradebook
    names, else its id among the known assignments."""
    folder = target.parent.parent if target.is_file() else target
    if (folder / FILENAME).is_file():
        with Gradebook(folder / FILENAME) as book:
            meta, bound = book.meta("assignment_json"), book.meta("assignment")
        try:
            known = json.loads(meta or "{}")
        except ValueError:
            known = {}
        where = known.get("folder") if isinstance(known, dict) else None
        if isinstance(where, str) and (Path(where) / "assignment.toml").is_file():
            return find_assignment(where)
        if bound:
            return find_assignment(bound)
    results = [target] if target.is_file() else sorted(target.glob("*/result.json"))
    for path in results:
        try:
            return find_assignment(read_result(path).assignment)
        except Unusable:
            continue
    raise UsageError(f"cannot tell which assignment {target} holds: name it with -a")


def render_outcome(outcome: RegradeOutcome, lang: str | None = None) -> str:
    """The regrade's last lines: what was committed and run again, what could not be, and where."""
    if outcome.dry_run:
        return ""
    lang = lang or outcome.plan.lang
    lines = [t(lang, "regrade.done", written=len(outcome.written), rerun=len(outcome.rerun), passed=outcome.passed, failed=outcome.failed)]
    lines += [t(lang, "regrade.not_rerun", student=student, reason=reason.text(lang)) for student, reason in outcome.not_rerun]
    lines += [t(lang, "regrade.output_error", error=error) for error in outcome.output_errors]
    if outcome.plan.context is not None:
        lines.append(t(lang, "regrade.gradebook", path=outcome.plan.grades_dir / FILENAME))
    if outcome.summary_page:
        lines.append(t(lang, "regrade.summary", path=outcome.summary_page))
    return "\n".join(lines)
