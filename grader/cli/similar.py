"""`grader similar GRADES_DIR`: pairs of submissions worth a look (:mod:`grader.similar`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import fields
from pathlib import Path
from typing import Any, TypeVar

import click

from grader.cli.options import LANGS, PathType
from grader.similar.model import Thresholds

F = TypeVar("F", bound=Callable[..., Any])
OPTION_NAMES = {"code": "--code-share"}  # every other threshold: its field name, dashed


def threshold_options(command: F) -> F:
    """One option per `Thresholds` field, defaulting to the field's default."""
    defaults = Thresholds()
    for f in reversed(fields(Thresholds)):
        flag = OPTION_NAMES.get(f.name, "--" + f.name.replace("_", "-"))
        kind = int if isinstance(getattr(defaults, f.name), int) else float
        command = click.option(flag, f.name, type=kind, default=None, metavar="N",
                               help=f"similarity threshold {f.name} (default: {getattr(defaults, f.name):g})")(command)
    return command


def thresholds_of(values: dict[str, Any]) -> Thresholds:
    """The thresholds the options name, the defaults for the rest (an invalid value: a usage error)."""
    return Thresholds(**{name: value for name, value in values.items() if value is not None})


@click.command(
    "similar",
    short_help="find pairs of submissions that share code or training",
    help="Compare the submissions of a batch (GRADES_DIR, the folder `grader batch -o` wrote): code shared beyond the "
    "skeleton, and identical recorded training. Writes similarity.html and similarity.csv. Similarity is a reason to "
    "look, not a verdict.",
)
@click.argument("grades_dir", type=PathType, metavar="GRADES_DIR", help="a batch's output folder")
@click.option("-a", "--assignment", help="assignment id (default: the one the gradebook names)")
@click.option("-o", "--out", type=PathType, metavar="OUT", help="where to write the pages (default: GRADES_DIR)")
@click.option("--gradebook", type=PathType, help="gradebook file (default: GRADES_DIR/gradebook.sqlite)")
@click.option("--lang", type=click.Choice(LANGS), help="language of the page (default: the assignment's)")
@threshold_options
def similar(grades_dir: Path, assignment: str | None, out: Path | None, gradebook: Path | None, lang: str | None, **thresholds: Any) -> int:
    from grader.similar.command import run_similar_command

    return run_similar_command(grades_dir, out, lang, thresholds_of(thresholds), assignment=assignment, gradebook=gradebook)
