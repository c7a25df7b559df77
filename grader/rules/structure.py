"""The checks on the model's structure: the layer limit and the exact structure, on the layers the
kernel counted and the convolutions and poolings the evaluation found in the graph."""

from __future__ import annotations

from grader.models import Evaluation, Recording
from grader.rules.measured import Measured, Outcome


def dense_count(recording: Recording) -> int:
    """Dense layers, counted on the real model (nested models included)."""
    return sum(1 for layer in recording.layers if layer.kind == "dense")


def layer_counts(recording: Recording, evaluation: Evaluation) -> tuple[int, int]:
    """Convolutions and poolings: the larger of the Keras layer census and the graph's op count.

    A custom layer that calls `tf.nn.conv2d` shows in the graph, which `grader.inside.graph_audit` counts
    (a separable convolution's two ops once); the census comes from the kernel and can only add.
    """
    conv_layers = sum(1 for layer in recording.layers if layer.kind == "conv")
    pool_layers = sum(1 for layer in recording.layers if layer.kind == "pool")
    return max(conv_layers, evaluation.conv_ops), max(pool_layers, evaluation.pool_ops)


def unclassified_text(m: Measured) -> str | None:
    """What in the graph the layer count could not classify (an op the audit refused included), in
    words, or None: a layer-limited assignment fails on it."""
    found = [*(f"{op}:unknown" for op in m.evaluation.disallowed_ops), *m.evaluation.unclassified_ops]
    if not found:
        return None
    parts = []
    for item in dict.fromkeys(found):
        op, _, why = item.rpartition(":")
        parts.append(m.t(f"layer_limit.graph.why_{why}", op=op) if why in GRAPH_REASONS and op else m.t("layer_limit.graph.why_unknown", op=item))
    return m.t("layer_limit.graph.unclassified", ops="; ".join(parts))


GRAPH_REASONS = ("unknown", "loop", "axes", "shape", "recursion", "missing")  # grader.inside.graph_audit.REASONS


def check_layer_limit(m: Measured) -> Outcome:
    limits = m.assignment.limits
    unclassified = unclassified_text(m)
    if unclassified:
        return False, unclassified, "—", m.t("layer_limit.graph.hint")
    if not m.recording.layers and m.evaluation.error:
        return False, m.t("layer_limit.unknown"), "—", m.t("no_model_hint")
    conv, pool = layer_counts(m.recording, m.evaluation)
    dense = dense_count(m.recording)
    measured = m.t("layer_limit.measured", conv=conv, pool=pool)
    if limits.max_dense is not None:
        measured += m.t("layer_limit.measured_dense", dense=dense)
    problems = []
    if limits.max_conv is not None and conv > limits.max_conv:
        problems.append(m.t("layer_limit.too_many_conv", count=conv, limit=limits.max_conv))
    if limits.max_pool is not None and pool > limits.max_pool:
        problems.append(m.t("layer_limit.too_many_pool", count=pool, limit=limits.max_pool))
    if limits.max_dense is not None and dense > limits.max_dense:
        problems.append(m.t("layer_limit.too_many_dense", count=dense, limit=limits.max_dense))
    if problems:
        hint = m.t("layer_limit.hint", conv=limit_text(limits.max_conv), pool=limit_text(limits.max_pool))
        if limits.max_dense is not None:
            hint += " " + m.t("layer_limit.hint_dense", dense=limits.max_dense)
        return False, "; ".join(problems), measured, hint
    return True, m.t("layer_limit.pass", conv=conv, pool=pool), measured, ""


def limit_text(value: int | None) -> object:
    """A layer limit in words: the number, or ∞ where there is none."""
    return "∞" if value is None else value


def check_model_structure(m: Measured) -> Outcome:
    """The trained model's class name and its exact convolution, pooling and dense layer counts."""
    want = m.assignment.structure
    rec = m.recording
    if not rec.fits:
        return False, m.t("no_training"), "—", m.t("no_training_hint")
    if not rec.layers and rec.model_class is None:
        return False, m.t("model_structure.unknown"), "—", m.t("no_model_hint")
    unclassified = unclassified_text(m)
    if unclassified:
        return False, unclassified, "—", m.t("layer_limit.graph.hint")
    conv, pool = layer_counts(rec, m.evaluation)
    counts = {"conv": conv, "pool": pool, "dense": dense_count(rec)}
    measured = m.t("model_structure.measured", model_class=rec.model_class or "—", **counts)
    problems = []
    if want.model_class is not None and rec.model_class != want.model_class:
        problems.append(m.t("model_structure.wrong_class", expected=want.model_class, found=rec.model_class or "—"))
    for kind in ("conv", "pool", "dense"):
        expected = getattr(want, kind)
        if expected is not None and counts[kind] != expected:
            problems.append(m.t(f"model_structure.wrong_{kind}", expected=expected, count=counts[kind]))
    if problems:
        return False, "; ".join(problems), measured, m.t("model_structure.hint", required=structure_text(m))
    return True, m.t("model_structure.pass", required=structure_text(m)), measured, ""


def structure_text(m: Measured) -> str:
    """The required structure in words, e.g. "class LeNet5; 2 convolution(s), 2 pooling, 3 dense"."""
    want = m.assignment.structure
    parts = [m.t("model_structure.part_class", model_class=want.model_class)] if want.model_class else []
    parts += [m.t(f"model_structure.part_{kind}", count=getattr(want, kind)) for kind in ("conv", "pool", "dense") if getattr(want, kind) is not None]
    return m.t("model_structure.separator").join(parts) or "—"
