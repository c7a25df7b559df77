"""The wheel students install: every module, the assignments and templates, never reference/."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_wheel_ships_the_package_but_not_the_reference_solutions(tmp_path):
    wheel = [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", str(ROOT), "-w", str(tmp_path)]
    subprocess.run(wheel, check=True, capture_output=True)
    names = set(zipfile.ZipFile(next(tmp_path.glob("grader-*.whl"))).namelist())
    assert not [n for n in names if "reference" in n or "solution" in n]
    modules = {p.relative_to(ROOT).as_posix() for p in (ROOT / "grader").rglob("*.py")}
    assert modules <= names, f"missing from the wheel: {sorted(modules - names)}"
    for assignment in ("mnist-callback", "mnist-conv"):
        assert {f"grader/assignments/{assignment}/assignment.toml", f"grader/assignments/{assignment}/skeleton.ipynb"} <= names
    locales = {p.relative_to(ROOT).as_posix() for p in (ROOT / "grader" / "locales").rglob("*.toml")}
    templates = {"grader/templates/" + p.relative_to(ROOT / "templates").as_posix() for p in (ROOT / "templates").rglob("*") if p.is_file()}
    assert locales | templates | {"grader/schema/result.schema.json", "grader/schema/assignment.schema.json"} <= names
