"""Realistic results of every kind of verdict, for the report tests (no conftest needed).

Each result is assembled by the real checks (`grader.pipeline.assemble`) from recordings shaped like
the kernel recorder's: 5-12 epochs of accuracy and loss, Keras 3 progress bars drawn with `\\r` and ANSI
colours and resolved as a terminal shows them, the callback's message in the stopping epoch, and the
layers of a real Keras model. `build(kind, lang)` gives `(result, assignment)`.
"""

from __future__ import annotations

import functools
import time
from dataclasses import replace
from pathlib import Path

from grader.assignment import Assignment, find_assignment
from grader.inside.terminal import render
from grader.models import (
    EpochRecord,
    Evaluation,
    ExecutionInfo,
    Figure,
    FigureCell,
    Finding,
    FitRecord,
    GradeResult,
    LayerInfo,
    Recording,
)
from grader.pipeline import assemble
from grader.rules.checks import execution_message

MESSAGE = "Reached 99% accuracy so cancelling training!"
CONV_MESSAGE = "Reached 99.8% accuracy so cancelling training!"
FASHION_MESSAGE = "Reached 60% accuracy so cancelling training!"
HOSTILE = "<script>alert('x')</script><img src=http://example.com/x.png onerror=alert(1)>"
VERSIONS = {"tensorflow": "2.21.0", "keras": "3.15.1", "python": "3.11.7"}
KINDS = (
    "pass", "conv_pass", "loss_pass", "cnn_pass", "skeleton_warn",
    "epoch_limit", "stop_message", "accuracy_threshold", "layer_limit", "model_structure", "test_accuracy",
    "timeout", "crash", "invalid", "not_run", "hostile", "figures",
)  # fmt: skip
FAILING_CHECKS = ("epoch_limit", "stop_message", "accuracy_threshold", "layer_limit", "model_structure", "test_accuracy")


