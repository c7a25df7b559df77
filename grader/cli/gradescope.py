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
import importlib.metadata
import json
import stat
import sys
import time
import zipfile
from pathlib import Path
from typing import Any

from grader import __version__
from grader.errors import EXIT_FAILED, EXIT_PASSED, UsageError

SUBMISSION_DIR = Path("/autograder/submission")
RESULTS_PATH = Path("/autograder/results/results.json")
EXECUTABLE = 0o755


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


# ---------------------------------------------------------------------------------------------
# Inside Gradescope
# ---------------------------------------------------------------------------------------------


def grade_submission(submission_dir: Path, assignment: Any, options: Any) -> Any:
    """The GradeResult for the one gradable file in `submission_dir` (a failed one if there is none)."""
    from grader.batch.discovery import candidates
    from grader.batch.jobs import grading_job
    from grader.batch.local import run_job
    from grader.batch.machine import usable_cores
    from grader.batch.results import crash_result, failed_result
    from grader.i18n import t
    from grader.models import GradeResult
    from grader.options import resolve

    settings = resolve(assignment, options)  # the same effective settings as `grader grade` and a batch
    lang = settings.lang
    files = candidates(submission_dir) if submission_dir.is_dir() else []
    if not files:
        return failed_result(assignment, submission_dir.name, lang, "invalid", t(lang, "summary.gradescope.no_file"))
    if len(files) > 1:
        names = ", ".join(p.relative_to(submission_dir).as_posix() for p in files[:10])
        return failed_result(assignment, files[0].name, lang, "invalid", t(lang, "summary.gradescope.several", names=names))
    outcome = run_job(grading_job("submission", "", files[0], assignment, settings, threads=usable_cores()))
    if outcome["outcome"] == "graded":
        try:
            return GradeResult.from_dict(outcome["result"])
        except Exception as exc:  # noqa: BLE001
            outcome = {**outcome, "kind": "bad_result", "message": str(exc)[:300]}
    if outcome.get("log_tail"):
        print(outcome["log_tail"], file=sys.stderr)  # Gradescope shows stdout/stderr to instructors only
    return crash_result(assignment, files[0].name, lang, outcome)


def write_results(data: dict[str, Any], path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name("." + path.name + ".tmp")
    tmp.write_text(json.dumps(data, ensure_ascii=False, indent=2), encoding="utf-8")
    tmp.replace(path)
    return path


def failure_results(message: str, elapsed: float) -> dict[str, Any]:
    return {"score": 0.0, "execution_time": int(elapsed), "output": message, "output_format": "text", "stdout_visibility": "hidden", "tests": []}


def cmd_gradescope(args: argparse.Namespace) -> int:
    from grader.assignment import find_assignment
    from grader.cli.main import grading_options
    from grader.exports.gradescope import results
    from grader.i18n import t
    from grader.report.summary import summary

    started = time.monotonic()
    try:
        if not args.assignment:
            raise UsageError("grader gradescope needs the assignment: -a ASSIGNMENT")
        assignment = find_assignment(args.assignment)
        options = grading_options(args)
        from grader.data.datasets import ensure_dataset

        ensure_dataset(assignment.dataset, options.data_dir)
        result = grade_submission(args.submission_dir, assignment, options)
    except Exception as exc:  # noqa: BLE001 - Gradescope must get a results.json whatever happens
        lang = getattr(args, "lang", None) or "en"
        write_results(failure_results(t(lang, "summary.gradescope.failed", error=f"{type(exc).__name__}: {exc}"), time.monotonic() - started), args.results)
        raise
    write_results(results(result, args.visibility), args.results)
    print(summary(result, [args.results]))
    return EXIT_PASSED if result.passed else EXIT_FAILED


# ---------------------------------------------------------------------------------------------
# The autograder zip
# ---------------------------------------------------------------------------------------------

SETUP_SH = """#!/usr/bin/env bash
# Gradescope runs this once, when the autograder image is built (made by `grader make-autograder`).
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
apt-get update -y
apt-get install -y --no-install-recommends python3 python3-venv python3-pip
python3 -m venv /autograder/grader-venv
/autograder/grader-venv/bin/python -m pip install --upgrade pip setuptools wheel
/autograder/grader-venv/bin/python -m pip install {install}
GRADER_DATA_DIR=/autograder/grader-data /autograder/grader-venv/bin/grader data fetch {dataset}
/autograder/grader-venv/bin/grader list
"""

RUN_AUTOGRADER = """#!/usr/bin/env bash
# Gradescope runs this for every submission: grade /autograder/submission into
# /autograder/results/results.json (made by `grader make-autograder` for {assignment}).
ROOT="${{GRADER_AUTOGRADER_ROOT:-/autograder}}"
GRADER="${{GRADER_BIN:-$ROOT/grader-venv/bin/grader}}"
export GRADER_DATA_DIR="${{GRADER_DATA_DIR:-$ROOT/grader-data}}"
cd "$ROOT"
"$GRADER" gradescope -a "$ROOT/source/assignment/{assignment}" \\
    --submission-dir "$ROOT/submission" --results "$ROOT/results/results.json" {options}
status=$?
# A failed grade is a result, not a failure of the autograder: once results.json exists, exit 0.
if [ -s "$ROOT/results/results.json" ]; then exit 0; fi
exit "$status"
"""


def source_files() -> dict[str, Path]:
    """The grader's source as an installable project: {path in the bundle: file}."""
    package = Path(__file__).resolve().parents[1]
    root = package.parent
    files: dict[str, Path] = {}
    for folder, prefix in ((package, "grader"), (root / "templates", "templates"), (root / "assignments", "assignments")):
        if not folder.is_dir():
            continue
        for path in sorted(folder.rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts and not path.name.endswith((".pyc", ".pyo")):
                files[f"{prefix}/{path.relative_to(folder).as_posix()}"] = path
    return files


def bundle_pyproject() -> str:
    """A pyproject.toml for the bundled source, with the dependencies of the installed grader."""
    try:
        requires = [r for r in (importlib.metadata.requires("grader") or []) if "extra ==" not in r]
    except importlib.metadata.PackageNotFoundError:
        requires = []
    requires = requires or ["tensorflow-cpu>=2.16", "numpy>=1.26", "nbformat>=5.9", "nbclient>=0.10", "ipykernel>=6.29", "jinja2>=3.1"]
    if not any(r.startswith("tomli") for r in requires):
        requires.append("tomli>=2; python_version < '3.11'")
    deps = "".join(f"  {json.dumps(r)},\n" for r in requires)
    return (
        '[build-system]\nrequires = ["setuptools>=68", "wheel"]\nbuild-backend = "setuptools.build_meta"\n\n'
        f'[project]\nname = "grader"\nversion = "{__version__}"\nrequires-python = ">=3.10"\ndependencies = [\n{deps}]\n\n'
        '[project.scripts]\ngrader = "grader.cli.main:main"\n\n'
        '[tool.setuptools.packages.find]\ninclude = ["grader*"]\n\n'
        '[tool.setuptools.package-data]\ngrader = ["locales/*/*.toml", "templates/*", "py.typed"]\n'
    )


def _add(z: zipfile.ZipFile, name: str, data: bytes, mode: int = 0o644) -> None:
    info = zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0))
    info.external_attr = (stat.S_IFREG | mode) << 16
    info.compress_type = zipfile.ZIP_DEFLATED
    z.writestr(info, data)


