"""`grader regrade GRADES_DIR`: judge a class again after a rule changed (:mod:`grader.regrade`)."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from grader.cli.options import LANGS, PathType


@click.command(
    "regrade",
    short_help="judge stored results again after the assignment changed",
    help="Judge every result stored in GRADES_DIR (a batch's output folder, or one result.json) again against the "
    "assignment as it is now, from what the grader recorded, without running any notebook; only the submissions whose "
    "stored data cannot answer the new rules run again, each with the reason.",
)
@click.argument("grades_dir", type=PathType, metavar="GRADES_DIR", help="a batch's output folder, or one result.json")
@click.option("-a", "--assignment", help="assignment id or folder (default: the one the batch was graded with)")
@click.option("--dry-run", is_flag=True, help="show whose score would go up or down, and what would run again; change nothing")
@click.option("--lang", type=click.Choice(LANGS), help="language of the output (default: the results')")
def regrade(grades_dir: Path, assignment: str | None, dry_run: bool, lang: str | None) -> int:
    from grader.regrade.command import run_regrade_command

    return run_regrade_command(grades_dir, assignment, dry_run, lang, sys.stdout)
