"""The `grader batch` command: its options, and the batch they ask for."""

from __future__ import annotations

import argparse
from pathlib import Path

from grader.batch.jobs import DEFAULT_GRACE_S
from grader.batch.machine import default_jobs
from grader.errors import UsageError


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add `grader batch` to the command line."""
    from grader.cli.main import add_grading_options

    p = sub.add_parser(
        "batch",
        help="grade a whole class: one submission per file or folder",
        description="Grade every submission in SUBMISSIONS (a folder of files or folders, or the submissions themselves) into "
        "OUTDIR/<student>/, with a gradebook (OUTDIR/gradebook.sqlite) that keeps every result: run the same command again "
        "after an interruption and only what is missing is graded.",
    )
    p.add_argument("submissions", nargs="+", type=Path, metavar="SUBMISSIONS", help="a folder of submissions, or submission files/folders")
    add_grading_options(p)
    p.add_argument("-o", "--out", type=Path, required=True, metavar="OUTDIR", help="output folder (holds the gradebook)")
    p.add_argument("-j", "--jobs", type=int, help=f"submissions graded at once (default here: {default_jobs()}: one per core, as memory allows)")
    p.add_argument("--roster", type=Path, help="CSV of students (a 'student' column, or a Canvas gradebook export) to name submissions")
    p.add_argument("--id-pattern", help="regular expression whose group 'student' (or 'name') is the student id in a file name; "
                   "'canvas' and 'moodle' name the LMS download formats")
    p.add_argument("--executor", choices=["local", "dask"], default="local", help="where to grade (default: local processes)")
    p.add_argument("--scheduler", metavar="ADDRESS", help="Dask scheduler address, e.g. tcp://10.0.0.5:8786 (with --executor dask)")
    p.add_argument("--gradebook", type=Path, help="gradebook file (default: OUTDIR/gradebook.sqlite)")
    p.add_argument("--retry-crashed", action="store_true", help="grade again the submissions whose grading crashed in an earlier run")
    p.add_argument("--grace", type=float, default=DEFAULT_GRACE_S, metavar="SECONDS",
                   help=f"time a grading may take beyond --timeout before it is killed (default: {DEFAULT_GRACE_S:g})")
    p.add_argument("--progress", choices=["auto", "bar", "plain", "none"], default="auto", help="progress display (default: a bar on a terminal)")
    p.add_argument("--no-summary", action="store_true", help="do not write OUTDIR/summary.html")
    p.set_defaults(run=cmd_batch)


def cmd_batch(args: argparse.Namespace) -> int:
    """Run `grader batch`; its exit code."""
    from grader.assignment import find_assignment
    from grader.batch.run import BatchSettings, run_batch
    from grader.cli.main import grading_options as cli_grading_options

    if not args.assignment:
        raise UsageError("grader batch needs the assignment: -a ASSIGNMENT (see `grader list`)")
    if args.jobs is not None and args.jobs < 1:
        raise UsageError("--jobs must be at least 1")
    if args.grace <= 0:
        raise UsageError("--grace must be a positive number of seconds")
    assignment = find_assignment(args.assignment)
    options = cli_grading_options(args)
    settings = BatchSettings(
        outdir=args.out,
        jobs=args.jobs,
        executor=args.executor,
        scheduler=args.scheduler,
        roster=args.roster,
        id_pattern=args.id_pattern,
        gradebook=args.gradebook,
        retry_crashed=args.retry_crashed,
        grace_s=args.grace,
        progress=args.progress,
        summary=not args.no_summary,
    )
    return run_batch(args.submissions, assignment, options, settings).exit_code