def make_autograder(assignment: Any, out: Path, *, package: str | None = None, timeout: float | None = None,
                    lang: str | None = None, visibility: str = "visible") -> Path:
    """Write the autograder zip; returns its path."""
    options = []
    if timeout:
        options.append(f"--timeout {float(timeout):g}")
    if lang:
        options.append(f"--lang {lang}")
    if visibility != "visible":
        options.append(f"--visibility {visibility}")
    if package:
        install = "'" + package.replace("'", "'\\''") + "'"
    else:
        install = "-e /autograder/source/grader_src"  # editable: templates/ and assignments/ stay beside the package
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name("." + out.name + ".tmp")
    with zipfile.ZipFile(tmp, "w") as z:
        _add(z, "setup.sh", SETUP_SH.format(install=install, dataset=assignment.dataset).encode(), EXECUTABLE)
        _add(z, "run_autograder", RUN_AUTOGRADER.format(assignment=assignment.id, options=" ".join(options)).encode(), EXECUTABLE)
        folder = Path(assignment.folder)
        for path in sorted(folder.rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts:
                _add(z, f"assignment/{assignment.id}/{path.relative_to(folder).as_posix()}", path.read_bytes())
        if not package:
            _add(z, "grader_src/pyproject.toml", bundle_pyproject().encode())
            for name, path in source_files().items():
                _add(z, f"grader_src/{name}", path.read_bytes())
        _add(z, "README.txt", (f"Gradescope autograder for {assignment.id} (grader {__version__}).\n"
                               "Upload this zip as the autograder of a programming assignment; students submit one .ipynb or .py.\n").encode())
    tmp.replace(out)
    return out


def cmd_make_autograder(args: argparse.Namespace) -> int:
    from grader.assignment import find_assignment

    if args.timeout is not None and args.timeout <= 0:
        raise UsageError("--timeout must be a positive number of seconds")
    assignment = find_assignment(args.assignment)
    out = args.out or Path(f"autograder-{assignment.id}.zip")
    path = make_autograder(assignment, out, package=args.package, timeout=args.timeout, lang=args.lang, visibility=args.visibility)
    print(f"autograder for {assignment.id}: {path} (upload it in Gradescope: Configure Autograder → Zip file upload)")
    return EXIT_PASSED

