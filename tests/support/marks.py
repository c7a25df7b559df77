"""Which markers a test module gives all its tests (`pytestmark`), read without importing it, and
whether a `-m` expression leaves every test of such a module out."""

from __future__ import annotations

import ast
import itertools
from pathlib import Path


def module_marks(path: Path) -> set[str]:
    """The bare `pytest.mark.NAME` markers in the module's top-level `pytestmark` assignment."""
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"))
    except (OSError, SyntaxError, ValueError):
        return set()
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "pytestmark" for t in node.targets):
            values = node.value.elts if isinstance(node.value, (ast.List, ast.Tuple)) else [node.value]
            return {v.attr for v in values if isinstance(v, ast.Attribute) and isinstance(v.value, ast.Attribute) and v.value.attr == "mark"}
    return set()


def leaves_out(markexpr: str, marks: set[str], registered: list[str]) -> bool:
    """True when `-m markexpr` selects no test that carries `marks`, whatever other registered
    markers it carries too; False when it may select one, or the expression cannot be read."""
    if not markexpr or not marks:
        return False
    try:
        from _pytest.mark.expression import Expression  # pytest's own reading of -m

        expression = Expression.compile(markexpr)
        others = [name for name in registered if name not in marks]
        for n in range(len(others) + 1):
            for extra in itertools.combinations(others, n):
                carried = marks | set(extra)
                if expression.evaluate(lambda name, /, carried=carried, **kwargs: name in carried):
                    return False
    except Exception:  # noqa: BLE001 - any doubt: collect the module as usual
        return False
    return True
