"""The layers of a trained Keras model, flattened through nested models, as the grader counts them."""

from __future__ import annotations

from typing import Any

CONV_BASES = ("BaseConv", "BaseDepthwiseConv", "BaseSeparableConv", "BaseConvTranspose")
POOL_BASES = ("BasePooling", "BaseGlobalPooling")
DENSE_BASES = ("Dense",)  # keras.layers.Dense and its subclasses (not EinsumDense)


def layer_kind(layer: Any) -> str:
    names = {c.__name__ for c in type(layer).__mro__ if c.__module__.startswith("keras.")}
    if names & set(CONV_BASES):
        return "conv"
    if names & set(POOL_BASES):
        return "pool"
    if names & set(DENSE_BASES):
        return "dense"
    return "other"


def describe_layers(model: Any, depth: int = 0) -> list[dict[str, Any]]:
    """One row per layer; a nested model gets its own row, then its layers one level deeper."""
    rows: list[dict[str, Any]] = []
    for layer in _children(model):
        rows.append(
            {
                "name": str(layer.name),
                "class_name": type(layer).__name__,
                "output_shape": _output_shape(layer),
                "params": _params(layer),
                "kind": layer_kind(layer),
                "depth": depth,
            }
        )
        if _children(layer):
            rows.extend(describe_layers(layer, depth + 1))
    return rows


def _children(layer: Any) -> list[Any]:
    try:
        children = layer._flatten_layers(include_self=False, recursive=False)
        return [c for c in children if hasattr(c, "name") and c.__class__.__name__ != "InputLayer"]
    except Exception:  # noqa: BLE001
        return []


def _output_shape(layer: Any) -> str:
    try:
        return str(tuple(layer.output.shape))
    except Exception:  # noqa: BLE001 - subclassed models have no symbolic output
        return "?"


def _params(layer: Any) -> int:
    try:
        return int(layer.count_params())
    except Exception:  # noqa: BLE001 - an unbuilt layer
        return 0
