"""Realistic results of every kind of verdict, assembled by the real checks from synthetic records."""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path

from conftest import MESSAGE, epochs, good_recording, layer, recording

from grader.assignment import find_assignment
from grader.models import Evaluation, ExecutionInfo, Finding, GradeResult, Recording
from grader.pipeline import assemble

BAR = "Epoch 5/10\n" + "".join(f"\r{i}/1875 \x1b[32m━━━━━━━━━━━━━━━━━━━━\x1b[0m 2ms/step - accuracy: 0.99" for i in range(1, 1876))
CONV_MESSAGE = "Reached 99.8% accuracy so cancelling training!"
HOSTILE = "<script>alert('x')</script><img src=http://example.com/x.png>"


def _with_terminal(rec: Recording) -> Recording:
    from grader.terminal import render

    fits = tuple(replace(f, epochs=tuple(replace(e, terminal=render(BAR.replace("5/10", f"{e.epoch + 1}/10") + "\n" + e.printed)) for e in f.epochs)) for f in rec.fits)
    return replace(rec, fits=fits, versions={"tensorflow": "2.21.0", "keras": "3.15.1", "python": "3.11.7"}, seed=0, model_class="Sequential",
                   layers=(layer("flatten"), layer("dense", class_name="Dense"), layer("dense_1", class_name="Dense")))


def build(kind: str, lang: str) -> tuple[GradeResult, object]:
    """(result, assignment) for one kind of verdict."""
    conv = kind in ("layer_limit", "conv_pass")
    assignment = find_assignment("mnist-conv" if conv else "mnist-callback")
    ok, evaluated = ExecutionInfo(status="ok", duration_s=40.0), Evaluation(test_accuracy=0.9791, test_images=10000)
    info, rec, evaluation, errors, findings = ok, _with_terminal(good_recording()), evaluated, [], ()
    if kind == "epoch_limit":
        rec = _with_terminal(recording((30, epochs((0.94, 0.975, 0.983, 0.988, 0.9912), {4: f"\n{MESSAGE}\n"}, stop_at=4))))
    elif kind == "stop_message":
        rec = _with_terminal(good_recording("Reached 99% accuracy, stopping"))
    elif kind == "accuracy_threshold":
        rec = _with_terminal(recording((10, epochs((0.93, 0.955), {1: MESSAGE}, stop_at=1))))
    elif kind == "test_accuracy":
        evaluation = Evaluation(test_accuracy=0.81, test_images=10000)
    elif conv:
        accs = (0.95, 0.98, 0.99, 0.995, 0.9985)
        rec = _with_terminal(recording((20, epochs(accs, {4: CONV_MESSAGE}, stop_at=4))))
        n = 2 if kind == "layer_limit" else 1
        rec = replace(rec, layers=tuple(layer(f"conv2d_{i}", "conv", "Conv2D") for i in range(n)) + (layer("max_pooling2d", "pool", "MaxPooling2D"), layer("flatten"), layer("dense", class_name="Dense")))
        evaluation = Evaluation(test_accuracy=0.987, test_images=10000, conv_ops=n, pool_ops=1)
    elif kind == "timeout":
        info = ExecutionInfo(status="timeout", message="Your code did not finish within the time limit of 900 seconds.", cell=5)
        rec, evaluation, errors = _with_terminal(recording((10, epochs((0.9, 0.93, 0.95))))), Evaluation(error="no exported model"), [info.message]
    elif kind == "crash":
        info = ExecutionInfo(status="error", message="Cell 4 raised KeyError: 'acc'", cell=4, line=7, source="import tensorflow as tf\n\n\n\n\nhistory = model.fit(x, y, epochs=10)\nprint(history.history['acc'][-1])\n" + HOSTILE, exception="KeyError: 'acc'", traceback="KeyError                                  Traceback (most recent call last)\nCell In[5], line 7\n----> 7 print(history.history['acc'][-1])\n\nKeyError: 'acc'")
        errors = [info.message]
    elif kind == "invalid":
        info = ExecutionInfo(status="invalid", message="not a valid notebook: the JSON is broken at line 1, column 3")
        rec, evaluation, errors = Recording(), Evaluation(), [info.message]
    elif kind == "not_run":
        found = Finding("epoch_limit", True, "epochs_over", 3, 11, {"epochs": "30", "limit": "10"}, "fit is called with epochs=30; the limit is 10. (cell 3, line 11)")
        info, rec, evaluation, errors, findings = ExecutionInfo(status="not_run", message=found.message), Recording(), Evaluation(), [found.message], (found,)
    elif kind == "hostile":
        rec = _with_terminal(good_recording())
        fits = tuple(replace(f, epochs=tuple(replace(e, printed=HOSTILE * 50_000, terminal=(HOSTILE + "\n") * 100_000) for e in f.epochs)) for f in rec.fits)
        rec = replace(rec, fits=fits, layers=(layer(HOSTILE),))
    result = assemble(assignment, Path(f"{HOSTILE if kind == 'hostile' else 'student'}.ipynb"), lang, info, rec, evaluation, (True, ""), errors, time.monotonic() - 61, findings)
    return result, assignment


KINDS = ("pass", "conv_pass", "epoch_limit", "stop_message", "accuracy_threshold", "layer_limit", "test_accuracy", "timeout", "crash", "invalid", "not_run", "hostile")
