"""Planning a regrade of a batch's output folder (or of one result.json) and carrying it out: the
results judged again are committed to the gradebook as new versions, with the assignment's
fingerprint, and their reports re-rendered; those that need a run go through `run_batch`, restricted
to them; summary.html is written again."""

from __future__ import annotations

import dataclasses
import json
import sys
from collections.abc import Collection
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from grader.assignment import Assignment
from grader.batch.gradebook import FILENAME, Gradebook, StoredResult
from grader.batch.jobs import Runner
from grader.batch.keys import assignment_sha256, assignment_snapshot, grading_key, grading_options
from grader.batch.run import BatchReport, BatchSettings, batch_lock, run_batch
from grader.errors import EXIT_FAILED, EXIT_INTERNAL, EXIT_PASSED, UsageError
from grader.options import Options, resolve
from grader.regrade.decide import Now, Previous, decide
from grader.regrade.plan import BatchContext, Planned, Reason, RegradePlan, render_plan
from grader.regrade.stored import batch_context, lone_result, previous_assignment, stored_results
from grader.report.outputs import write_outputs

LOCK = ".grader-batch.lock"
WRITERS = 8  # outputs written at once


@dataclass(frozen=True)
class RegradeOutcome:
    """What a regrade did (with `dry_run`: what it would do, nothing written)."""

    plan: RegradePlan
    dry_run: bool
    written: tuple[str, ...] = ()  # students whose result was judged again and committed
    rerun: tuple[str, ...] = ()  # students graded again through the batch
    not_rerun: tuple[tuple[str, Reason], ...] = ()  # students that needed a run that could not be made here
    batch: BatchReport | None = None
    output_errors: tuple[str, ...] = ()
    summary_page: Path | None = None
    passed: int = 0
    failed: int = 0

    @property
    def exit_code(self) -> int:
        """3 if an output could not be written; else 0 when every result passes and none is left
        stale (a dry run: 0), 1 otherwise."""
        if self.output_errors:
            return EXIT_INTERNAL
        if self.dry_run:
            return EXIT_PASSED
        return EXIT_PASSED if self.failed == 0 and not self.not_rerun else EXIT_FAILED


def now_of(assignment: Assignment, options: Options) -> Now:
    return Now(assignment, assignment_snapshot(assignment)["files"], options, resolve(assignment, options))


def plan_regrade(grades_dir: Path, assignment: Assignment, *, students: Collection[str] | None = None) -> RegradePlan:
    """What regrading the batch output folder `grades_dir` against `assignment` will do (only
    `students`, if given); a folder without a gradebook: its `*/result.json` files, judged alone."""
    grades_dir = Path(grades_dir)
    if not (grades_dir / FILENAME).is_file():
        return plan_results(sorted(grades_dir.glob("*/result.json")), assignment, grades_dir)
    with Gradebook(grades_dir / FILENAME) as book:
        bound = book.meta("assignment")
        if bound is not None and bound != assignment.id:
            raise UsageError(f"{grades_dir} holds the results of assignment '{bound}', not '{assignment.id}'")
        context = batch_context(book, assignment.id)
        stored = [s for s in stored_results(book, grades_dir, assignment.id) if students is None or s.student in students]
        previous = {sha: previous_assignment(book, sha) for sha in {s.assignment_sha256 for s in stored}}
    if not stored:
        raise UsageError(f"no results of assignment '{assignment.id}' in {grades_dir}")
    now = now_of(assignment, context.options)
    entries = tuple(decide(s, _previous(previous.get(s.assignment_sha256)), now) for s in stored)
    return RegradePlan(grades_dir, assignment.id, assignment_sha256(assignment), now.settings.lang, now.settings, entries, context)


def _previous(found: tuple[Assignment, dict[str, str]] | None) -> Previous | None:
    return Previous(*found) if found else None


def plan_results(paths: list[Path], assignment: Assignment, grades_dir: Path) -> RegradePlan:
    """What regrading `result.json` files without a gradebook will do: judged from their records
    alone, what the records cannot show of the assignment then taken as unchanged."""
    if not paths:
        raise UsageError(f"no gradebook and no */result.json in {grades_dir}: nothing to regrade")
    now = now_of(assignment, Options())
    entries = tuple(decide(lone_result(p), None, now, assume=True) for p in paths)
    lang = next((e.stored.result.lang for e in entries if e.stored.result), now.settings.lang)
    return RegradePlan(grades_dir, assignment.id, assignment_sha256(assignment), lang, now.settings, entries, None, assumed=True)


