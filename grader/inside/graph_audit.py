"""What the exported model's graph may contain, and how many convolutions and poolings it has.

Both read the SavedModel's protocol buffer, never the student's Python. `audit` runs in the
evaluation process *before* TensorFlow loads the model (loading can already run functions of the
graph: resource initialisers, restore functions): every function of the library and every node of
the top-level graph must be of an allowed op type (`grader.inside.graph_ops`), else the model is not run
and the answer names the ops. `count_layers` counts convolution-like and pooling ops in one call of
the serving function, following every function-valued attribute (calls, every branch of `If` and
`Case`, the condition and body of `While`, functions nested to any depth); an op it cannot classify
is reported, so that a layer-limited assignment fails closed.

Runs inside the evaluation sandbox: the standard library, NumPy and TensorFlow only.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from grader.inside.graph_ops import ALLOWED, CONV, LOOP, MAIN_GRAPH, POOL, REDUCE, RESIZE, SAVER

MAX_REPORTED = 20  # op names reported, at most
NOT_TF2 = "(not a TensorFlow 2 SavedModel)"
"""Reasons an op could not be classified (the part after the colon in `LayerCount.unclassified`):
`unknown` an op type the grader does not know; `loop` a convolution or pooling inside a loop, which
runs any number of times; `axes` a reduction whose axes are not constants; `shape` a resize whose
sizes are unknown; `recursion` a function that calls itself; `missing` a call of a function that is
not in the model."""
REASONS = ("unknown", "loop", "axes", "shape", "recursion", "missing")


@dataclass(frozen=True)
class LayerCount:
    """Convolutions and poolings in one call of the serving function."""

    conv: int = 0
    pool: int = 0
    unclassified: tuple[str, ...] = ()  # "Op:reason", sorted; reasons in `REASONS`


def read_saved_model(model_dir: str | Path) -> Any:
    """The SavedModel protocol buffer exactly as `tf.saved_model.load` will read it."""
    from tensorflow.python.saved_model import loader_impl

    return loader_impl.parse_saved_model(str(model_dir))


# -- the audit ------------------------------------------------------------------------------------


def audit(saved_model: Any) -> tuple[str, ...]:
    """The op types of `saved_model` that are not allowed, sorted; empty when it may be loaded."""
    if len(saved_model.meta_graphs) != 1 or not saved_model.meta_graphs[0].HasField("object_graph_def"):
        return (NOT_TF2,)  # would be loaded as a TensorFlow 1 model, running its init ops
    graph = saved_model.meta_graphs[0].graph_def
    library = {f.signature.name: f for f in graph.library.function}
    saver = saver_functions(saved_model.meta_graphs[0], library)
    refused: set[str] = set()
    for node in graph.node:
        _check(node, ALLOWED | MAIN_GRAPH, library, refused)
    for name, function in library.items():
        allowed = ALLOWED | SAVER if name in saver else ALLOWED
        for node in function.node_def:
            _check(node, allowed, library, refused)
    return tuple(sorted(refused)[:MAX_REPORTED])


def _check(node: Any, allowed: frozenset[str], library: Mapping[str, Any], refused: set[str]) -> None:
    if node.op not in allowed and node.op not in library:
        refused.add(node.op)
    for name in called_functions(node):
        if name not in library:
            refused.add(f"{node.op} → {name}")


def saver_functions(meta_graph: Any, library: Mapping[str, Any]) -> set[str]:
    """The functions that only the exporter's save and restore nodes (named by `saver_def`) call:
    the only place where checkpoint and string ops are allowed."""
    saver_nodes = {meta_graph.saver_def.save_tensor_name.split(":")[0], meta_graph.saver_def.restore_op_name.split(":")[0]} - {""}
    saver_roots = [f for n in meta_graph.graph_def.node if n.name in saver_nodes for f in called_functions(n)]
    saving = _closure(saver_roots, library)
    other_roots = [f for n in meta_graph.graph_def.node if n.name not in saver_nodes for f in called_functions(n)]
    other_roots += list(meta_graph.object_graph_def.concrete_functions) + [name for name in library if name not in saving]
    return saving - _closure(other_roots, library)


def _closure(roots: Iterable[str], library: Mapping[str, Any]) -> set[str]:
    seen: set[str] = set()
    stack = [r for r in roots if r in library]
    while stack:
        name = stack.pop()
        if name in seen:
            continue
        seen.add(name)
        for node in library[name].node_def:
            stack += [f for f in [*called_functions(node), node.op] if f in library and f not in seen]
    return seen


def called_functions(node: Any) -> list[str]:
    """Every function a node names in its attributes (`f`, `then_branch`, `else_branch`,
    `branches`, `cond`, `body`, or any other)."""
    names = []
    for value in node.attr.values():
        kind = value.WhichOneof("value")
        if kind == "func":
            names.append(value.func.name)
        elif kind == "list":
            names += [f.name for f in value.list.func]
    return names


# -- the layer count ------------------------------------------------------------------------------


@dataclass
class _Tally:
    conv: int = 0
    pool: int = 0
    unclassified: set[str] = field(default_factory=set)
    kinds: set[str] = field(default_factory=set)  # conv and pool op types seen

    def add(self, other: _Tally) -> None:
        self.conv += other.conv
        self.pool += other.pool
        self.unclassified |= other.unclassified
        self.kinds |= other.kinds


def count_serving(saved_model: Any, signature: str = "serving_default") -> LayerCount:
    """`count_layers` of the function that `tf.saved_model.load(...).signatures[signature]` runs:
    the one the object graph names (not the meta graph's `signature_def`, which the TensorFlow 2
    loader does not use); a model where it cannot be found is counted as unclassifiable."""
    meta_graph = saved_model.meta_graphs[0]
    library = {f.signature.name: f for f in meta_graph.graph_def.library.function}
    entry = serving_function(meta_graph.object_graph_def, signature)
    if entry is None:
        return LayerCount(unclassified=(f"{signature}:missing",))
    tally = _Counter(library).function(entry, signature)
    return LayerCount(tally.conv, tally.pool, tuple(sorted(tally.unclassified)[:MAX_REPORTED]))


def serving_function(object_graph: Any, signature: str) -> str | None:
    """The library name of the concrete function of the root object's `signatures[signature]`."""
    nodes = object_graph.nodes

    def child(index: int, name: str) -> int | None:
        found = [c.node_id for c in nodes[index].children if c.local_name == name] if 0 <= index < len(nodes) else []
        return found[0] if len(found) == 1 else None

    signatures = child(0, "signatures") if nodes else None
    index = child(signatures, signature) if signatures is not None else None
    if index is None or not 0 <= index < len(nodes) or nodes[index].WhichOneof("kind") != "bare_concrete_function":
        return None
    return nodes[index].bare_concrete_function.concrete_function_name or None


