"""The instructor's path on the command line: `grader new` scaffolds an assignment
(:mod:`grader.authoring.scaffold`) and `grader validate` proves it sound (:mod:`grader.authoring.validation`).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from grader.errors import EXIT_FAILED, EXIT_PASSED
from grader.authoring.scaffold import scaffold
from grader.authoring.validation import validate


# ---------------------------------------------------------------------------------------------
# The command line


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add `grader new` and `grader validate`."""
    new = sub.add_parser("new", help="scaffold a new assignment (TOML, skeleton, reference, samples)", description="Create assignments/ID, reference/ID and tests/samples/ID under --root: a complete assignment to edit. See docs/authoring.md.")
    new.add_argument("id", help="the new assignment's id: lower-case letters, digits and hyphens (e.g. my-exercise)")
    new.add_argument("--root", type=Path, default=Path("."), help="the folder holding assignments/, reference/ and tests/samples/ (default: the current folder)")
    new.add_argument("--title", help="the assignment's title")
    new.add_argument("--dataset", choices=["mnist", "fashion_mnist"], default="mnist", help="the data set (default: mnist)")
    new.set_defaults(run=cmd_new)

    check = sub.add_parser("validate", help="prove an assignment sound: reference passes, samples and skeleton fail", description="Validate an assignment: its TOML, its skeleton, its reference solution (graded: must pass) and its samples meant to fail (graded: each must fail on the check it names).")
    check.add_argument("assignment", help="assignment id or path to its folder or assignment.toml")
    check.add_argument("--reference", type=Path, help="the reference solution (default: [authoring] reference, else reference/<id>/solution.ipynb)")
    check.add_argument("--samples", type=Path, help="the folder of samples (default: [authoring] samples, else tests/samples/<id>)")
    check.add_argument("--expected", type=Path, help="the file describing the samples (default: expected.toml beside the samples folder)")
    check.add_argument("--skip-reference", action="store_true", help="do not grade the reference solution")
    check.add_argument("--quick", action="store_true", help="no real training: skip the reference and the samples that train on the full data set")
    check.add_argument("--data-dir", type=Path, help="data set folder (default: $GRADER_DATA_DIR or ~/.cache/grader/datasets)")
    check.set_defaults(run=cmd_validate)


def cmd_new(args: argparse.Namespace) -> int:
    """`grader new`."""
    scaffold(args.id, args.root, title=args.title, dataset=args.dataset)
    return EXIT_PASSED


def cmd_validate(args: argparse.Namespace) -> int:
    """`grader validate`: exit status 0 if the assignment is sound."""
    report = validate(
        args.assignment,
        reference=args.reference,
        samples=args.samples,
        expected=args.expected,
        skip_reference=args.skip_reference,
        quick=args.quick,
        data_dir=args.data_dir,
    )
    for warning in report.warnings:
        print(f"warning: {warning}")
    return EXIT_PASSED if report.sound else EXIT_FAILED