def regrade(grades_dir: Path, assignment: Assignment, *, dry_run: bool = False, runner: Runner | None = None,
            out: IO[str] | None = None, progress: str = "auto", lang: str | None = None) -> RegradeOutcome:
    """Regrade the batch output folder `grades_dir` against `assignment` as it is now: say what
    will change and what must run again, and why, then do it (with `dry_run`: only say it)."""
    plan = plan_regrade(grades_dir, assignment)
    return carry_out(plan, assignment, dry_run=dry_run, runner=runner, out=out, progress=progress, lang=lang)


def regrade_one(result_json: Path, assignment: Assignment, *, dry_run: bool = False, runner: Runner | None = None,
                out: IO[str] | None = None, progress: str = "auto", lang: str | None = None) -> RegradeOutcome:
    """Regrade one `result.json`: through its batch's gradebook when it lies in a batch output
    folder, else judged from its record alone (it cannot be run again: `grader grade` does that)."""
    path = Path(result_json)
    grades_dir = path.parent.parent
    student = None
    if (grades_dir / FILENAME).is_file():
        with Gradebook(grades_dir / FILENAME) as book:
            student = next((r["student"] for r in book.raw_results(assignment.id) if r["folder"] == path.parent.name), None)
    plan = plan_regrade(grades_dir, assignment, students={student}) if student else plan_results([path], assignment, path.parent)
    return carry_out(plan, assignment, dry_run=dry_run, runner=runner, out=out, progress=progress, lang=lang)


def carry_out(plan: RegradePlan, assignment: Assignment, *, dry_run: bool = False, runner: Runner | None = None,
              out: IO[str] | None = None, progress: str = "auto", lang: str | None = None) -> RegradeOutcome:
    """Print the plan (in `lang`; default: the results'), then, unless `dry_run`, commit what was
    judged again and run what must run."""
    out = out or sys.stdout
    print(render_plan(plan, lang, dry_run=dry_run), file=out, flush=True)
    if dry_run:
        return RegradeOutcome(plan, dry_run=True)
    if plan.context is None:
        return _apply_alone(plan, assignment)
    return _apply_batch(plan, assignment, runner, out, progress)


def _apply_alone(plan: RegradePlan, assignment: Assignment) -> RegradeOutcome:
    """Results without a gradebook: the changed ones rewritten in place; nothing can run again."""
    changed = [(e, e.stored.result_path.parent) for e in plan.rejudged if e.changed and e.stored.result_path is not None]
    errors = write_all(changed, assignment)
    written = [e.student for e, _ in changed if not any(error.startswith(f"{e.student}: ") for error in errors)]
    results = [e.new or e.stored.result for e in plan.entries]
    passed = sum(1 for r in results if r is not None and r.passed)
    return RegradeOutcome(plan, False, written=tuple(written), not_rerun=tuple((e.student, Reason("cannot.no_gradebook")) for e in plan.reruns),
                          output_errors=tuple(errors), passed=passed, failed=len(results) - passed)


