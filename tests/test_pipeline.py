"""The whole pipeline on tiny submissions: verdicts in seconds where no training is needed."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from grader.pipeline import Options, grade

FAST = '''
import tensorflow as tf
(x_train, y_train), _ = tf.keras.datasets.mnist.load_data()
x_train, y_train = x_train[:512] / 255.0, y_train[:512]
class Stop(tf.keras.callbacks.Callback):
    def on_epoch_end(self, epoch, logs=None):
        print("Reached 99% accuracy so cancelling training!")
        self.model.stop_training = True
model = tf.keras.Sequential([tf.keras.Input((28, 28)), tf.keras.layers.Flatten(), tf.keras.layers.Dense(10, activation="softmax")])
model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
model.fit(x_train, y_train, epochs=EPOCHS, callbacks=[Stop()], verbose=0)
'''


def write(tmp_path: Path, epochs: str) -> Path:
    path = tmp_path / "student.py"
    path.write_text(FAST.replace("EPOCHS", epochs), encoding="utf-8")
    return path


def test_a_literal_rule_break_gets_its_verdict_without_running(tmp_path, callback_assignment, mnist_store):
    started = time.monotonic()
    result = grade(write(tmp_path, "30"), callback_assignment, Options(lang="en"))
    assert time.monotonic() - started < 5
    assert result.execution.status == "not_run" and not result.passed
    epoch_limit = result.check("epoch_limit")
    assert not epoch_limit.passed and epoch_limit.message == "fit is called with epochs=30; the limit is 10. (cell 1, line 11)"
    assert all("Not evaluated" in c.message for c in result.checks if c.id in ("stop_message", "accuracy_threshold", "test_accuracy"))
    assert [f.key for f in result.findings] == ["epochs_over"]


@pytest.mark.kernel
def test_full_runs_anyway_and_measures_everything(tmp_path, callback_assignment, mnist_store):
    result = grade(write(tmp_path, "30"), callback_assignment, Options(lang="en", full=True))
    assert result.execution.status == "ok"
    assert result.metrics.epochs_run == 1 and result.metrics.epochs_requested == 30
    assert not result.check("epoch_limit").passed and result.check("execution").passed
    assert result.evaluation.test_images == 10000 and result.metrics.test_accuracy is not None
    assert not result.check("accuracy_threshold").passed  # one epoch on 512 images stays far below 99%


@pytest.mark.kernel
def test_grading_twice_gives_the_same_result(tmp_path, callback_assignment, mnist_store):
    first = grade(write(tmp_path, "3"), callback_assignment, Options(lang="en"))
    second = grade(write(tmp_path, "3"), callback_assignment, Options(lang="en"))
    assert first.recording.seed == 0
    assert first.recording.all_epochs[0].metrics == second.recording.all_epochs[0].metrics
    assert first.metrics.test_accuracy == second.metrics.test_accuracy
    assert [c.passed for c in first.checks] == [c.passed for c in second.checks]


def test_a_verdict_without_running_states_the_limit_the_student_had(tmp_path, callback_assignment, mnist_store):
    result = grade(write(tmp_path, "30"), callback_assignment, Options(lang="en", timeout_s=60))
    assert result.execution.status == "not_run" and result.execution.timeout_s == 60.0  # --timeout, not the assignment's 900
    assert result.check("execution").required == "Every cell runs without an error within 60 seconds."
    default = grade(write(tmp_path, "30"), callback_assignment, Options())
    assert default.lang == callback_assignment.default_lang and default.execution.timeout_s == float(callback_assignment.timeout_s)
