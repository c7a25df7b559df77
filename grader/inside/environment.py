"""The exercise's environment in the grading kernel: which modules the student's code may import, and
`pip install` answered offline.

Which modules the student's code may import: the assignment's `packages`,
Python's standard library and IPython (the kernel itself). A literal `import x` or `from x import
y` of anything else raises `ModuleNotFoundError` at the student's own line, exactly as if it were
not installed, so a notebook graded on one machine is graded the same on another whatever else
that machine has installed. The host turns the error into a message that names the module and
lists what the exercise provides (`grader.rules.checks.execution_message`).

This is the exercise's environment, not a security boundary (the sandbox is): `importlib` and
`__import__` are not rewritten, and the libraries the student imports import what they need.

Colab notebooks keep `!pip install ...` and `%pip install ...` lines. Grading is offline, so such
a command could only fail after pip's retries (seconds each): it is answered at once with a note
naming what the exercise provides, and the notebook goes on as in Jupyter.
"""

from __future__ import annotations

import ast
import re
import sys
from collections.abc import Iterable
from typing import Any

ALWAYS = ("__future__", "IPython", "grader")  # the kernel itself, and the grader's hidden cells
PIP_INSTALL = re.compile(r"^\s*(?:sudo\s+)?(?:\S*pip3?(?:\.\d+)?|\"?[^\"\s]*python[\d.]*\"?\s+-m\s+pip)\s+(?:-\S+\s+)*install\b")


def provided(module: str, packages: Iterable[str]) -> bool:
    """Whether `module` (dotted) is importable under this policy: its top-level name is one of
    `packages`, a module of the standard library, or the kernel's own."""
    top = module.split(".", 1)[0]
    return top in packages or top in ALWAYS or top in sys.stdlib_module_names


class RefuseUnprovided(ast.NodeTransformer):
    """An IPython AST transformer: each absolute import of a module outside the policy becomes
    `raise ModuleNotFoundError("No module named '<module>'", name='<module>')` at the same place."""

    def __init__(self, packages: Iterable[str]) -> None:
        self.packages = frozenset(packages)

    def visit_Import(self, node: ast.Import) -> ast.AST:
        refused = next((alias.name for alias in node.names if not provided(alias.name, self.packages)), None)
        return node if refused is None else _raise_missing(node, refused)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> ast.AST:
        if node.level or not node.module or provided(node.module, self.packages):
            return node
        return _raise_missing(node, node.module)


def _raise_missing(node: ast.stmt, module: str) -> ast.stmt:
    raised = ast.parse(f"raise ModuleNotFoundError({f'No module named {module!r}'!r}, name={module!r})").body[0]
    for part in ast.walk(raised):  # every node at the import's own position: the traceback shows the student's line
        for attr in ("lineno", "col_offset", "end_lineno", "end_col_offset"):
            if attr in part._attributes:
                setattr(part, attr, getattr(node, attr, None) or (1 if attr == "lineno" else 0))
    return raised


def install(packages: Iterable[str]) -> None:
    """Rewrite the imports of every cell run after this one, and answer `pip install` offline (none
    of it outside IPython)."""
    shell = _shell()
    if shell is None:
        return
    packages = tuple(packages)
    shell.ast_transformers.append(RefuseUnprovided(packages))
    original = shell.system

    def system(cmd: str) -> Any:
        if isinstance(cmd, str) and PIP_INSTALL.match(cmd):
            print(f"[grader] {cmd.strip()[:200]}: skipped, grading is offline; this exercise provides {', '.join(packages)} and the standard library.")
            shell.user_ns["_exit_code"] = 0
            return None
        return original(cmd)

    shell.system = system


def _shell() -> Any:
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - the kernel is IPython's
        return None
    return get_ipython()
