"""The Gradescope autograder zip an instructor uploads (`grader make-autograder -a ASSIGNMENT`).

It holds `setup.sh` (installs Python, this grader and the data set), `run_autograder` (runs
`grader gradescope`, :mod:`grader.batch.autograder`, for each submission), the assignment's folder
and, unless a pip requirement is given, the source of this very grader.
"""

from __future__ import annotations

import importlib.metadata
import json
import stat
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from grader import __version__
from grader.common.files import atomic_write

if TYPE_CHECKING:
    from grader.assignment import Assignment

EXECUTABLE = 0o755
CONSOLE_SCRIPT = "grader.cli.main:main"  # the `grader` command, as pyproject.toml's [project.scripts] names it (a test holds them equal)

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
    requires = requires or [
        "tensorflow-cpu>=2.16", "numpy>=1.26", "nbformat>=5.9", "nbclient>=0.10", "ipykernel>=6.29", "jinja2>=3.1", "click>=8.5", "tqdm>=4.66",
    ]
    if not any(r.startswith("tomli") for r in requires):
        requires.append("tomli>=2; python_version < '3.11'")
    deps = "".join(f"  {json.dumps(r)},\n" for r in requires)
    return (
        '[build-system]\nrequires = ["setuptools>=68", "wheel"]\nbuild-backend = "setuptools.build_meta"\n\n'
        f'[project]\nname = "grader"\nversion = "{__version__}"\nrequires-python = ">=3.10"\ndependencies = [\n{deps}]\n\n'
        f'[project.scripts]\ngrader = "{CONSOLE_SCRIPT}"\n\n'
        '[tool.setuptools.packages.find]\ninclude = ["grader*"]\n\n'
        '[tool.setuptools.package-data]\ngrader = ["locales/*/*.toml", "templates/*", "py.typed"]\n'
    )


def _add(z: zipfile.ZipFile, name: str, data: bytes, mode: int = 0o644) -> None:
    info = zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0))
    info.external_attr = (stat.S_IFREG | mode) << 16
    info.compress_type = zipfile.ZIP_DEFLATED
    z.writestr(info, data)


def make_autograder(assignment: Assignment, out: Path, *, package: str | None = None, timeout: float | None = None,
                    lang: str | None = None, visibility: str = "visible") -> Path:
    """Write the autograder zip; returns its path."""
    options = []
    if timeout:
        options.append(f"--timeout {float(timeout):g}")
    if lang:
        options.append(f"--lang {lang}")
    if visibility != "visible":
        options.append(f"--visibility {visibility}")
    # without a package, an editable install: templates/ and assignments/ stay beside the package
    install = "'" + package.replace("'", "'\\''") + "'" if package else "-e /autograder/source/grader_src"
    out.parent.mkdir(parents=True, exist_ok=True)

    def write(f: BinaryIO) -> None:
        with zipfile.ZipFile(f, "w") as z:
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

    return atomic_write(out, write)
