"""`grader gradescope` (inside Gradescope's container: :mod:`grader.batch.autograder`) and
`grader make-autograder` (the zip to upload: :mod:`grader.exports.autograder_zip`)."""

from __future__ import annotations

import time
from pathlib import Path

import click

from grader.batch.autograder import RESULTS_PATH, SUBMISSION_DIR
from grader.cli.options import LANGS, VISIBILITIES, GradingArgs, PathType, grading_options, to_options
from grader.errors import EXIT_FAILED, EXIT_PASSED, UsageError


@click.command("gradescope", short_help="Gradescope autograder mode: grade /autograder/submission",
               help="Grade the notebook or module in the submission folder and write Gradescope's results.json.")
@grading_options
@click.option("--submission-dir", type=PathType, default=SUBMISSION_DIR, help=f"the submission folder (default: {SUBMISSION_DIR})")
@click.option("--results", type=PathType, default=RESULTS_PATH, help=f"the results file (default: {RESULTS_PATH})")
@click.option("--visibility", type=click.Choice(VISIBILITIES), default="visible", help="when students see the tests (default: visible)")
def gradescope(grading: GradingArgs, submission_dir: Path, results: Path, visibility: str) -> int:
    from grader.assignment import find_assignment
    from grader.batch.autograder import autograde, write_failure
    from grader.report.summary import summary

    started = time.monotonic()
    try:
        if not grading.assignment:
            raise UsageError("grader gradescope needs the assignment: -a ASSIGNMENT")
        assignment = find_assignment(grading.assignment)
        result = autograde(submission_dir, assignment, to_options(grading), results, visibility)
    except Exception as exc:  # noqa: BLE001 - Gradescope must get a results.json whatever happens
        write_failure(results, exc, grading.lang or "en", time.monotonic() - started)
        raise
    print(summary(result, [results]))
    return EXIT_PASSED if result.passed else EXIT_FAILED


@click.command("make-autograder", short_help="write the autograder zip to upload to Gradescope",
               help="Write a Gradescope autograder zip (setup.sh, run_autograder) for an assignment.")
@click.option("-a", "--assignment", required=True, help="assignment id (see `grader list`) or path to an assignment folder")
@click.option("-o", "--out", type=PathType, help="the zip to write (default: ./autograder-<assignment>.zip)")
@click.option("--package", help="pip requirement that installs the grader (default: bundle the source of this grader)")
@click.option("--timeout", type=float, help="wall-clock limit in seconds (default: the assignment's)")
@click.option("--lang", type=click.Choice(LANGS), help="language of the feedback (default: the assignment's)")
@click.option("--visibility", type=click.Choice(VISIBILITIES), default="visible")
def make_autograder(assignment: str, out: Path | None, package: str | None, timeout: float | None, lang: str | None, visibility: str) -> int:
    from grader.assignment import find_assignment
    from grader.exports.autograder_zip import make_autograder as write_zip

    if timeout is not None and timeout <= 0:
        raise UsageError("--timeout must be a positive number of seconds")
    found = find_assignment(assignment)
    path = write_zip(found, out or Path(f"autograder-{found.id}.zip"), package=package, timeout=timeout, lang=lang, visibility=visibility)
    print(f"autograder for {found.id}: {path} (upload it in Gradescope: Configure Autograder → Zip file upload)")
    return EXIT_PASSED