def _apply_batch(plan: RegradePlan, assignment: Assignment, runner: Runner | None, out: IO[str], progress: str) -> RegradeOutcome:
    context = plan.context
    assert context is not None
    reruns = {e.student for e in plan.reruns}
    if reruns and context.roster is not None and not context.roster.is_file():
        raise UsageError(f"the batch's roster {context.roster} is gone: it is needed to run {len(reruns)} submission(s) again")
    runnable = bool(reruns) and bool(context.paths) and all(p.exists() for p in context.paths)
    book_path = plan.grades_dir / FILENAME
    fresh = [e for e in plan.rejudged if e.changed or e.stored.assignment_sha256 != plan.assignment_sha256]
    errors: list[str] = []
    with batch_lock(plan.grades_dir / LOCK), Gradebook(book_path) as book:
        book.save_assignment(plan.assignment_sha256, assignment.id, assignment_snapshot(assignment))
        run_id = book.start_run(assignment.id, {"regrade": True, **_context_json(plan)}, len(plan.entries))
        book.record_all([_entry(plan, e) for e in fresh], run_id)
        errors += write_all([(e, plan.grades_dir / e.stored.folder) for e in fresh if e.changed], assignment)
        book.finish_run(run_id, len(fresh), len(plan.entries) - len(fresh))
        missing = _meta_missing(book)
    report = None
    if runnable:
        settings = BatchSettings(outdir=plan.grades_dir, jobs=context.jobs, roster=context.roster, id_pattern=context.id_pattern, progress=progress)
        report = run_batch(list(context.paths), assignment, context.options, settings, runner=runner, out=out, only=reruns)
        errors += report.output_errors
    found = {i.student for i in report.discovery.items} if report and report.discovery else set()
    left = tuple((s, Reason("cannot.no_paths" if not runnable else "cannot.not_found")) for s in sorted(reruns - found))
    summary = report.summary_page if report else None
    with Gradebook(book_path) as book:
        try:
            records = book.results(assignment.id)
        except (ValueError, TypeError) as exc:  # a damaged row that could not be run again
            records, summary = [], None
            errors.append(f"gradebook: {type(exc).__name__}: {exc}")
        if report is None and records:
            summary = _write_summary(records, assignment, plan, missing, errors)
    passed = sum(1 for r in records if r.result.passed)
    return RegradeOutcome(plan, False, written=tuple(e.student for e in fresh), rerun=tuple(sorted(reruns & found)), not_rerun=left,
                          batch=report, output_errors=tuple(errors), summary_page=summary, passed=passed, failed=len(records) - passed)


def write_all(entries: list[tuple[Planned, Path]], assignment: Assignment) -> list[str]:
    """result.json and report.html of each result judged again, in its folder, a few at a time
    (each file is flushed to disk: the waits overlap); the errors, one line each."""
    def write(entry: Planned, folder: Path) -> str | None:
        try:
            write_outputs(entry.new, assignment, folder)  # type: ignore[arg-type]
            return None
        except OSError as exc:
            return f"{entry.student}: {type(exc).__name__}: {exc}"

    with ThreadPoolExecutor(max_workers=WRITERS) as pool:
        return [error for error in pool.map(lambda job: write(*job), entries) if error]


def _entry(plan: RegradePlan, planned: Planned) -> StoredResult:
    """The gradebook row of a result judged again: under the key a batch would give it now."""
    stored, result = planned.stored, planned.new
    assert result is not None
    options = grading_options(dataclasses.replace(plan.settings, lang=result.lang))
    key = grading_key(stored.student, stored.content_sha256, plan.assignment_id, plan.assignment_sha256, options)
    return StoredResult(plan.assignment_id, stored.student, key, stored.content_sha256, stored.source, stored.folder, "graded", "", 0, result,
                        assignment_sha256=plan.assignment_sha256)


def _context_json(plan: RegradePlan) -> dict[str, Any]:
    """How the batch runs, carried to the regrade's own run (the next regrade reads it there)."""
    context = plan.context or BatchContext(Options())
    return {"options": grading_options(plan.settings), "asked": dataclasses.asdict(context.options), "paths": [str(p) for p in context.paths],
            "roster": str(context.roster) if context.roster else None, "id_pattern": context.id_pattern, "jobs": context.jobs}


def _meta_missing(book: Gradebook) -> list[str]:
    try:
        missing = json.loads(book.meta("assignment_json") or "{}").get("missing", [])
    except (ValueError, AttributeError):
        return []
    return [m for m in missing if isinstance(m, str)] if isinstance(missing, list) else []


def _write_summary(records: list[StoredResult], assignment: Assignment, plan: RegradePlan, missing: list[str], errors: list[str]) -> Path | None:
    """summary.html again, as the batch writes it; a failure is an output error."""
    from grader.exports import ExportSettings, write_export

    try:
        settings = ExportSettings.for_assignment(assignment, lang=plan.settings.lang, missing=missing)
        written = write_export("summary", records, plan.grades_dir, settings)
        return written[0] if written else None
    except Exception as exc:  # noqa: BLE001 - the results are committed; say it and go on
        errors.append(f"summary.html: {type(exc).__name__}: {exc}")
        return None
