"""The `grader` command: one click group holding every command. Only here do errors become exit codes.

A command is a click command in its own module of :mod:`grader.cli`, listed once in `COMMANDS`;
it returns its exit code and lets the library's `GraderError`s (a usage, configuration or data-set
error) rise to `main`.
"""

from __future__ import annotations

import os
import sys
import traceback
from collections.abc import Sequence

import click

from grader import __version__
from grader.cli import assignments, authoring, batch, data, export, grade, gradescope, regrade, similar
from grader.errors import EXIT_INTERNAL, EXIT_PASSED, EXIT_USAGE, GraderError

EXIT_INTERRUPTED = 130

COMMANDS: tuple[click.Command, ...] = (  # in the order `grader --help` lists them
    grade.grade,
    grade.check,
    assignments.list_assignments,
    data.data,
    batch.batch,
    export.export,
    regrade.regrade,
    similar.similar,
    gradescope.gradescope,
    gradescope.make_autograder,
    authoring.new,
    authoring.validate,
)


class Commands(click.Group):
    """A group that lists its commands in the order they were added, not alphabetically."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(self.commands)


@click.group("grader", cls=Commands, invoke_without_command=True, help="Grade TensorFlow/Keras exercises.",
             context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, "--version", prog_name="grader", message="%(prog)s %(version)s")
@click.pass_context
def cli(ctx: click.Context) -> int:
    if ctx.invoked_subcommand is None:  # `grader` alone: the help, and success
        click.echo(ctx.get_help())
    return EXIT_PASSED


for _command in COMMANDS:
    cli.add_command(_command)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line on `argv` (default: the process's arguments); the exit code."""
    try:
        code = cli.main(args=list(argv) if argv is not None else None, prog_name="grader", standalone_mode=False)
        return EXIT_PASSED if code is None else int(code)
    except click.ClickException as exc:  # a command line click cannot parse: usage, and what is wrong
        exc.show()
        return EXIT_USAGE
    except GraderError as exc:
        print(f"grader: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except (click.Abort, KeyboardInterrupt):  # click turns Ctrl-C into Abort
        print("grader: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as exc:  # noqa: BLE001 - the last line of defence: a fault of ours, not the user's
        print(f"grader: internal error: {type(exc).__name__}: {exc}", file=sys.stderr)
        if os.environ.get("GRADER_DEBUG"):
            traceback.print_exc()
        else:
            print("grader: set GRADER_DEBUG=1 for the traceback, and please report it.", file=sys.stderr)
        return EXIT_INTERNAL
