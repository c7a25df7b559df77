"""grader.common is host-side: nothing that runs in the sandbox imports it, and it imports no other part of grader
but the package itself (it sits below every sub-package)."""

from __future__ import annotations

import ast
from pathlib import Path

import grader

PACKAGE = Path(grader.__file__).resolve().parent


def imported(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names |= {node.module} | {f"{node.module}.{a.name}" for a in node.names}
    return names


def test_code_inside_the_sandbox_never_imports_common():
    for path in sorted((PACKAGE / "inside").rglob("*.py")):
        assert not {n for n in imported(path) if n.startswith("grader.common")}, path


def test_common_imports_nothing_above_it():
    for path in sorted((PACKAGE / "common").rglob("*.py")):
        assert {n for n in imported(path) if n.startswith("grader.")} <= {n for n in imported(path) if n.startswith("grader.common")}, path
