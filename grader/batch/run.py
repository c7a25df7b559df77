"""One batch run: what the gradebook lacks is graded, each result committed as it comes back."""

from __future__ import annotations

import dataclasses
import json
import signal
import sys
import threading
import time
from collections.abc import Collection, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from grader.batch.dask_executor import DaskExecutor
from grader.batch.discovery import Discovery, Item, discover
from grader.batch.gradebook import Gradebook, StoredResult, gradebook_path
from grader.batch.jobs import DEFAULT_GRACE_S, Job, Outcome, Runner, grading_job
from grader.batch.keys import assignment_sha256, assignment_snapshot, grading_key, grading_options
from grader.batch.local import LocalExecutor
from grader.batch.machine import default_jobs
from grader.batch.progress import Progress, format_duration
from grader.batch.results import failed_result, result_of_outcome
from grader.batch.roster import Roster, load_roster
from grader.errors import EXIT_FAILED, EXIT_INTERNAL, EXIT_PASSED, UsageError
from grader.i18n import t
from grader.options import resolve
from grader.report.outputs import write_outputs

if TYPE_CHECKING:
    from grader.assignment import Assignment
    from grader.models import GradeResult
    from grader.options import Options


@dataclass(frozen=True)
class BatchSettings:
    """How to run a batch (the options of `grader batch` that are not grading options)."""

    outdir: Path
    jobs: int | None = None  # local workers (default: `default_jobs()`)
    executor: str = "local"  # local | dask
    scheduler: str | None = None  # Dask scheduler address (dask; none: a local Dask cluster)
    roster: Path | None = None
    id_pattern: str | None = None
    gradebook: Path | None = None  # default: OUTDIR/gradebook.sqlite
    retry_crashed: bool = False  # grade again the submissions whose grading crashed
    grace_s: float = DEFAULT_GRACE_S
    progress: str = "auto"  # auto | bar | plain | none
    summary: bool = True  # write OUTDIR/summary.html at the end


@dataclass
class BatchReport:
    """What a batch did, for its last lines and its exit code."""

    outdir: Path
    gradebook: Path
    total: int = 0
    graded: int = 0  # graded in this run
    cached: int = 0  # kept from an earlier run
    passed: int = 0
    failed: int = 0
    crashed: list[str] = field(default_factory=list)  # students whose grading crashed in this run
    output_errors: list[str] = field(default_factory=list)
    discovery: Discovery | None = None
    summary_page: Path | None = None
    executor: str = ""
    elapsed_s: float = 0.0

    @property
    def exit_code(self) -> int:
        """3 if an output could not be written, else 0 when every submission passed, 1 otherwise."""
        if self.output_errors:
            return EXIT_INTERNAL
        return EXIT_PASSED if self.failed == 0 else EXIT_FAILED


