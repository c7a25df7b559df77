"""The grader's instrumentation, installed in the grading kernel before any student code runs.

It records what really happened, not what the student's objects claim: every `fit` call (its
`epochs` and `initial_epoch`, each epoch's metrics as Keras computed them, copied before any student
callback could touch the logs, whether `stop_training` was set), and what was printed in each epoch.
After the student's cells it exports the trained model as a SavedModel for the evaluation process.

The record crosses the kernel boundary as JSON, rewritten after every epoch so that a kernel that
dies mid-training still leaves what it did. It is untrusted on the other side all the same.
"""

from __future__ import annotations

import inspect
import json
import math
import os
import threading
import time
from collections.abc import Callable
from typing import Any

from grader.inside.inputs import infer_input_transform
from grader.inside.provenance import Patch, Provenance, optimizer_steps
from grader.inside.terminal import Screen

MAX_PRINTED_CHARS = 4000
ACCURACY_CLASSES = ("SparseCategoricalAccuracy", "CategoricalAccuracy", "Accuracy", "BinaryAccuracy")


class GraderStop(BaseException):
    """Raised inside `fit` to stop the run early: a rule is already broken, training on is waste."""


class _Epoch:
    def __init__(self, index: int) -> None:
        self.index, self.started = index, time.perf_counter()
        self.printed: list[str] = []
        self.printed_chars = 0
        self.screen = Screen(max_lines=60)
        self.record: dict[str, Any] = {"epoch": index}