def count_layers(library: Mapping[str, Any], nodes: Iterable[Any]) -> LayerCount:
    """Convolutions and poolings in `nodes` (the serving function's graph) and every function they
    call, each call counted; functions are looked up in `library` (name → FunctionDef)."""
    counter = _Counter(library)
    tally = counter.nodes(list(nodes), None)
    return LayerCount(tally.conv, tally.pool, tuple(sorted(tally.unclassified)[:MAX_REPORTED]))


class _Counter:
    def __init__(self, library: Mapping[str, Any]) -> None:
        self.library = library
        self.memo: dict[str, _Tally] = {}
        self.active: set[str] = set()

    def function(self, name: str, caller: str) -> _Tally:
        if name in self.memo:
            return self.memo[name]
        if name not in self.library:
            return _Tally(unclassified={f"{caller}:missing"})
        if name in self.active:
            return _Tally(unclassified={f"{caller}:recursion"})
        self.active.add(name)
        tally = self.nodes(list(self.library[name].node_def), self.library[name])
        self.active.discard(name)
        self.memo[name] = tally
        return tally

    def nodes(self, nodes: list[Any], function: Any) -> _Tally:
        by_name = {n.name: n for n in nodes}
        tally = _Tally()
        for node in nodes:
            inner = _Tally()
            for name in [*called_functions(node), *([node.op] if node.op in self.library else [])]:
                inner.add(self.function(name, node.op))
            if node.op in LOOP:
                inner.unclassified |= {f"{kind}:loop" for kind in inner.kinds}
            tally.add(inner)
            if node.op not in self.library:
                self.classify(node, function, by_name, tally)
        return tally

    def classify(self, node: Any, function: Any, by_name: dict[str, Any], tally: _Tally) -> None:
        op = node.op
        if op in CONV:
            if not _pointwise_after_depthwise(node, function, by_name):
                tally.conv += 1
            tally.kinds.add(op)
        elif op in POOL:
            tally.pool += 1
            tally.kinds.add(op)
        elif op in REDUCE or op in RESIZE:
            verdict = (_reduction if op in REDUCE else _resize)(node, function, by_name)
            if verdict == "pool":
                tally.pool += 1
                tally.kinds.add(op)
            elif verdict != "neutral":
                tally.unclassified.add(f"{op}:{verdict}")
        elif op not in ALLOWED:
            tally.unclassified.add(f"{op}:unknown")


