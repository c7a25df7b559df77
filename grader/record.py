"""Reading the kernel's record into a typed `Recording`, defensively: the file came from the sandbox.

Anything malformed raises `RecordError`, which grading turns into a failure of the submission
("the grader's record of training was damaged"), never into a pass.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from grader.models import EpochRecord, FitRecord, LayerInfo, Recording, WeightChange

MAX_RECORD_BYTES = 20 * 1024 * 1024
MAX_FITS, MAX_EPOCHS, MAX_LAYERS = 1000, 100_000, 5000


class RecordError(Exception):
    """The record is missing parts or has the wrong types."""


def read_recording(path: Path) -> Recording:
    if not path.is_file():
        return Recording()
    if path.stat().st_size > MAX_RECORD_BYTES:
        raise RecordError("the record is too large")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise RecordError(f"the record is not valid JSON: {exc}") from exc
    return parse_recording(data)


def parse_recording(data: Any) -> Recording:
    root = _dict(data, "record")
    fits = _list(root.get("fits", []), "fits", MAX_FITS)
    layers = _list(root.get("layers", []), "layers", MAX_LAYERS)
    if sum(len(_list(_dict(f, "fit").get("epochs", []), "epochs", MAX_EPOCHS)) for f in fits) > MAX_EPOCHS:
        raise RecordError("too many epochs")
    return Recording(
        fits=tuple(_fit(f) for f in fits),
        layers=tuple(_layer(layer) for layer in layers),
        model_class=_opt_str(root.get("model_class")),
        input_transform=_dict(root.get("input_transform", {}), "input_transform"),
        export_error=_opt_str(root.get("export_error")),
        versions={str(k): str(v)[:50] for k, v in _dict(root.get("versions", {}), "versions").items()},
        device=str(root.get("device", "CPU"))[:50],
        seed=_opt_int(root.get("seed")),
        stopped_by=_opt_str(root.get("stopped_by")),
        optimizer_steps=_opt_int(root.get("optimizer_steps")),
        train_on_batch=_opt_int(root.get("train_on_batch")) or 0,
        weight_changes=tuple(_weight_change(w) for w in _list(root.get("weight_changes", []), "weight_changes", MAX_FITS)),
    )


def _fit(raw: Any) -> FitRecord:
    fit = _dict(raw, "fit")
    return FitRecord(
        epochs_requested=_opt_int(fit.get("epochs_requested")) or 0,
        initial_epoch=_opt_int(fit.get("initial_epoch")) or 0,
        accuracy_metric=_opt_str(fit.get("accuracy_metric")),
        epochs=tuple(_epoch(e) for e in fit.get("epochs", [])),
        completed=fit.get("completed") is True,
        steps_per_epoch=_opt_int(fit.get("steps_per_epoch")),
    )


def _epoch(raw: Any) -> EpochRecord:
    epoch = _dict(raw, "epoch")
    metrics = {str(k)[:100]: _float(v, "metric") for k, v in _dict(epoch.get("metrics", {}), "metrics").items()}
    return EpochRecord(
        epoch=_opt_int(epoch.get("epoch")) or 0,
        metrics=metrics,
        accuracy=_opt_float(epoch.get("accuracy")),
        loss=_opt_float(epoch.get("loss")),
        stop_training=epoch.get("stop_training") is True,
        steps=_opt_int(epoch.get("steps")),
        printed=str(epoch.get("printed", ""))[:20_000],
        duration_s=_opt_float(epoch.get("duration_s")) or 0.0,
        terminal=str(epoch.get("terminal", ""))[:50_000],
    )


def _weight_change(raw: Any) -> WeightChange:
    change = _dict(raw, "weight change")
    return WeightChange(
        where="epoch" if change.get("where") == "epoch" else "export",
        fit=_opt_int(change.get("fit")) or 0,
        epoch=_opt_int(change.get("epoch")) or 0,
        variables=_opt_int(change.get("variables")) or 0,
    )


def _layer(raw: Any) -> LayerInfo:
    layer = _dict(raw, "layer")
    kind = layer.get("kind")
    return LayerInfo(
        name=str(layer.get("name", ""))[:200],
        class_name=str(layer.get("class_name", ""))[:200],
        output_shape=str(layer.get("output_shape", "?"))[:200],
        params=_opt_int(layer.get("params")) or 0,
        kind=kind if kind in ("conv", "pool", "dense", "other") else "other",
        depth=min(_opt_int(layer.get("depth")) or 0, 50),
    )


def _dict(value: Any, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise RecordError(f"{what} is not an object")
    return value


def _list(value: Any, what: str, limit: int) -> list[Any]:
    if not isinstance(value, list) or len(value) > limit:
        raise RecordError(f"{what} is not a list of at most {limit}")
    return value


def _float(value: Any, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise RecordError(f"{what} is not a finite number")
    return float(value)


def _opt_float(value: Any) -> float | None:
    return None if value is None else _float(value, "value")


def _opt_int(value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise RecordError("an integer field has another type")
    return value


def _opt_str(value: Any) -> str | None:
    return None if value is None else str(value)[:2000]
