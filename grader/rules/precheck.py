"""The static pre-check: reading the code, before any execution and without TensorFlow.

It finds what is *certain* to break a rule (a literal `epochs` above the limit, more convolution or
pooling layers than allowed in a literal `Sequential([...])`, no callback passed to any `fit`, a
stop message that differs from the expected text) and what it only *suspects*. A certain finding
gives the verdict without training; a suspicion is reported and execution decides.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass

from grader.assignment import Assignment
from grader.i18n import t
from grader.inside.environment import provided
from grader.models import Finding
from grader.rules.checks import normalise_message

CONV_NAMES = {"Conv1D", "Conv2D", "Conv3D", "Convolution2D", "SeparableConv2D", "DepthwiseConv2D", "Conv2DTranspose", "conv2d", "convolution"}
POOL_NAMES = {
    "MaxPooling2D", "MaxPool2D", "AveragePooling2D", "AvgPool2D", "MaxPooling1D", "MaxPooling3D", "GlobalMaxPooling2D", "GlobalAveragePooling2D",
    "max_pool2d", "max_pool", "avg_pool2d",
}
FIT_CALLBACKS_POSITION = 5  # fit(x, y, batch_size, epochs, verbose, callbacks, ...)
FIT_EPOCHS_POSITION = 3


@dataclass(frozen=True)
class Located:
    node: ast.AST
    cell: int


def finding(check: str, certain: bool, key: str, cell: int, line: int, **values: str) -> Finding:
    return Finding(check=check, certain=certain, key=key, cell=cell, line=line, values=values)


def localise(found: Finding, lang: str) -> Finding:
    """The finding with its message in `lang`, located."""
    where = t(lang, "precheck.where", cell=found.cell, line=found.line)
    text = t(lang, f"precheck.{found.key}", **found.values)
    return Finding(found.check, found.certain, found.key, found.cell, found.line, found.values, f"{text} ({where})")


def parse_cells(sources: list[str]) -> tuple[list[tuple[int, ast.Module]], list[Finding]]:
    """Each code cell as an AST (IPython magics turned into Python first); syntax errors as findings."""
    from IPython.core.inputtransformer2 import TransformerManager

    transformer = TransformerManager()
    trees, findings = [], []
    for number, source in enumerate(sources, start=1):
        body = source.lstrip("\n")
        offset = len(source) - len(body)  # IPython drops leading blank lines; keep the student's numbering
        try:
            tree = ast.parse(transformer.transform_cell(body))
        except SyntaxError as exc:
            findings.append(finding("execution", True, "syntax_error", number, (exc.lineno or 1) + offset, error=str(exc.msg)))
            continue
        except Exception:  # noqa: BLE001 - the transformer's own failures: let execution decide
            continue
        trees.append((number, ast.increment_lineno(tree, offset)))
    return trees, findings


def precheck(sources: list[str], assignment: Assignment) -> list[Finding]:
    """Findings for the code cells' sources, in cell and line order."""
    trees, findings = parse_cells(sources)
    nodes = [Located(node, cell) for cell, tree in trees for node in ast.walk(tree)]
    constants = module_constants(trees)
    findings += epoch_findings(nodes, constants, assignment)
    findings += layer_findings(nodes, assignment)
    findings += message_findings(nodes, assignment)
    findings += import_findings(trees, assignment)
    enabled = {*assignment.points, "execution"}  # a rule the assignment does not have is never broken
    return sorted((f for f in findings if f.check in enabled), key=lambda f: (f.cell, f.line))


def module_constants(trees: list[tuple[int, ast.Module]]) -> dict[str, object]:
    """Top-level names assigned exactly once, to a literal."""
    seen: dict[str, list[object]] = {}
    for _, tree in trees:
        for node in ast.walk(tree):
            if isinstance(node, ast.Assign):
                for target in node.targets:
                    if isinstance(target, ast.Name):
                        seen.setdefault(target.id, []).append(_literal(node.value))
            elif isinstance(node, (ast.AugAssign, ast.AnnAssign)) and isinstance(node.target, ast.Name):
                seen.setdefault(node.target.id, []).extend([None, None])
    return {name: values[0] for name, values in seen.items() if len(values) == 1 and values[0] is not None}


def _literal(node: ast.AST) -> object:
    try:
        return ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return None


def fit_calls(nodes: list[Located]) -> Iterator[tuple[Located, ast.Call]]:
    for item in nodes:
        node = item.node
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "fit":
            yield item, node


