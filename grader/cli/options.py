"""The options that several commands share: the grading options (one decorator, `grading_options`)
and the one function that turns them into the library's `Options` (`to_options`)."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar, cast

import click

from grader.errors import UsageError

if TYPE_CHECKING:
    from grader.options import Options

LANGS = ("en", "zh")
SANDBOXES = ("auto", "bwrap", "unshare", "none")
VISIBILITIES = ("visible", "hidden", "after_due_date", "after_published")  # Gradescope's, as the CLI lists them
DATA_DIR_HELP = "data set folder (default: $GRADER_DATA_DIR or ~/.cache/grader/datasets)"

PathType = click.Path(path_type=Path)  # a path, as given: commands check it and say what is wrong

F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class GradingArgs:
    """The grading options as given on the command line (`None`: not given)."""

    assignment: str | None = None
    timeout: float | None = None
    lang: str | None = None
    entry: str | None = None
    seed: int = 0
    data_dir: Path | None = None
    sandbox: str = "auto"
    memory: int | None = None
    full: bool = False


GRADING_OPTIONS = (  # in the order --help lists them; each parameter is named as a GradingArgs field
    click.option("-a", "--assignment", help="assignment id (see `grader list`) or path to an assignment folder; default: the notebook's metadata"),
    click.option("--timeout", type=float, help="wall-clock limit in seconds (default: the assignment's)"),
    click.option("--lang", type=click.Choice(LANGS), help="language of messages and report (default: the assignment's)"),
    click.option("--entry", help="a function to call after the cells ran, if they trained nothing (e.g. train_mnist)"),
    click.option("--seed", type=int, default=0, help="random seed set before the submission runs (default: 0)"),
    click.option("--data-dir", type=PathType, help=DATA_DIR_HELP),
    click.option("--sandbox", type=click.Choice(SANDBOXES), default="auto",
                 help="isolation of the submission (default: bubblewrap, else the grader's own namespaces; refused where neither "
                 "works; 'none' is unsafe, for trusted code only; see docs/security.md)"),
    click.option("--memory", type=int, metavar="MB", help="memory limit of the submission in MB (default: 4096)"),
    click.option("--full", is_flag=True, help="run the whole notebook even when the pre-check already found a rule broken, and never stop early"),
)


def grading_options(command: F) -> F:
    """Add the grading options to a command, which receives them as one `grading: GradingArgs`."""
    names = [f.name for f in fields(GradingArgs)]

    @functools.wraps(command)
    def with_grading(*args: Any, **kwargs: Any) -> Any:
        grading = GradingArgs(**{name: kwargs.pop(name) for name in names})
        return command(*args, grading=grading, **kwargs)

    decorated: Any = with_grading
    for option in reversed(GRADING_OPTIONS):
        decorated = option(decorated)
    return cast(F, decorated)


def to_options(grading: GradingArgs) -> Options:
    """The library's `Options` for the grading options given: the one place where command-line values
    become options (the library fills in the defaults). A bad value is a usage error (exit 2), and so
    is a sandbox that cannot isolate: fail closed before anything runs."""
    from grader.options import Options
    from grader.sandbox.modes import resolve_mode

    if grading.entry and not grading.entry.isidentifier():
        raise UsageError(f"--entry must be a Python function name, not '{grading.entry}'")
    if grading.timeout is not None and grading.timeout <= 0:
        raise UsageError("--timeout must be a positive number of seconds")
    if grading.memory is not None and grading.memory < 512:
        raise UsageError("--memory must be at least 512 MB: TensorFlow alone needs more")
    resolve_mode(grading.sandbox)
    return Options(lang=grading.lang, timeout_s=grading.timeout, seed=grading.seed, entry=grading.entry, data_dir=grading.data_dir,
                   full=grading.full, sandbox=grading.sandbox, memory_mb=grading.memory)

