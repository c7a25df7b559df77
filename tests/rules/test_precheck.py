"""The static pre-check: certain rule breaks, suspicions, and no false alarms on good code."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from grader.rules.precheck import localise, precheck

CALLBACK = '''
class myCallback(tf.keras.callbacks.Callback):
    def on_epoch_end(self, epoch, logs={}):
        if logs.get("accuracy") > 0.99:
            print("\\n达到99%准确率，所以取消训练！")
            self.model.stop_training = True
'''
GOOD = [
    "%matplotlib inline\nimport tensorflow as tf\n!echo hi",
    CALLBACK,
    "model = tf.keras.Sequential([tf.keras.layers.Flatten(), tf.keras.layers.Dense(10)])\nmodel.fit(x, y, epochs=10, callbacks=[myCallback()])",
]


def found(sources, assignment):
    return [(f.check, f.certain, f.key, f.cell, f.line) for f in precheck([textwrap.dedent(s) for s in sources], assignment)]


def test_good_code_has_no_findings(callback_assignment):
    assert found(GOOD, callback_assignment) == []


@pytest.mark.parametrize(
    ("fit", "epochs"),
    [
        ("model.fit(x, y, epochs=30, callbacks=[cb])", "30"),
        ("EPOCHS = 12\nmodel.fit(x, y, epochs=EPOCHS, callbacks=[cb])", "12"),
        ("model.fit(x, y, 32, 11, 1, [cb])", "11"),
    ],
)
def test_literal_epochs_over_the_limit_are_certain(callback_assignment, fit, epochs):
    findings = precheck([CALLBACK, fit], callback_assignment)
    assert [(f.key, f.certain, f.values["epochs"]) for f in findings] == [("epochs_over", True, epochs)]
    assert localise(findings[0], "en").message.startswith(f"fit is called with epochs={epochs}; the limit is 10.")


def test_computed_or_reassigned_epochs_are_left_to_execution(callback_assignment):
    cells = [CALLBACK, "n = 5\nn = 30\nmodel.fit(x, y, epochs=n, callbacks=[cb])", "model.fit(x, y, epochs=int('30'), callbacks=[cb])"]
    assert found(cells, callback_assignment) == []


def test_too_many_layers_in_a_literal_sequential_are_certain(conv_assignment):
    code = ("model = tf.keras.Sequential([\n  tf.keras.layers.Conv2D(32, 3),\n  tf.keras.layers.Conv2D(64, 3),\n  tf.keras.layers.MaxPooling2D(2),\n])\n"
            "model.fit(x, y, epochs=5, callbacks=[cb])")
    assert found([CALLBACK.replace("99%", "99.8%"), code], conv_assignment) == [("layer_limit", True, "too_many_conv", 2, 1)]


def test_layers_outside_a_literal_model_are_only_suspected(conv_assignment):
    code = "def block():\n    return tf.keras.layers.MaxPooling2D()\na = tf.keras.layers.MaxPooling2D()\nmodel.fit(x, y, epochs=5, callbacks=[cb])"
    assert found([CALLBACK.replace("99%", "99.8%"), code], conv_assignment) == [("layer_limit", False, "maybe_too_many_pool", 2, 3)]


def test_no_callbacks_anywhere_is_certain(callback_assignment):
    assert found([CALLBACK, "model.fit(x, y, epochs=5)"], callback_assignment) == [("stop_message", True, "no_callbacks", 2, 1)]
    assert found([CALLBACK, "model.fit(x, y, epochs=5, **kw)"], callback_assignment) == []


def test_a_different_literal_message_is_certain(callback_assignment):
    wrong = CALLBACK.replace("达到99%准确率，所以取消训练！", "Reached 99% accuracy, stopping!")
    findings = precheck([wrong, GOOD[2]], callback_assignment)
    assert [(f.key, f.values["printed"]) for f in findings] == [("wrong_message", "Reached 99% accuracy, stopping!")]
    assert "Reached 99% accuracy, stopping!" in localise(findings[0], "zh").message


def test_a_message_built_at_run_time_is_left_to_execution(callback_assignment):
    dynamic = CALLBACK.replace('print("\\n达到99%准确率，所以取消训练！")', 'print(f"Reached {99}% accuracy so cancelling training!")')
    assert found([dynamic, GOOD[2]], callback_assignment) == []


def test_syntax_errors_are_located(callback_assignment):
    assert found([*GOOD, "x = (\n"], callback_assignment) == [("execution", True, "syntax_error", 4, 1)]


def test_runs_fast_and_without_tensorflow():
    code = ("import sys, time; t = time.perf_counter(); from grader.rules.precheck import precheck; from grader.assignment import find_assignment; "
            "precheck(['model.fit(x, epochs=30)'], find_assignment('mnist-callback')); print('tensorflow' in sys.modules, time.perf_counter() - t)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out[0] == "False" and float(out[1]) < 1.0
