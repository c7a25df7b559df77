"""The limits in every mode, the unsafe one included, and a batch: the honest submission is
graded as if its hostile neighbours were not there (their kernels and evaluations run beside it)."""

from __future__ import annotations

import sys
import uuid

import pytest

from grader.assignment import find_assignment
from grader.pipeline import Options, grade
from tests.support.hostile import GRACE, HOSTILE, attack, host_still_works, processes_with, watch_for
from tests.support.sandbox import AVAILABLE

pytestmark = [pytest.mark.kernel, pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the sandbox is Linux's")]

# -- every mode ---------------------------------------------------------------------------------

PREFIX = {"bwrap": "bubblewrap", "unshare": "unshare", "none": "UNSAFE, no sandbox"}


@pytest.mark.parametrize("mode", [m for m in AVAILABLE if m != "bwrap"] + ["none"])  # bubblewrap: test_sandbox_hostile
def test_every_mode_stops_daemons_bombs_and_sleepers(tmp_path, mode):
    marker = f"hostile-daemon-{uuid.uuid4().hex}"
    for name in ("daemon", "sleep", "memory"):
        (tmp_path / name).mkdir()
    seen = watch_for(marker)
    g = attack(tmp_path / "daemon", "daemon_double_fork.py", mode=mode, MARKER=marker, DROP=tmp_path)
    assert g.result.execution.sandbox.startswith(PREFIX[mode])
    assert seen.wait(0) and processes_with(marker) == []
    g = attack(tmp_path / "sleep", "ignore_sigterm_sleep.py", mode=mode, timeout=15)
    assert g.status == "timeout" and g.elapsed < 15 + GRACE
    g = attack(tmp_path / "memory", "memory_bomb.py", mode=mode, memory_mb=1536)
    assert g.status == "out_of_memory", g.result.execution
    host_still_works()


# -- a batch: the honest are graded as if the hostile were not there ----------------------------

HONEST = """
import tensorflow as tf
(x_train, y_train), _ = tf.keras.datasets.mnist.load_data()
x_train = x_train / 255.0
# %%
class Stop(tf.keras.callbacks.Callback):
    def on_epoch_end(self, epoch, logs=None):
        if logs.get("accuracy") > 0.99:
            print("Reached 99% accuracy so cancelling training!")
            self.model.stop_training = True
model = tf.keras.Sequential([tf.keras.Input((28, 28)), tf.keras.layers.Flatten(), tf.keras.layers.Dense(64, activation="relu"),
                             tf.keras.layers.Dense(10, activation="softmax")])
model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
model.fit(x_train, y_train, epochs=2, callbacks=[Stop()])
"""


@pytest.mark.slow
def test_batch_with_hostile_neighbours_grades_the_honest_unchanged(tmp_path):
    from concurrent.futures import ThreadPoolExecutor

    assignment = find_assignment("mnist-callback")
    honest = tmp_path / "honest.py"
    honest.write_text(HONEST)
    options = Options(lang="en", timeout_s=300, full=True)
    alone = grade(honest, assignment, options)
    jobs = {"honest": honest}
    for name in ("fork_bomb.py", "memory_bomb.py", "ignore_sigterm_sleep.py", "kill_everything.py"):
        (tmp_path / name).write_text((HOSTILE / name).read_text())
        jobs[name] = tmp_path / name
    with ThreadPoolExecutor(len(jobs)) as pool:
        futures = {k: pool.submit(grade, p, assignment, Options(lang="en", timeout_s=300 if k == "honest" else 90, full=True)) for k, p in jobs.items()}
        results = {k: f.result() for k, f in futures.items()}
    together = results["honest"]
    assert together.execution.status == alone.execution.status == "ok"
    assert [(c.id, c.passed) for c in together.checks] == [(c.id, c.passed) for c in alone.checks]
    assert together.metrics.epochs_run == alone.metrics.epochs_run
    assert together.metrics.test_accuracy == pytest.approx(alone.metrics.test_accuracy, abs=0.01)
    assert together.metrics.train_accuracy == pytest.approx(alone.metrics.train_accuracy, abs=0.01)
    statuses = {k: r.execution.status for k, r in results.items()}
    assert statuses["fork_bomb.py"] == "too_many_processes" and statuses["memory_bomb.py"] == "out_of_memory"
    assert statuses["ignore_sigterm_sleep.py"] == "timeout" and statuses["kill_everything.py"] in ("error", "kernel_died")