def _pointwise_after_depthwise(node: Any, function: Any, by_name: dict[str, Any]) -> bool:
    """A 1x1 `Conv2D` applied directly to a depthwise convolution's output: the second half of one
    separable convolution, which counts once."""
    if node.op != "Conv2D" or len(node.input) < 2:
        return False
    source = by_name.get(node.input[0].split(":")[0])
    kernel = shape_of(node.input[1], function, by_name)
    return source is not None and source.op == "DepthwiseConv2dNative" and kernel is not None and kernel[:2] == [1, 1]


def _reduction(node: Any, function: Any, by_name: dict[str, Any]) -> str:
    """`pool` when a spatial axis (neither the batch nor the last, feature, axis) is reduced per
    image, `neutral` over the feature axis only or across the batch (every axis, as
    `tf.reduce_max(x)` does: that mixes images, it pools none), `axes` when the axes are unknown."""
    if len(node.input) < 2:
        return "axes"
    if _all_axes(node.input[1], by_name):
        return "neutral"
    axes = constant_of(node.input[1], by_name)
    if axes is None:
        return "axes"
    shape = shape_of(node.input[0], function, by_name)
    rank = len(shape) if shape is not None else None
    if rank is None:
        return "neutral" if 0 in axes or all(a == -1 for a in axes) else "axes"
    axes = [a % rank for a in axes if -rank <= a < rank]
    return "pool" if 0 not in axes and set(axes) - {rank - 1} else "neutral"


def _all_axes(ref: str, by_name: dict[str, Any]) -> bool:
    """Axes computed as `range(0, rank)`: what a reduction without `axis` gets."""
    node = by_name.get(ref.lstrip("^").split(":")[0])
    return node is not None and node.op == "Range" and bool(node.input) and constant_of(node.input[0], by_name) == [0]


def _resize(node: Any, function: Any, by_name: dict[str, Any]) -> str:
    """`pool` when the image gets smaller, `neutral` when not, `shape` when a size is unknown."""
    before, after = shape_of(node.input[0], function, by_name), shape_of(f"{node.name}:0", function, by_name, own=node)
    if before is None or after is None or len(before) != 4 or len(after) != 4 or min(before[1:3] + after[1:3]) < 1:
        return "shape"
    return "pool" if after[1] * after[2] < before[1] * before[2] else "neutral"


def constant_of(ref: str, by_name: dict[str, Any], depth: int = 0) -> list[int] | None:
    """The integers of a `Const` input (through `Identity` ops), or None."""
    node = by_name.get(ref.lstrip("^").split(":")[0])
    if node is None or depth > 20:
        return None
    if node.op == "Identity" and node.input:
        return constant_of(node.input[0], by_name, depth + 1)
    if node.op != "Const":
        return None
    try:
        import numpy as np
        import tensorflow as tf

        value = np.asarray(tf.make_ndarray(node.attr["value"].tensor))
    except Exception:  # noqa: BLE001 - a malformed constant is not a constant
        return None
    return [int(v) for v in value.reshape(-1)] if value.dtype.kind in "iu" else None


def shape_of(ref: str, function: Any, by_name: dict[str, Any], own: Any = None) -> list[int] | None:
    """The static shape (-1: unknown dimension) of a tensor of a function, from the `_output_shapes`
    annotations TensorFlow's exporter writes; None where the rank is unknown."""
    if function is None:
        return None
    parts = ref.split(":")
    if len(parts) == 1:  # an argument of the function
        names = [a.name for a in function.signature.input_arg]
        if ref not in names:
            return None
        shapes = function.arg_attr[names.index(ref)].attr["_output_shapes"].list.shape
        return _dims(shapes[0]) if shapes else None
    node = own if own is not None else by_name.get(parts[0])
    if node is None:
        return None
    shapes = node.attr["_output_shapes"].list.shape
    index = _flat_index(node, parts[1], int(parts[2])) if len(parts) == 3 else int(parts[1])
    return _dims(shapes[index]) if index is not None and 0 <= index < len(shapes) else None


def _dims(shape: Any) -> list[int] | None:
    return None if shape.unknown_rank else [int(d.size) for d in shape.dim]


def _flat_index(node: Any, arg_name: str, index: int) -> int | None:
    """Position of output `arg_name:index` of `node` among all its outputs (the op's output
    arguments in order; list-valued ones take as many places as their length)."""
    try:
        from tensorflow.python.framework import op_def_registry

        op_def = op_def_registry.get(node.op)
    except Exception:  # noqa: BLE001
        return None
    if op_def is None:
        return None
    position = 0
    for arg in op_def.output_arg:
        if arg.name == arg_name:
            return position + index
        if arg.number_attr:
            position += int(node.attr[arg.number_attr].i)
        elif arg.type_list_attr:
            position += len(node.attr[arg.type_list_attr].list.type)
        else:
            position += 1
    return None
