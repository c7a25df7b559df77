"""`grader grade` (one submission, for the instructor) and `grader check` (a student's self-check)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from grader.cli.options import GradingArgs, PathType, grading_options, to_options
from grader.errors import EXIT_FAILED, EXIT_PASSED, GraderError, UsageError

if TYPE_CHECKING:
    from grader.assignment import Assignment
    from grader.models import GradeResult


@click.command("grade", short_help="grade one submission (.ipynb or .py)",
               help="Grade one submission; writes OUTDIR/result.json and OUTDIR/report.html.")
@click.argument("submission", type=PathType, help="the student's notebook (.ipynb) or module (.py)")
@grading_options
@click.option("-o", "--out", type=PathType, default=Path("grader-results"), help="output folder (default: ./grader-results)")
def grade(submission: Path, grading: GradingArgs, out: Path) -> int:
    result, _ = grade_and_write(submission, grading, out)
    return EXIT_PASSED if result.passed else EXIT_FAILED


@click.command("check", short_help="self-check your notebook before you submit it",
               help="Grade your own notebook locally: a short summary, and a report you can open.")
@click.argument("submission", type=PathType, help="your notebook (.ipynb) or module (.py)")
@grading_options
@click.option("-o", "--out", type=PathType, help="where to write the report (default: <notebook>-grader/ beside it)")
@click.option("--open", "open_report", flag_value=True, default=None, help="open the report in a browser without asking")
@click.option("--no-open", "open_report", flag_value=False, help="never offer to open the report")
def check(submission: Path, grading: GradingArgs, out: Path | None, open_report: bool | None) -> int:
    result, written = grade_and_write(submission, grading, out)
    if should_open(open_report):
        import webbrowser

        webbrowser.open(written[-1].resolve().as_uri())
    return EXIT_PASSED if result.passed else EXIT_FAILED


def resolve_assignment(grading: GradingArgs, submission: Path) -> Assignment:
    """The assignment of `-a`, else the one the notebook's metadata names."""
    from grader.assignment import find_assignment
    from grader.run.submission import InvalidSubmission, load_submission

    if grading.assignment:
        return find_assignment(grading.assignment)
    try:
        hint = load_submission(submission).assignment_hint
    except InvalidSubmission:
        hint = None
    if not hint:
        raise UsageError("no assignment given: pass -a ASSIGNMENT (see `grader list`)")
    return find_assignment(hint)


def grade_and_write(submission: Path, grading: GradingArgs, out: Path | None) -> tuple[GradeResult, list[Path]]:
    """Grade `submission`, write result.json and report.html to `out`, print the summary."""
    from grader import pipeline
    from grader.report.outputs import write_outputs
    from grader.report.summary import summary

    if not submission.is_file():
        raise UsageError(f"no such file: {submission}")
    assignment = resolve_assignment(grading, submission)
    options = to_options(grading)
    out = out or submission.with_name(f"{submission.stem}-grader")
    try:
        result = pipeline.grade(submission, assignment, options)
    except GraderError:
        raise
    except Exception as exc:  # a fault of ours (grade() itself turns the submission's into results): result.json all the same
        from grader.last_resort import last_resort_result
        from grader.options import resolve
        from grader.report.outputs import write_json

        write_json(last_resort_result(assignment, submission.name, resolve(assignment, options).lang, exc), out)
        raise
    written = write_outputs(result, assignment, out)
    print(summary(result, written))
    if result.execution.unsafe:
        print(f"grader: warning: {result.execution.sandbox} (see docs/security.md)", file=sys.stderr)
    return result, written


def should_open(choice: bool | None) -> bool:
    """Open the report when asked to, or when a person at a terminal says yes."""
    if choice is not None:
        return choice
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        return False
    try:
        return input("Open the report in your browser? [Y/n] ").strip().lower() in ("", "y", "yes", "是")
    except EOFError:
        return False
