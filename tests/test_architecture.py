"""The layering of docs/architecture.md, enforced: every import of a grader module goes down the
layers (or stays inside its own sub-package), code under grader/inside/ imports only the standard
library, TensorFlow/Keras, NumPy and itself, and the sandbox launcher only the standard library."""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from pathlib import Path

import grader

PACKAGE = Path(grader.__file__).resolve().parent

LAYERS: tuple[tuple[str, ...], ...] = (  # bottom first; a unit may import only units of lower layers
    ("inside", "common", "errors"),
    ("schema", "i18n", "models"),
    ("untrusted", "assignment"),
    ("sandbox", "data", "last_resort"),
    ("run", "rules"),
    ("report", "options"),
    ("pipeline", "exports"),
    ("authoring", "batch"),
    ("regrade", "similar"),
    ("cli",),
    ("__main__",),
)
RANK = {unit: rank for rank, units in enumerate(LAYERS) for unit in units}
INSIDE_MAY_IMPORT = {"tensorflow", "keras", "numpy", "IPython"}  # IPython: the kernel the hidden cells run in
STDLIB_ONLY = ("sandbox/launcher.py", "sandbox/root.py", "sandbox/processes.py", "sandbox/seccomp.py")


def unit_of(path: Path) -> str:
    """A module's unit: its sub-package, or for a module directly in grader/ its own name."""
    parts = path.relative_to(PACKAGE).with_suffix("").parts
    return parts[0]


def imports(path: Path) -> Iterator[tuple[int, str]]:
    """(line, dotted name) of every import in a module, `from a import b` also as `a.b`."""
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            yield from ((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            yield node.lineno, node.module
            yield from ((node.lineno, f"{node.module}.{alias.name}") for alias in node.names)


def grader_unit(name: str) -> str | None:
    parts = name.split(".")
    if parts[0] != "grader" or len(parts) < 2:
        return None
    return parts[1] if (PACKAGE / parts[1]).is_dir() or (PACKAGE / f"{parts[1]}.py").is_file() else None


def modules() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if "__pycache__" not in p.parts and p.name != "__init__.py" or p.parent != PACKAGE)


def test_every_unit_has_a_layer():
    units = {unit_of(p) for p in modules() if p.parent != PACKAGE or p.name != "__init__.py"}
    assert units - set(RANK) == set(), "a new sub-package or flat module: give it a layer here and in docs/architecture.md"


def test_imports_go_down_the_layers():
    upward = []
    for path in modules():
        if path == PACKAGE / "__init__.py":
            continue  # the public API's lazy exports name modules as strings, imported on use
        source = unit_of(path)
        for line, name in imports(path):
            target = grader_unit(name)
            if target and target != source and RANK[target] >= RANK[source]:
                upward.append(f"{path.relative_to(PACKAGE)}:{line} imports {name} ({source} may not import {target})")
    assert upward == []


def test_inside_imports_only_the_standard_library_tensorflow_numpy_and_itself():
    found = []
    for path in sorted((PACKAGE / "inside").rglob("*.py")):
        for line, name in imports(path):
            top = name.split(".")[0]
            allowed = top in sys.stdlib_module_names or top in INSIDE_MAY_IMPORT or name.startswith("grader.inside") or name == "grader"
            if not allowed:
                found.append(f"{path.relative_to(PACKAGE)}:{line} imports {name}")
    assert found == []


def test_the_sandbox_launcher_imports_only_the_standard_library_and_its_own_helpers():
    allowed = {f"grader.sandbox.{Path(m).stem}" for m in STDLIB_ONLY} | {"grader.sandbox"}
    found = [f"{m}:{line} imports {name}" for m in STDLIB_ONLY for line, name in imports(PACKAGE / m)
             if name.split(".")[0] not in sys.stdlib_module_names and not any(name == a or name.startswith(a + ".") for a in allowed)]
    assert found == []


def test_an_upward_import_is_caught(tmp_path):
    """The check itself can fail: a rules module importing the CLI is an upward import."""
    probe = tmp_path / "probe.py"
    probe.write_text("from grader.cli.main import main\n", encoding="utf-8")
    (_, name), *_ = imports(probe)
    assert grader_unit(name) == "cli" and RANK["cli"] > RANK["rules"]
