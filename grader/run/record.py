"""Reading the kernel's record into a typed `Recording`, defensively: the file came from the sandbox.

Anything malformed (a link or special file, broken or deeply nested JSON, an integer of thousands
of digits, wrong types) raises `RecordError`, which grading turns into a failure of the submission
("the grader's record of training was damaged"), never into a pass or a crash. Every string is
cut to size and made safe to encode.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from grader.models import EpochRecord, FitRecord, LayerInfo, Recording, WeightChange
from grader.untrusted import HostileInput, load_json, read_regular_file, safe_text

MAX_RECORD_BYTES = 20 * 1024 * 1024
MAX_FITS, MAX_EPOCHS, MAX_LAYERS = 1000, 100_000, 5000
MAX_KEYS = 200  # metrics of one epoch, versions
MAX_DEPTH = 12  # the record nests six levels deep
MAX_DATA_FILES = 20  # paths the submission loaded the data set from (grader.inside.datafiles)


class RecordError(HostileInput):
    """The record is missing parts or has the wrong types; `key` names the message under `input.`
    in the catalogue, `values` fill it (field names, limits: never a sentence)."""

    def __init__(self, key: str = "record.structure", **values: Any) -> None:
        super().__init__(key, **values)


def read_recording(path: Path) -> Recording:
    """The record at `path` (none there: an empty recording); raises RecordError."""
    try:
        data = read_regular_file(path, MAX_RECORD_BYTES)
    except HostileInput as exc:
        if exc.key == "file.missing":
            return Recording()
        key = {"file.symlink": "record.not_regular", "file.not_regular": "record.not_regular", "file.too_large": "record.too_large"}.get(exc.key)
        raise RecordError(key) if key else RecordError(detail=exc) from exc
    try:
        return parse_recording(load_json(data.decode("utf-8"), MAX_DEPTH))
    except UnicodeDecodeError as exc:
        raise RecordError("record.invalid_json", detail=HostileInput("record.not_utf8", byte=exc.start)) from exc
    except RecordError:
        raise
    except HostileInput as exc:
        raise RecordError("record.invalid_json", detail=exc) from exc


def parse_recording(data: Any) -> Recording:
    """`data` (parsed JSON) as a Recording; raises RecordError."""
    root = _dict(data, "record")
    fits = _list(root.get("fits", []), "fits", MAX_FITS)
    layers = _list(root.get("layers", []), "layers", MAX_LAYERS)
    if sum(len(_list(_dict(f, "fit").get("epochs", []), "epochs", MAX_EPOCHS)) for f in fits) > MAX_EPOCHS:
        raise RecordError("record.too_many_epochs", limit=MAX_EPOCHS)
    return Recording(
        fits=tuple(_fit(f) for f in fits),
        layers=tuple(_layer(layer) for layer in layers),
        model_class=_opt_str(root.get("model_class")),
        input_transform=_transform(root.get("input_transform", {})),
        export_error=_opt_str(root.get("export_error")),
        versions={_str(k, 50): _str(v, 50) for k, v in _dict(root.get("versions", {}), "versions", MAX_KEYS).items()},
        device=_str(root.get("device", "CPU"), 50),
        seed=_opt_int(root.get("seed")),
        stopped_by=_opt_str(root.get("stopped_by")),
        optimizer_steps=_opt_int(root.get("optimizer_steps")),
        train_on_batch=_opt_int(root.get("train_on_batch")) or 0,
        weight_changes=tuple(_weight_change(w) for w in _list(root.get("weight_changes", []), "weight_changes", MAX_FITS)),
        data_files=tuple(_str(p, 300) for p in _list(root.get("data_files", []), "data_files", MAX_DATA_FILES)),
    )


def _transform(raw: Any) -> dict[str, Any]:
    """How `fit`'s inputs map to the raw images (grader.inside.inputs): only its known fields, each
    of its type; the evaluation feeds the test images through it."""
    transform = _dict(raw, "input_transform")
    kept: dict[str, Any] = {}
    for key in ("known", "exact"):
        if key in transform:
            kept[key] = transform[key] is True
    for key in ("scale", "offset"):
        if key in transform:
            kept[key] = _float(transform[key], f"input_transform.{key}")
    if "shape" in transform:
        shape = _list(transform["shape"], "input_transform.shape", 8)
        kept["shape"] = [_int(d, "input_transform.shape") for d in shape]
    if "rows" in transform:
        kept["rows"] = _int(transform["rows"], "input_transform.rows")
    if "reason" in transform:
        kept["reason"] = _str(transform["reason"], 300)
    return kept


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
    metrics = {_str(k, 100): _float(v, "metric") for k, v in _dict(epoch.get("metrics", {}), "metrics", MAX_KEYS).items()}
    return EpochRecord(
        epoch=_opt_int(epoch.get("epoch")) or 0,
        metrics=metrics,
        accuracy=_opt_float(epoch.get("accuracy")),
        loss=_opt_float(epoch.get("loss")),
        stop_training=epoch.get("stop_training") is True,
        steps=_opt_int(epoch.get("steps")),
        printed=_str(epoch.get("printed", ""), 20_000),
        duration_s=_opt_float(epoch.get("duration_s")) or 0.0,
        terminal=_str(epoch.get("terminal", ""), 50_000),
    )


def _weight_change(raw: Any) -> WeightChange:
    change = _dict(raw, "weight_changes")
    return WeightChange(
        where="epoch" if change.get("where") == "epoch" else "export",
        fit=_opt_int(change.get("fit")) or 0,
        epoch=_opt_int(change.get("epoch")) or 0,
        variables=_opt_int(change.get("variables")) or 0,
        given=_opt_int(change.get("given")) or 0,
        unseen=_opt_int(change.get("unseen")) or 0,
        example=_str(change.get("example", ""), 200),
    )


def _layer(raw: Any) -> LayerInfo:
    layer = _dict(raw, "layer")
    kind = layer.get("kind")
    return LayerInfo(
        name=_str(layer.get("name", ""), 200),
        class_name=_str(layer.get("class_name", ""), 200),
        output_shape=_str(layer.get("output_shape", "?"), 200),
        params=_opt_int(layer.get("params")) or 0,
        kind=kind if kind in ("conv", "pool", "dense", "other") else "other",
        depth=min(_opt_int(layer.get("depth")) or 0, 50),
    )


def _dict(value: Any, what: str, limit: int | None = None) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise RecordError("record.not_object", what=what)
    if limit is not None and len(value) > limit:
        raise RecordError("record.too_many_entries", what=what, limit=limit)
    return value


def _list(value: Any, what: str, limit: int) -> list[Any]:
    if not isinstance(value, list) or len(value) > limit:
        raise RecordError("record.not_list", what=what, limit=limit)
    return value


def _float(value: Any, what: str | None) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise RecordError("record.not_finite", what=what) if what else RecordError("record.field_not_finite")
    return float(value)


def _opt_float(value: Any) -> float | None:
    return None if value is None else _float(value, None)


def _opt_int(value: Any) -> int | None:
    return None if value is None else _int(value, None)


def _int(value: Any, what: str | None) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise RecordError("record.not_integer", what=what) if what else RecordError("record.field_not_integer")
    return value


def _opt_str(value: Any) -> str | None:
    return None if value is None else _str(value, 2000)


def _str(value: Any, limit: int) -> str:
    """`value` as text of at most `limit` characters, safe to encode (only scalars become text:
    the str() of a list or an object of the record would be as large as the record)."""
    if value is None:
        return ""
    if not isinstance(value, (str, int, float, bool)):
        raise RecordError("record.not_text")
    text = value if isinstance(value, str) else repr(value) if isinstance(value, float) else str(value)
    return safe_text(text[:limit])