@contextmanager
def batch_lock(path: Path) -> Iterator[None]:
    """One batch at a time per output folder (released by the OS if the batch dies)."""
    with path.open("a+") as file:
        try:
            import fcntl

            fcntl.flock(file.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except ImportError:  # pragma: no cover - Windows: no lock
            pass
        except OSError as exc:
            raise UsageError(f"another batch is running on {path.parent} (lock: {path})") from exc
        yield


class _Terminated(BaseException):
    """SIGTERM, raised in the main thread: like KeyboardInterrupt, no `except Exception` may swallow it."""


def _on_sigterm(signum: int, frame: Any) -> None:
    raise _Terminated()


def outputs_complete(folder: Path) -> bool:
    """result.json is there and whole (a power cut can leave an empty file), and so is report.html."""
    try:
        json.loads((folder / "result.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return (folder / "report.html").is_file()


def make_executor(settings: BatchSettings, runner: Runner | None) -> LocalExecutor | DaskExecutor:
    """The executor `settings` ask for (`runner` replaces `run_job` in local workers)."""
    if settings.executor == "local":
        if settings.scheduler:
            raise UsageError("--scheduler needs --executor dask")
        return LocalExecutor(settings.jobs or default_jobs(), runner)
    if settings.executor == "dask":
        return DaskExecutor(settings.scheduler, settings.jobs)
    raise UsageError(f"unknown executor '{settings.executor}' (local or dask)")


def run_batch(
    paths: Sequence[Path],
    assignment: Assignment,
    options: Options,
    settings: BatchSettings,
    *,
    runner: Runner | None = None,
    out: IO[str] | None = None,
    only: Collection[str] | None = None,
) -> BatchReport:
    """Grade every submission under `paths` that the gradebook does not already hold under its key;
    with `only` (`grader regrade`), grade again exactly those of these students, whatever it holds."""
    out = out or sys.stdout
    started = time.monotonic()
    outdir = Path(settings.outdir)
    roster = load_roster(settings.roster) if settings.roster else None
    discovery = discover(paths, roster, settings.id_pattern)
    if not discovery.items:
        raise UsageError("no submission found (expected .ipynb or .py files, or one folder per student)")
    if only is not None:
        discovery.items = [item for item in discovery.items if item.student in only]
    outdir.mkdir(parents=True, exist_ok=True)
    report = BatchReport(outdir=outdir, gradebook=gradebook_path(outdir, settings.gradebook), discovery=discovery, total=len(discovery.items))
    effective = resolve(assignment, options)  # what every job runs with, and what its key says
    lang = effective.lang
    key_options = grading_options(effective)
    assignment_content = assignment_sha256(assignment)

    with batch_lock(outdir / ".grader-batch.lock"), Gradebook(report.gradebook) as book:
        _bind(book, assignment, lang, discovery, roster)
        book.save_assignment(assignment_content, assignment.id, assignment_snapshot(assignment))  # what grader regrade compares with
        stored = book.keys(assignment.id)
        todo: list[tuple[Item, str]] = []
        for item in discovery.items:
            key = grading_key(item.student, item.content_sha256, assignment.id, assignment_content, key_options)
            previous = stored.get(item.student)
            if previous and previous[0] == key and only is None and not (settings.retry_crashed and previous[1] == "crashed"):
                report.cached += 1
                _restore_cached_outputs(book, assignment, item, outdir, report)
            else:
                todo.append((item, key))
        _print_notes(discovery)

        progress = Progress(report.total, len(todo), settings.progress)
        asked = {"asked": dataclasses.asdict(dataclasses.replace(options, env={})), "paths": [str(Path(p).resolve()) for p in paths],
                 "roster": str(Path(settings.roster).resolve()) if settings.roster else None, "id_pattern": settings.id_pattern}  # for grader regrade
        run_id = book.start_run(assignment.id, {"options": key_options, "executor": settings.executor, "jobs": settings.jobs, **asked}, report.total)
        items_by_student = {item.student: (item, key) for item, key in todo}

        def record(item: Item, key: str, result: GradeResult, crashed: bool, log_tail: str = "") -> None:
            book.record(student=item.student, key=key, content_sha256=item.content_sha256, source=str(item.source), folder=item.folder,
                        result=result, outcome="crashed" if crashed else "graded", run_id=run_id, assignment_sha256=assignment_content)
            report.graded += 1
            if crashed:
                report.crashed.append(item.student)
            folder = outdir / item.folder
            try:
                write_outputs(result, assignment, folder)
                if crashed and log_tail:
                    (folder / "worker.log").write_text(log_tail, encoding="utf-8", errors="replace")
            except Exception as exc:  # noqa: BLE001 - the result is safe in the gradebook; report and go on
                report.output_errors.append(f"{item.student}: {type(exc).__name__}: {exc}")
                progress.line(f"batch: could not write the outputs of {item.student}: {type(exc).__name__}: {exc}")
            progress.result(item.student, result, crashed)

        unrunnable = [(item, key) for item, key in todo if item.graded_file is None]  # a failed result without a worker
        jobs = [grading_job(item.student, key, item.graded_file, assignment, effective, grace_s=settings.grace_s)
                for item, key in todo if item.graded_file is not None]

        executor = make_executor(settings, runner)
        state = "interrupted"
        previous_handler = None
        try:
            if threading.current_thread() is threading.main_thread():
                previous_handler = signal.signal(signal.SIGTERM, _on_sigterm)
            if jobs:
                if isinstance(executor, LocalExecutor):
                    from grader.data.datasets import ensure_dataset

                    ensure_dataset(assignment.dataset, effective.data_dir)  # once here, not in every worker at the same time
                else:
                    executor.connect()
            report.executor = executor.describe() if jobs else ""
            progress.line(render_header(report, len(todo), assignment, report.executor))
            for item, key in unrunnable:
                message = t(lang, f"summary.batch.{item.problem_kind}", names=item.problem or "")
                record(item, key, failed_result(assignment, item.filename, lang, "invalid", message, timeout_s=effective.timeout_s), crashed=False)
            jobs = executor.prepare(jobs)

            def on_done(job: Job, outcome: Outcome) -> None:
                item, key = items_by_student[job.student]
                result, crashed = result_of_outcome(assignment, item.filename, lang, outcome, timeout_s=effective.timeout_s)
                record(item, key, result, crashed, outcome.get("log_tail", "") if crashed else "")

            executor.run(jobs, on_done, progress.tick)
            state = "finished"
        except (KeyboardInterrupt, _Terminated):
            progress.close()
            print(f"batch: interrupted; {report.graded} result(s) of this run are in the gradebook; run the same command again to finish", file=sys.stderr)
            raise KeyboardInterrupt from None
        finally:
            progress.close()
            if previous_handler is not None:
                signal.signal(signal.SIGTERM, previous_handler)
            if isinstance(executor, DaskExecutor):
                executor.close()
            book.finish_run(run_id, report.graded, report.cached, state)

        records = book.results(assignment.id)
        current = {item.student for item in discovery.items}
        rows = [r for r in records if r.student in current]
        report.passed = sum(1 for r in rows if r.result.passed)
        report.failed = len(rows) - report.passed
        if settings.summary:
            _write_summary(records, assignment, lang, discovery, report)
    report.elapsed_s = round(time.monotonic() - started, 3)
    print(render_report(report), file=out)
    return report


def _bind(book: Gradebook, assignment: Assignment, lang: str, discovery: Discovery, roster: Roster | None) -> None:
    """Tie the gradebook to the assignment (refused if it holds another), and keep what the exports need."""
    book.bind_assignment(assignment.id)
    book.set_meta("assignment_json", json.dumps({
        "id": assignment.id, "title": assignment.title, "title_zh": assignment.title_zh, "default_lang": lang,
        "max_score": float(sum(assignment.points.values())), "folder": str(Path(assignment.folder).resolve()),
        "missing": discovery.missing,
    }, ensure_ascii=False))
    if roster:
        book.save_students({s: roster.rows[s] for s in roster.rows})


def _print_notes(discovery: Discovery) -> None:
    """Tell the instructor (on stderr) what was ignored and how ids were found."""
    for s in discovery.ignored:
        print(f"batch: ignored {s}", file=sys.stderr)
    for note in discovery.notes:
        print(f"batch: {note}", file=sys.stderr)
    for name in discovery.unmatched:
        print(f"batch: {name} is not in the roster; its id is taken from its name", file=sys.stderr)


def _restore_cached_outputs(book: Gradebook, assignment: Assignment, item: Item, outdir: Path, report: BatchReport) -> None:
    """A result kept from an earlier run: bring its outputs back if they are missing."""
    stored = book.get(assignment.id, item.student)
    if stored is None:
        return
    if stored.folder != item.folder or stored.source != str(item.source):
        book.update_location(assignment.id, item.student, str(item.source), item.folder)
    folder = outdir / item.folder
    if not outputs_complete(folder):
        try:
            write_outputs(stored.result, assignment, folder)
        except Exception as exc:  # noqa: BLE001
            report.output_errors.append(f"{item.student}: {type(exc).__name__}: {exc}")


def _write_summary(records: list[StoredResult], assignment: Assignment, lang: str, discovery: Discovery, report: BatchReport) -> None:
    """OUTDIR/summary.html; a failure is an output error of the batch."""
    try:
        from grader.exports import ExportSettings, write_export

        settings = ExportSettings.for_assignment(assignment, lang=lang, missing=discovery.missing)
        paths_written = write_export("summary", records, report.outdir, settings)
        report.summary_page = paths_written[0] if paths_written else None
    except Exception as exc:  # noqa: BLE001
        report.output_errors.append(f"summary.html: {type(exc).__name__}: {exc}")


def render_header(report: BatchReport, todo: int, assignment: Assignment, where: str) -> str:
    """The batch's first line: how many submissions, how many to grade, and where."""
    if not todo:
        return f"batch: {report.total} submission(s) of {assignment.id}: all already graded"
    return (f"batch: {report.total} submission(s) of {assignment.id}: {todo} to grade, {report.cached} already graded"
            + (f"; {where}" if where else ""))


def render_report(report: BatchReport) -> str:
    """The batch's last lines: counts, crashes, missing students, errors and where everything is."""
    lines = [
        f"batch: {report.total} submission(s) in {format_duration(report.elapsed_s)}: {report.graded} graded now, {report.cached} already graded",
        f"  passed {report.passed}, failed {report.failed}" + (
            f" (grading crashed for {len(report.crashed)}: {', '.join(report.crashed[:10])}"
            f"{'…' if len(report.crashed) > 10 else ''}; see their worker.log, and --retry-crashed)" if report.crashed else ""),
    ]
    if report.discovery and report.discovery.missing:
        missing = report.discovery.missing
        lines.append(f"  no submission from {len(missing)} roster student(s): {', '.join(missing[:10])}{'…' if len(missing) > 10 else ''}")
    for error in report.output_errors:
        lines.append(f"  error writing outputs: {error}")
    lines.append(f"  gradebook: {report.gradebook}")
    if report.summary_page:
        lines.append(f"  summary:   {report.summary_page}")
    return "\n".join(lines)