def epoch_findings(nodes: list[Located], constants: dict[str, object], assignment: Assignment) -> list[Finding]:
    limit = assignment.training.max_epochs
    findings = []
    for item, call in fit_calls(nodes):
        expr = next((k.value for k in call.keywords if k.arg == "epochs"), None)
        if expr is None and len(call.args) > FIT_EPOCHS_POSITION:
            expr = call.args[FIT_EPOCHS_POSITION]
        value = _literal(expr) if expr is not None else None
        if isinstance(expr, ast.Name):
            value = constants.get(expr.id)
        if isinstance(value, int) and not isinstance(value, bool) and value > limit:
            findings.append(finding("epoch_limit", True, "epochs_over", item.cell, call.lineno, epochs=str(value), limit=str(limit)))
    return findings


def _called_name(call: ast.Call) -> str | None:
    func = call.func
    return func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else None


def layer_findings(nodes: list[Located], assignment: Assignment) -> list[Finding]:
    limits = assignment.limits
    findings: list[Finding] = []
    for kind, names, limit in (("conv", CONV_NAMES, limits.max_conv), ("pool", POOL_NAMES, limits.max_pool)):
        if limit is None:
            continue
        for item in nodes:
            node = item.node
            if isinstance(node, ast.Call) and _called_name(node) == "Sequential" and node.args and isinstance(node.args[0], (ast.List, ast.Tuple)):
                count = sum(1 for el in node.args[0].elts if isinstance(el, ast.Call) and _called_name(el) in names)
                if count > limit:
                    findings.append(finding("layer_limit", True, f"too_many_{kind}", item.cell, node.lineno, count=str(count), limit=str(limit)))
        if not any(f.key == f"too_many_{kind}" for f in findings):
            calls = sorted(
                ((i, i.node) for i in nodes if isinstance(i.node, ast.Call) and _called_name(i.node) in names),
                key=lambda c: (c[0].cell, c[1].lineno),
            )
            if len(calls) > limit:
                first = calls[limit]
                findings.append(finding("layer_limit", False, f"maybe_too_many_{kind}", first[0].cell, first[1].lineno,
                                        count=str(len(calls)), limit=str(limit)))
    return findings


def message_findings(nodes: list[Located], assignment: Assignment) -> list[Finding]:
    findings: list[Finding] = []
    fits = list(fit_calls(nodes))
    if fits and not any(_passes_callbacks(call) for _, call in fits):
        item, call = fits[0]
        findings.append(finding("stop_message", True, "no_callbacks", item.cell, call.lineno))
    expected = {normalise_message(m) for m in assignment.training.stop_messages}
    prints = [
        (item.cell, call)
        for item in nodes
        if isinstance(item.node, ast.ClassDef) and any("Callback" in ast.unparse(b) for b in item.node.bases)
        for call in ast.walk(item.node)
        if isinstance(call, ast.Call) and _called_name(call) == "print"
    ]
    texts = [_print_text(call) for _, call in prints]
    if prints and all(t is not None for t in texts) and not any(_matches(t, expected) for t in texts if t is not None):
        shown = next((t.strip() for t in texts if t and t.strip()), "")
        cell, call = prints[0]
        findings.append(finding("stop_message", True, "wrong_message", cell, call.lineno, printed=shown[:120]))
    return findings


def import_findings(trees: list[tuple[int, ast.Module]], assignment: Assignment) -> list[Finding]:
    """Literal imports of a module the exercise does not provide (`grader.inside.environment`): at
    a cell's top level certain to fail, elsewhere (a function, a `try`) only suspected."""
    findings: list[Finding] = []
    packages = ", ".join(assignment.packages)
    for cell, tree in trees:
        top = {id(node) for node in tree.body}
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
                names = [node.module]
            else:
                continue
            module = next((n for n in names if not provided(n, assignment.packages)), None)
            if module is not None:
                certain = id(node) in top
                key = "module_not_provided" if certain else "maybe_module_not_provided"
                findings.append(finding("execution", certain, key, cell, node.lineno, module=module, packages=packages))
    return findings


def _passes_callbacks(call: ast.Call) -> bool:
    keywords = {k.arg for k in call.keywords}
    return "callbacks" in keywords or None in keywords or len(call.args) > FIT_CALLBACKS_POSITION or any(isinstance(a, ast.Starred) for a in call.args)


def _print_text(call: ast.Call) -> str | None:
    """The text a print call with only literal string arguments prints; None when not literal."""
    if call.keywords and any(k.arg not in ("end", "flush") for k in call.keywords):
        return None
    parts = [_literal(a) for a in call.args]
    return " ".join(parts) if all(isinstance(p, str) for p in parts) else None  # type: ignore[arg-type]


def _matches(text: str, expected: set[str]) -> bool:
    return any(normalise_message(line) in expected for line in text.splitlines())