class Recorder:
    """Holds the record of one kernel session and the hooks that fill it."""

    def __init__(self, record_path: str, model_dir: str, mnist_path: str, limits: dict[str, int | None] | None = None) -> None:
        self.record_path, self.model_dir, self.mnist_path = record_path, model_dir, mnist_path
        self.limits = limits or {}  # empty: never stop early
        self.fits: list[dict[str, Any]] = []
        self.model: Any = None
        self.raw_x_train: Any = None
        self.epoch: _Epoch | None = None
        self.capturing = False
        self.local = threading.local()
        self.extra: dict[str, Any] = {"train_on_batch": 0, "weight_changes": []}
        self.provenance = Provenance()
        self.window_steps: int | None = None  # the fitted model's optimizer steps where this epoch's batches began

    # -- hooks --------------------------------------------------------------------------------
    def install(self, patch: Patch = setattr) -> None:
        """Wrap `fit` and `train_on_batch` where Keras defines them (so that `super().fit` and
        the trainer class's own attribute lead to the wrappers too) and follow optimizers and
        variables. The wrappers keep the originals in their closures, which student code can
        reach: what makes training outside the record visible is `provenance`, not hiding."""
        import keras

        for name, wrap in (("fit", self.wrap_fit), ("train_on_batch", self.wrap_train_on_batch)):
            owner = next(c for c in keras.Model.__mro__ if name in vars(c))
            patch(owner, name, wrap(vars(owner)[name]))
        self.provenance.install(patch)

    # -- output -------------------------------------------------------------------------------
    def on_write(self, text: str) -> None:
        epoch = self.epoch
        if epoch is None or not isinstance(text, str):
            return
        epoch.screen.write(text)
        if self.capturing and not getattr(self.local, "in_progbar", False) and epoch.printed_chars < MAX_PRINTED_CHARS:
            epoch.printed.append(text[: MAX_PRINTED_CHARS - epoch.printed_chars])
            epoch.printed_chars += len(epoch.printed[-1])

    # -- epochs -------------------------------------------------------------------------------
    def begin_epoch(self, index: int) -> None:
        self.end_terminal()
        limit = self.limits.get("max_epochs")
        if limit is not None and sum(len(f["epochs"]) for f in self.fits) >= limit:
            self.stop("epoch_limit", f"epoch {limit + 1} was about to start; the limit is {limit}")
        self.epoch = _Epoch(index)
        self.capturing = True

    def metrics_seen(self, logs: dict[str, Any] | None, accuracy_key: str | None) -> None:
        if self.epoch is None:
            return
        metrics = {str(k): _number(v) for k, v in dict(logs or {}).items()}
        metrics = {k: v for k, v in metrics.items() if v is not None}
        self.epoch.record.update(
            metrics=metrics,
            accuracy=metrics.get(accuracy_key) if accuracy_key else None,
            loss=metrics.get("loss"),
        )

    def end_epoch(self, stop_training: bool) -> None:
        epoch = self.epoch
        if epoch is None or not self.fits:
            return
        self.capturing = False
        epoch.record.update(
            stop_training=bool(stop_training),
            printed="".join(epoch.printed),
            duration_s=round(time.perf_counter() - epoch.started, 3),
            terminal=epoch.screen.text(),
        )
        epoch.record.setdefault("metrics", {})
        self.fits[-1]["epochs"].append(epoch.record)
        self.save()

    def end_terminal(self) -> None:
        """Text written after an epoch's callbacks (the progress bar's last line) belongs to it."""
        if self.epoch is not None and "terminal" in self.epoch.record:
            self.epoch.record["terminal"] = self.epoch.screen.text()
            self.save()
        self.epoch = None

    # -- fit ----------------------------------------------------------------------------------
    def wrap_fit(self, original: Callable[..., Any]) -> Callable[..., Any]:
        signature = inspect.signature(original)
        recorder = self

        def fit(model: Any, *args: Any, **kwargs: Any) -> Any:
            try:
                bound = signature.bind(model, *args, **kwargs)
            except TypeError:
                return original(model, *args, **kwargs)
            arguments = bound.arguments
            epochs = arguments.get("epochs", signature.parameters["epochs"].default)
            initial = arguments.get("initial_epoch", signature.parameters["initial_epoch"].default)
            fit_record: dict[str, Any] = {
                "epochs_requested": _int(epochs),
                "initial_epoch": _int(initial),
                "accuracy_metric": None,
                "epochs": [],
                "completed": False,
            }
            recorder.fits.append(fit_record)
            recorder.model = model
            if "input_transform" not in recorder.extra:
                recorder.extra["input_transform"] = infer_input_transform(arguments.get("x"), recorder.raw_x_train)
            callbacks = arguments.get("callbacks")
            first, last = recorder.callbacks(fit_record)
            if callbacks is None:
                arguments["callbacks"] = [first, last]
            elif isinstance(callbacks, (list, tuple)):
                arguments["callbacks"] = [first, *callbacks, last]
            else:  # a single callback object: Keras accepts it too
                arguments["callbacks"] = [first, callbacks, last]
            recorder.save()
            recorder.stop_if_broken(model, fit_record)
            try:
                result = original(*bound.args, **bound.kwargs)
            finally:
                recorder.end_terminal()
                recorder.save()
            fit_record["completed"] = True
            recorder.save()
            return result

        fit.__doc__ = original.__doc__  # no __wrapped__: nothing points at the original on purpose
        return fit

    def wrap_train_on_batch(self, original: Callable[..., Any]) -> Callable[..., Any]:
        extra = self.extra

        def train_on_batch(model: Any, *args: Any, **kwargs: Any) -> Any:
            extra["train_on_batch"] += 1
            return original(model, *args, **kwargs)

        train_on_batch.__doc__ = original.__doc__
        return train_on_batch

    def callbacks(self, fit_record: dict[str, Any]) -> tuple[Any, Any]:
        import keras

        recorder = self

        class GraderFirst(keras.callbacks.Callback):
            def on_train_begin(self, logs: Any = None) -> None:
                steps = (self.params or {}).get("steps")
                fit_record["steps_per_epoch"] = steps if isinstance(steps, int) else None

            def on_epoch_begin(self, epoch: int, logs: Any = None) -> None:
                recorder.begin_epoch(int(epoch))

            def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
                recorder.close_window(self.model)  # before any student callback can train more
                if fit_record["accuracy_metric"] is None:
                    fit_record["accuracy_metric"] = accuracy_key(self.model, logs or {})
                recorder.metrics_seen(logs, fit_record["accuracy_metric"])

        class GraderLast(keras.callbacks.Callback):
            def on_epoch_begin(self, epoch: int, logs: Any = None) -> None:
                recorder.open_window(self.model, fit_record)  # after every student callback

            def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
                recorder.end_epoch(bool(getattr(self.model, "stop_training", False)))

        return GraderFirst(), GraderLast()

    # -- the epoch's batches: the only window where training is recorded -----------------------
    def open_window(self, model: Any, fit_record: dict[str, Any]) -> None:
        """Where an epoch's batches begin: the weights must be what recorded training left."""
        found = self.provenance.unexplained(model)
        if found.total:
            fit = next((i for i, f in enumerate(self.fits, 1) if f is fit_record), len(self.fits))
            self.extra["weight_changes"].append({"where": "epoch", "fit": fit, "epoch": len(fit_record["epochs"]) + 1, **found.as_record()})
        self.window_steps = optimizer_steps(getattr(model, "optimizer", None))

    def close_window(self, model: Any) -> None:
        """Where an epoch's batches end: count its optimizer steps, remember the weights it left."""
        steps = optimizer_steps(getattr(model, "optimizer", None))
        if self.epoch is not None and steps is not None and self.window_steps is not None:
            self.epoch.record["steps"] = steps - self.window_steps
        self.window_steps = None
        self.provenance.epoch_ended(model)

    # -- early stop ---------------------------------------------------------------------------
    def stop_if_broken(self, model: Any, fit_record: dict[str, Any]) -> None:
        """Before training: an `epochs` argument or a layer count that already breaks a rule."""
        limit, requested = self.limits.get("max_epochs"), fit_record["epochs_requested"]
        if limit is not None and requested is not None and requested > limit:
            self.stop("epoch_limit", f"fit was called with epochs={requested}; the limit is {limit}")
        from grader.inside.census import describe_layers

        try:
            rows = describe_layers(model)
        except Exception:  # noqa: BLE001 - counting is the evaluation's job; this is only a shortcut
            return
        kinds = [row["kind"] for row in rows]
        for kind, key in (("conv", "max_conv"), ("pool", "max_pool")):
            allowed = self.limits.get(key)
            if allowed is not None and kinds.count(kind) > allowed:
                # the layers as counted go in the record: layer_limit is judged on them, in the report's language
                self.extra["layers"], self.extra["model_class"] = rows, type(model).__name__
                self.stop("layer_limit", f"the model has {kinds.count(kind)} {kind} layers; at most {allowed} allowed")

    def stop(self, check: str, reason: str) -> None:
        self.extra["stopped_by"] = check
        self.capturing = False
        self.save()
        raise GraderStop(reason)

    # -- the end ------------------------------------------------------------------------------
    def finish(self) -> None:
        """Export the last trained model and describe its layers; errors are recorded, not raised."""
        self.end_terminal()
        if self.model is not None:
            from grader.inside.census import describe_layers

            try:
                self.extra["layers"], self.extra["model_class"] = describe_layers(self.model), type(self.model).__name__
            except Exception as exc:  # noqa: BLE001 - a broken model is data
                self.extra["layers_error"] = f"{type(exc).__name__}: {exc}"[:500]
            found = self.provenance.unexplained(self.model)
            if found.total:
                self.extra["weight_changes"].append({"where": "export", **found.as_record()})
            self.extra["optimizer_steps"] = self.provenance.total_steps()
            try:
                self.model.export(self.model_dir, format="tf_saved_model", verbose=False)
            except Exception as exc:  # noqa: BLE001
                self.extra["export_error"] = f"{type(exc).__name__}: {exc}"[:1000]
        self.save()

    def save(self) -> None:
        data = {"fits": self.fits, **self.extra}
        tmp = f"{self.record_path}.tmp"
        with open(tmp, "w", encoding="utf-8") as fh:
            json.dump(data, fh, default=str)
        os.replace(tmp, self.record_path)


def accuracy_key(model: Any, logs: dict[str, Any]) -> str | None:
    """The log key of a built-in accuracy metric of `model` (any name the student gave it)."""
    names: list[str] = []
    for metric in getattr(model, "metrics", []):
        for inner in [metric, *getattr(metric, "metrics", [])]:
            if any(c.__name__ in ACCURACY_CLASSES and c.__module__.startswith("keras.") for c in type(inner).__mro__):
                names.append(inner.name)
    return next((n for n in names if n in logs), None)


def _number(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None  # NaN and infinities are dropped


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None