def progress(epoch: int, epochs: int, accuracy: float, loss: float, steps: int = 1875, redraws: int = 40) -> str:
    """What Keras 3 writes for one epoch: a bar redrawn with \\r and ANSI colours, then the final state."""
    out = [f"Epoch {epoch}/{epochs}\n"]
    for i in range(1, redraws + 1):
        step = max(1, steps * i // redraws)
        done = 20 * step // steps
        bar = f"\x1b[32m{'━' * done}\x1b[0m\x1b[37m{'━' * (20 - done)}\x1b[0m"
        eta = max(0, 6 - 6 * i // redraws)
        out.append(f"\r{step:>{len(str(steps))}}/{steps} {bar} \x1b[1m{eta}s\x1b[0m 3ms/step - accuracy: {accuracy * i / redraws:.4f} - loss: {loss * 2:.4f}")
    out.append(f"\r{steps}/{steps} \x1b[32m{'━' * 20}\x1b[0m\x1b[37m\x1b[0m \x1b[1m6s\x1b[0m 3ms/step - accuracy: {accuracy:.4f} - loss: {loss:.4f}\n")
    return "".join(out)


def fit(
    requested: int, accuracies: tuple[float, ...], messages: dict[int, str] | None = None, stop_at: int | None = None,
    first: int = 1, completed: bool = True,
) -> FitRecord:  # fmt: skip
    """One `fit` call; `messages[n]` is printed in epoch n (1-based), and the callback stops at `stop_at`."""
    messages = messages or {}
    records = []
    for i, acc in enumerate(accuracies):
        n = first + i
        loss = round(max(0.004, (1 - acc) * 2.6), 4)
        printed = f"{messages[n]}\n" if n in messages else ""
        raw = progress(n, requested + first - 1, acc, loss) + printed
        records.append(EpochRecord(epoch=n - 1, metrics={"accuracy": acc, "loss": loss}, accuracy=acc, loss=loss,
                                   stop_training=n == stop_at, printed=printed, duration_s=round(5.8 + 0.3 * (i % 3), 2), terminal=render(raw)))  # fmt: skip
    return FitRecord(epochs_requested=requested, initial_epoch=first - 1, accuracy_metric="accuracy", epochs=tuple(records), completed=completed)


def layer(name: str, class_name: str, shape: str, params: int, kind: str = "other", depth: int = 0) -> LayerInfo:
    return LayerInfo(name=name, class_name=class_name, output_shape=shape, params=params, kind=kind, depth=depth)  # type: ignore[arg-type]


DENSE_MODEL = (
    layer("flatten", "Flatten", "(None, 784)", 0),
    layer("dense", "Dense", "(None, 512)", 401_920, "dense"),
    layer("dense_1", "Dense", "(None, 10)", 5_130, "dense"),
)
CONV_MODEL = (
    layer("conv2d", "Conv2D", "(None, 26, 26, 64)", 640, "conv"),
    layer("max_pooling2d", "MaxPooling2D", "(None, 13, 13, 64)", 0, "pool"),
    layer("flatten", "Flatten", "(None, 10816)", 0),
    layer("dense", "Dense", "(None, 128)", 1_384_576, "dense"),
    layer("dense_1", "Dense", "(None, 10)", 1_290, "dense"),
)
TWO_CONV_MODEL = (
    layer("conv2d", "Conv2D", "(None, 26, 26, 64)", 640, "conv"),
    layer("max_pooling2d", "MaxPooling2D", "(None, 13, 13, 64)", 0, "pool"),
    layer("conv2d_1", "Conv2D", "(None, 11, 11, 64)", 36_928, "conv"),
    layer("max_pooling2d_1", "MaxPooling2D", "(None, 5, 5, 64)", 0, "pool"),
    layer("flatten", "Flatten", "(None, 1600)", 0),
    layer("dense", "Dense", "(None, 128)", 204_928, "dense"),
    layer("dense_1", "Dense", "(None, 10)", 1_290, "dense"),
)
LENET_ONE_CONV = (
    layer("features", "Sequential", "?", 456, "other"),
    layer("conv2d", "Conv2D", "?", 456, "conv", depth=1),
    layer("average_pooling2d", "AveragePooling2D", "?", 0, "pool", depth=1),
    layer("flatten", "Flatten", "?", 0),
    layer("dense", "Dense", "?", 141_240, "dense"),
    layer("dense_1", "Dense", "?", 10_164, "dense"),
    layer("dense_2", "Dense", "?", 850, "dense"),
)
CALLBACK_ACCS = (0.9394, 0.9751, 0.9832, 0.9881, 0.9912)
CONV_ACCS = (0.9512, 0.9834, 0.9901, 0.9947, 0.9968, 0.9979, 0.9985)
CRASH_SOURCE = """import tensorflow as tf

model = tf.keras.models.Sequential([tf.keras.layers.Flatten(), tf.keras.layers.Dense(512, activation='relu'),
                                    tf.keras.layers.Dense(10, activation='softmax')])
model.compile(optimizer='adam', loss='sparse_categorical_crossentropy', metrics=['accuracy'])
history = model.fit(x_train, y_train, epochs=10, callbacks=[callbacks])
print(history.history['acc'][-1])
"""
CRASH_TRACEBACK = """---------------------------------------------------------------------------
KeyError                                  Traceback (most recent call last)
Cell In[4], line 7
      5 model.compile(optimizer='adam', loss='sparse_categorical_crossentropy', metrics=['accuracy'])
      6 history = model.fit(x_train, y_train, epochs=10, callbacks=[callbacks])
----> 7 print(history.history['acc'][-1])

KeyError: 'acc'"""


@functools.cache
def figure(kind: str) -> Figure:
    """A figure as matplotlib draws it in a student's notebook: the first digits, or the training curve."""
    import base64
    import io

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig = plt.figure(figsize=(6, 3) if kind == "digits" else (5, 3.5), dpi=72)
    if kind == "digits":
        for i in range(10):
            ax = fig.add_subplot(2, 5, i + 1)
            ax.imshow([[(x * y + i * 7) % 17 for x in range(28)] for y in range(28)], cmap="binary")
            ax.set_title(str(i))
            ax.axis("off")
    else:
        ax = fig.add_subplot()
        ax.plot(CALLBACK_ACCS, label="accuracy")
        ax.plot([1 - a for a in CALLBACK_ACCS], label="loss")
        ax.set_xlabel("epoch")
        ax.legend()
    out = io.BytesIO()
    fig.savefig(out, format="png")
    plt.close(fig)
    width, height = (int(v) for v in fig.get_size_inches() * fig.dpi)
    return Figure(png=base64.b64encode(out.getvalue()).decode("ascii"), width=width, height=height)


FIGURE_SOURCES = (
    "plt.figure(figsize=(6, 3))\nfor i in range(10):\n    plt.subplot(2, 5, i + 1)\n    plt.imshow(x_train[i], cmap=plt.cm.binary)\n"
    "    plt.title(str(y_train[i]))\n    plt.axis('off')\nplt.show()",
    "plt.plot(history.history['accuracy'], label='accuracy')\nplt.plot(history.history['loss'], label='loss')\nplt.xlabel('epoch')\nplt.legend()\nplt.show()",
)


def recording(*fits: FitRecord, layers: tuple[LayerInfo, ...] = DENSE_MODEL, model_class: str = "Sequential") -> Recording:
    return Recording(fits=fits, layers=layers, model_class=model_class, versions=dict(VERSIONS), device="CPU", seed=0)


def build(kind: str, lang: str) -> tuple[GradeResult, Assignment]:
    """(result, assignment) for one kind of verdict, in `lang`."""
    name = {"conv_pass": "mnist-conv", "layer_limit": "mnist-conv", "loss_pass": "fashion-callback", "cnn_pass": "mnist-cnn", "model_structure": "lenet5"}
    assignment = find_assignment(name.get(kind, "mnist-callback"))
    info = ExecutionInfo(status="ok", duration_s=41.2, timings={"kernel_start": 2.1, "student_cells": 38.9, "finish": 0.4, "evaluation": 3.2})
    rec = recording(fit(10, CALLBACK_ACCS, {5: MESSAGE}, stop_at=5))
    evaluation = Evaluation(heldout_accuracy=0.9791, heldout_images=10000, test_accuracy=0.9791, test_images=10000, duration_s=3.2)
    errors: list[str] = []
    findings: tuple[Finding, ...] = ()
    integrity: tuple[bool, str] = (True, "")
    submission = "student.ipynb"
    if kind == "conv_pass":
        rec = recording(fit(20, CONV_ACCS, {7: CONV_MESSAGE}, stop_at=7), layers=CONV_MODEL)
        evaluation = Evaluation(heldout_accuracy=0.9874, heldout_images=10000, test_accuracy=0.9874, test_images=10000, conv_ops=1, pool_ops=1, duration_s=4.0)
    elif kind == "loss_pass":
        accs = (0.8241, 0.8655, 0.8791)
        rec = recording(fit(5, accs, {3: FASHION_MESSAGE}, stop_at=3))
        rec = replace(rec, fits=tuple(replace(f, epochs=tuple(replace(e, loss=round(0.49 - 0.05 * e.epoch, 4)) for e in f.epochs)) for f in rec.fits))
        evaluation = Evaluation(heldout_accuracy=0.8652, heldout_images=10000, test_accuracy=0.8652, test_images=10000)
    elif kind == "cnn_pass":
        rec = recording(fit(5, (0.9562, 0.9861, 0.9902, 0.9931, 0.9950)), layers=CONV_MODEL)
        evaluation = Evaluation(heldout_accuracy=0.9912, heldout_images=10000, test_accuracy=0.9912, test_images=10000, conv_ops=1, pool_ops=1)
    elif kind == "skeleton_warn":
        integrity = (False, "cell 2 (the data loading cell) was changed")
    elif kind == "epoch_limit":  # fit(epochs=30): the callback stops only in epoch 12
        accs = (0.9101, 0.9403, 0.9566, 0.9655, 0.9718, 0.9764, 0.9801, 0.9830, 0.9856, 0.9877, 0.9893, 0.9907)
        rec = recording(fit(30, accs, {12: MESSAGE}, stop_at=12))
    elif kind == "stop_message":  # the wrong text, printed in the right epoch
        rec = recording(fit(10, CALLBACK_ACCS, {5: "Reached 99% accuracy, stopping"}, stop_at=5))
    elif kind == "accuracy_threshold":  # compares with 0.95 instead of 0.99: stops far too early
        rec = recording(fit(10, (0.9394, 0.9561), {2: MESSAGE}, stop_at=2))
    elif kind == "layer_limit":
        rec = recording(fit(20, CONV_ACCS, {7: CONV_MESSAGE}, stop_at=7), layers=TWO_CONV_MODEL)
        evaluation = Evaluation(heldout_accuracy=0.9901, heldout_images=10000, test_accuracy=0.9901, test_images=10000, conv_ops=2, pool_ops=2, duration_s=4.4)
    elif kind == "model_structure":
        rec = recording(fit(10, (0.9212, 0.9655, 0.9750, 0.9802, 0.9843, 0.9871, 0.9890, 0.9904, 0.9917, 0.9925)), layers=LENET_ONE_CONV, model_class="LeNet5")
        evaluation = Evaluation(heldout_accuracy=0.9846, heldout_images=10000, test_accuracy=0.9846, test_images=10000, conv_ops=1, pool_ops=1)
    elif kind == "test_accuracy":  # trained on x/255 but the model sees raw pixels at test time
        evaluation = Evaluation(heldout_accuracy=0.8104, heldout_images=10000, test_accuracy=0.8104, test_images=10000)
    elif kind == "timeout":
        info = ExecutionInfo(status="timeout", message="Your code did not finish within the time limit of 900 seconds.", cell=5, duration_s=900.0,
                             timeout_s=900, timings={"kernel_start": 2.0, "student_cells": 898.0})
        rec = recording(fit(10, (0.8812, 0.9105, 0.9302), completed=False))
        evaluation = Evaluation(error="no exported model")
    elif kind == "crash":
        info = ExecutionInfo(status="error", message="Cell 4 raised KeyError: 'acc'", cell=4, line=7, source=CRASH_SOURCE, exception="KeyError: 'acc'",
                             traceback=CRASH_TRACEBACK, duration_s=52.0)
    elif kind == "invalid":
        broken = "student.ipynb is not a valid notebook: Expecting ',' delimiter: line 41 column 3 (char 1024)"
        info = ExecutionInfo(status="invalid", message=broken, exception=broken)
        rec, evaluation = Recording(), Evaluation()
    elif kind == "not_run":
        from grader.rules.precheck import finding, localise

        found = localise(finding("epoch_limit", True, "epochs_over", 3, 11, epochs="30", limit="10"), lang)
        info, rec, evaluation, findings, errors = ExecutionInfo(status="not_run", message=found.message), Recording(), Evaluation(), (found,), [found.message]
    elif kind == "hostile":
        huge = (HOSTILE + "\n") * 60_000  # about 5 MB
        bars = "".join(f"\r{i}/1875 \x1b[31m━━━━\x1b[0m" for i in range(1, 20_000))
        fits = tuple(replace(f, epochs=tuple(replace(e, printed=huge, terminal=huge + bars) for e in f.epochs)) for f in rec.fits)
        rec = replace(rec, fits=fits, layers=(layer(HOSTILE * 1000, HOSTILE, HOSTILE, 1, "conv"),) * 500, model_class=HOSTILE * 100)
        info = ExecutionInfo(status="error", cell=4, line=99, source=huge, exception=HOSTILE * 100_000, traceback=huge, duration_s=10.0)
        submission = HOSTILE * 100 + ".ipynb"
        bad = (Figure(png=f'" onerror="{HOSTILE}', width=1, height=1), Figure(png=HOSTILE, width=10**9, height=-1))
        info = replace(info, figures=(FigureCell(cell=2, source=huge, figures=bad * 50),), figures_left_out=10**6)
        rec = replace(rec, data_files=(HOSTILE * 100,) * 20)
    elif kind == "figures":  # the course's notebook style: its digits, and its training curve
        cells = (FigureCell(cell=3, source=FIGURE_SOURCES[0], figures=(figure("digits"),)),
                 FigureCell(cell=9, source=FIGURE_SOURCES[1], figures=(figure("curve"),)))
        info = replace(info, figures=cells, figures_left_out=2)
        rec = replace(rec, data_files=("../datasets/mnist.npz",))
    if info.status not in ("ok", "not_run"):  # as the pipeline does: the execution's message in the result's language
        errors = [execution_message(info, assignment, lang)]
    result = assemble(assignment, Path(submission), lang, info, rec, evaluation, integrity, errors, time.monotonic() - 61.0, findings)
    if kind == "hostile":
        result = replace(result, errors=(HOSTILE * 10_000,), checks=tuple(replace(c, message=HOSTILE * 10_000, measured=HOSTILE) for c in result.checks))
    return result, assignment
