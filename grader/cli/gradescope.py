"""Gradescope autograder mode.

* `grader gradescope` runs inside Gradescope's container: it grades the one notebook or module in
  `/autograder/submission` and writes `/autograder/results/results.json` (both paths can be
  changed, for tests). The grading runs in a worker process, so a submission that crashes or
  kills its interpreter still gets a results.json, with a failed result.
* `grader make-autograder -a ASSIGNMENT` writes the zip an instructor uploads to Gradescope:
  `setup.sh` (installs Python, this grader and MNIST), `run_autograder`, the assignment's folder
  and, unless `--package` names a pip requirement, the source of this very grader.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from grader.batch.autograder import RESULTS_PATH, SUBMISSION_DIR
from grader.errors import EXIT_FAILED, EXIT_PASSED, UsageError


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    from grader.cli.main import add_grading_options

    g = sub.add_parser("gradescope", help="Gradescope autograder mode: grade /autograder/submission",
                       description="Grade the notebook or module in the submission folder and write Gradescope's results.json.")
    add_grading_options(g)
    g.add_argument("--submission-dir", type=Path, default=SUBMISSION_DIR, help=f"the submission folder (default: {SUBMISSION_DIR})")
    g.add_argument("--results", type=Path, default=RESULTS_PATH, help=f"the results file (default: {RESULTS_PATH})")
    g.add_argument("--visibility", default="visible", choices=["visible", "hidden", "after_due_date", "after_published"],
                   help="when students see the tests (default: visible)")
    g.set_defaults(run=cmd_gradescope)

    m = sub.add_parser("make-autograder", help="write the autograder zip to upload to Gradescope",
                       description="Write a Gradescope autograder zip (setup.sh, run_autograder) for an assignment.")
    m.add_argument("-a", "--assignment", required=True, help="assignment id (see `grader list`) or path to an assignment folder")
    m.add_argument("-o", "--out", type=Path, help="the zip to write (default: ./autograder-<assignment>.zip)")
    m.add_argument("--package", help="pip requirement that installs the grader (default: bundle the source of this grader)")
    m.add_argument("--timeout", type=float, help="wall-clock limit in seconds (default: the assignment's)")
    m.add_argument("--lang", choices=["en", "zh"], help="language of the feedback (default: the assignment's)")
    m.add_argument("--visibility", default="visible", choices=["visible", "hidden", "after_due_date", "after_published"])
    m.set_defaults(run=cmd_make_autograder)


def cmd_gradescope(args: argparse.Namespace) -> int:
    from grader.assignment import find_assignment
    from grader.batch.autograder import autograde, write_failure
    from grader.cli.main import grading_options
    from grader.report.summary import summary

    started = time.monotonic()
    try:
        if not args.assignment:
            raise UsageError("grader gradescope needs the assignment: -a ASSIGNMENT")
        assignment = find_assignment(args.assignment)
        result = autograde(args.submission_dir, assignment, grading_options(args), args.results, args.visibility)
    except Exception as exc:  # noqa: BLE001 - Gradescope must get a results.json whatever happens
        write_failure(args.results, exc, getattr(args, "lang", None) or "en", time.monotonic() - started)
        raise
    print(summary(result, [args.results]))
    return EXIT_PASSED if result.passed else EXIT_FAILED


def cmd_make_autograder(args: argparse.Namespace) -> int:
    from grader.assignment import find_assignment
    from grader.exports.autograder_zip import make_autograder

    if args.timeout is not None and args.timeout <= 0:
        raise UsageError("--timeout must be a positive number of seconds")
    assignment = find_assignment(args.assignment)
    out = args.out or Path(f"autograder-{assignment.id}.zip")
    path = make_autograder(assignment, out, package=args.package, timeout=args.timeout, lang=args.lang, visibility=args.visibility)
    print(f"autograder for {assignment.id}: {path} (upload it in Gradescope: Configure Autograder → Zip file upload)")
    return EXIT_PASSED

