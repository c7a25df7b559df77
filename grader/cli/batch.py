"""`grader batch`: grade a whole class (:mod:`grader.batch.run`)."""

from __future__ import annotations

from pathlib import Path

import click

from grader.batch.jobs import DEFAULT_GRACE_S
from grader.batch.machine import default_jobs
from grader.cli.options import GradingArgs, PathType, grading_options, to_options
from grader.errors import UsageError


@click.command(
    "batch",
    short_help="grade a whole class: one submission per file or folder",
    help="Grade every submission in SUBMISSIONS (a folder of files or folders, or the submissions themselves) into "
    "OUTDIR/<student>/, with a gradebook (OUTDIR/gradebook.sqlite) that keeps every result: run the same command again "
    "after an interruption and only what is missing is graded.",
)
@click.argument("submissions", nargs=-1, required=True, type=PathType, metavar="SUBMISSIONS...",
                help="a folder of submissions, or submission files/folders")
@grading_options
@click.option("-o", "--out", type=PathType, required=True, metavar="OUTDIR", help="output folder (holds the gradebook)")
@click.option("-j", "--jobs", type=int, help=f"submissions graded at once (default here: {default_jobs()}: one per core, as memory allows)")
@click.option("--roster", type=PathType, help="CSV of students (a 'student' column, or a Canvas gradebook export) to name submissions")
@click.option("--id-pattern", help="regular expression whose group 'student' (or 'name') is the student id in a file name; "
              "'canvas' and 'moodle' name the LMS download formats")
@click.option("--executor", type=click.Choice(["local", "dask"]), default="local", help="where to grade (default: local processes)")
@click.option("--scheduler", metavar="ADDRESS", help="Dask scheduler address, e.g. tcp://10.0.0.5:8786 (with --executor dask)")
@click.option("--gradebook", type=PathType, help="gradebook file (default: OUTDIR/gradebook.sqlite)")
@click.option("--retry-crashed", is_flag=True, help="grade again the submissions whose grading crashed in an earlier run")
@click.option("--grace", type=float, default=DEFAULT_GRACE_S, metavar="SECONDS",
              help=f"time a grading may take beyond --timeout before it is killed (default: {DEFAULT_GRACE_S:g})")
@click.option("--progress", type=click.Choice(["auto", "bar", "plain", "none"]), default="auto", help="progress display (default: a bar on a terminal)")
@click.option("--no-summary", is_flag=True, help="do not write OUTDIR/summary.html")
@click.option("--similar", "find_similar", is_flag=True, help="then compare the submissions: OUTDIR/similarity.html (see `grader similar`)")
def batch(submissions: tuple[Path, ...], grading: GradingArgs, out: Path, jobs: int | None, roster: Path | None, id_pattern: str | None,
          executor: str, scheduler: str | None, gradebook: Path | None, retry_crashed: bool, grace: float, progress: str,
          no_summary: bool, find_similar: bool) -> int:
    from grader.assignment import find_assignment
    from grader.batch.run import BatchSettings, run_batch

    if not grading.assignment:
        raise UsageError("grader batch needs the assignment: -a ASSIGNMENT (see `grader list`)")
    if jobs is not None and jobs < 1:
        raise UsageError("--jobs must be at least 1")
    if grace <= 0:
        raise UsageError("--grace must be a positive number of seconds")
    assignment = find_assignment(grading.assignment)
    options = to_options(grading)
    settings = BatchSettings(outdir=out, jobs=jobs, executor=executor, scheduler=scheduler, roster=roster, id_pattern=id_pattern,
                             gradebook=gradebook, retry_crashed=retry_crashed, grace_s=grace, progress=progress, summary=not no_summary)
    exit_code = run_batch(list(submissions), assignment, options, settings).exit_code
    if find_similar:  # a reason to look, never a verdict: the batch's exit code stands
        from grader.similar.command import run_similar_command

        run_similar_command(out, None, grading.lang, assignment=assignment.id, gradebook=gradebook)
    return exit_code
