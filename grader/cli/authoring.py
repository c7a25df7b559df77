"""The instructor's path: `grader new` scaffolds an assignment (:mod:`grader.authoring.scaffold`) and
`grader validate` proves it sound (:mod:`grader.authoring.validation`)."""

from __future__ import annotations

from pathlib import Path

import click

from grader.assignment import DATASETS
from grader.cli.options import DATA_DIR_HELP, PathType
from grader.errors import EXIT_FAILED, EXIT_PASSED


@click.command("new", short_help="scaffold a new assignment (TOML, skeleton, reference, samples)",
               help="Create assignments/ID, reference/ID and tests/samples/ID under --root: a complete assignment to edit. See docs/authoring.md.")
@click.argument("id", help="the new assignment's id: lower-case letters, digits and hyphens (e.g. my-exercise)")
@click.option("--root", type=PathType, default=Path("."), help="the folder holding assignments/, reference/ and tests/samples/ (default: the current folder)")
@click.option("--title", help="the assignment's title")
@click.option("--dataset", type=click.Choice(DATASETS), default="mnist", help="the data set (default: mnist)")
def new(id: str, root: Path, title: str | None, dataset: str) -> int:  # noqa: A002 - the argument's name in --help
    from grader.authoring.scaffold import scaffold

    scaffold(id, root, title=title, dataset=dataset)
    return EXIT_PASSED


@click.command("validate", short_help="prove an assignment sound: reference passes, samples and skeleton fail",
               help="Validate an assignment: its TOML, its skeleton, its reference solution (graded: must pass) and its samples meant "
               "to fail (graded: each must fail on the check it names).")
@click.argument("assignment", help="assignment id or path to its folder or assignment.toml")
@click.option("--reference", type=PathType, help="the reference solution (default: [authoring] reference, else reference/<id>/solution.ipynb)")
@click.option("--samples", type=PathType, help="the folder of samples (default: [authoring] samples, else tests/samples/<id>)")
@click.option("--expected", type=PathType, help="the file describing the samples (default: expected.toml beside the samples folder)")
@click.option("--skip-reference", is_flag=True, help="do not grade the reference solution")
@click.option("--quick", is_flag=True, help="no real training: skip the reference and the samples that train on the full data set")
@click.option("--data-dir", type=PathType, help=DATA_DIR_HELP)
def validate(assignment: str, reference: Path | None, samples: Path | None, expected: Path | None, skip_reference: bool, quick: bool,
             data_dir: Path | None) -> int:
    """Exit status 0 if the assignment is sound."""
    from grader.authoring.validation import validate as validate_assignment

    report = validate_assignment(assignment, reference=reference, samples=samples, expected=expected, skip_reference=skip_reference,
                                 quick=quick, data_dir=data_dir)
    for warning in report.warnings:
        print(f"warning: {warning}")
    return EXIT_PASSED if report.sound else EXIT_FAILED
