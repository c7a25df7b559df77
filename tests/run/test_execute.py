"""Execution in a real kernel, with tiny models and data: seconds, not minutes."""

from __future__ import annotations

import textwrap
import time

import nbformat
import pytest

from grader.run.execute import RunSpec, build_notebook, execute
from grader.run.record import read_recording
from grader.run.verdicts import student_cell_number

TINY = """
import numpy as np
import tensorflow as tf
rng = np.random.default_rng(0)
x = rng.random((256, 28, 28)).astype("float32")
y = (x[:, 0, 0] > 0.5).astype("int64")
"""


def run(tmp_path, mnist_store, *sources, timeout=90, entry=None, limits=None):
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(textwrap.dedent(s)) for s in sources])
    spec = RunSpec(workdir=tmp_path / "work", rundir=tmp_path / "run", mnist_path=mnist_store, timeout_s=timeout, entry=entry, limits=limits)
    info = execute(notebook, spec)
    return info, read_recording(spec.record_path), spec


def test_hidden_cells_surround_the_students(tmp_path):
    student = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# hi"), nbformat.v4.new_code_cell("a = 1"), nbformat.v4.new_code_cell("b = 2")])
    nb = build_notebook(student, RunSpec(tmp_path, tmp_path, tmp_path / "m.npz", 10, entry="train_mnist"))
    assert [c.metadata.get("grader_hidden") for c in nb.cells] == ["setup", None, None, "entry", "finish"]
    assert [student_cell_number(nb, i) for i in range(5)] == [None, 1, 2, None, None]


@pytest.mark.kernel
def test_exception_names_cell_and_line(tmp_path, mnist_store):
    info, _, _ = run(tmp_path, mnist_store, "a = 1", "b = 2\n\nc = {}\nc['acc']")
    assert info.status == "error" and (info.cell, info.line) == (2, 4)
    assert info.exception == "KeyError: 'acc'" and "grader/inside" not in info.traceback


@pytest.mark.kernel
def test_syntax_error_names_the_line(tmp_path, mnist_store):
    info, _, _ = run(tmp_path, mnist_store, "x = 1\ny = (\n")
    assert info.status == "error" and info.cell == 1 and info.exception.startswith("SyntaxError")


@pytest.mark.kernel
def test_timeout_stops_on_time(tmp_path, mnist_store):
    started = time.monotonic()
    info, _, _ = run(tmp_path, mnist_store, "import time\ntime.sleep(120)", timeout=12)
    assert info.status == "timeout" and "12 seconds" in info.message and info.cell == 1
    assert time.monotonic() - started < 40


@pytest.mark.kernel
def test_os_exit_is_a_dead_kernel(tmp_path, mnist_store):
    info, _, _ = run(tmp_path, mnist_store, "import os\nos._exit(3)")
    assert info.status == "kernel_died"


@pytest.mark.kernel
def test_mnist_is_served_offline_to_every_entry_point(tmp_path, mnist_store):
    info, _, _ = run(
        tmp_path,
        mnist_store,
        """
        import tensorflow as tf, keras
        from keras.datasets import mnist
        (a, b), (c, d) = tf.keras.datasets.mnist.load_data(path="elsewhere.npz")
        (e, f), (g, h) = mnist.load_data()
        assert a.shape == (60000, 28, 28) and c.shape == (10000, 28, 28) and a.dtype.name == "uint8"
        assert (a == e).all() and (d == h).all()
        """,
    )
    assert info.status == "ok", info.traceback


@pytest.mark.kernel
def test_fit_styles_are_recorded_from_kerass_own_metrics(tmp_path, mnist_store):
    info, rec, spec = run(
        tmp_path,
        mnist_store,
        TINY,
        """
        class Stop(tf.keras.callbacks.Callback):
            def __init__(self, key):
                super().__init__(); self.key = key
            def on_epoch_end(self, epoch, logs=None):
                logs[self.key] = 1.0  # doctoring the logs changes nothing the grader saw
                if epoch == 1:
                    print("\\nReached 99% accuracy so cancelling training!")
                    self.model.stop_training = True

        def dense(out="softmax"):
            return tf.keras.Sequential([tf.keras.Input((28, 28)), tf.keras.layers.Flatten(), tf.keras.layers.Dense(8, activation="relu"),
                                        tf.keras.layers.Dense(10, activation=out)])

        m1 = dense(); m1.compile("adam", "sparse_categorical_crossentropy", metrics=["acc"])
        m1.fit(x, y, epochs=5, callbacks=[Stop("acc")], verbose=1)
        """,
        """
        import keras
        inp = keras.Input((28, 28)); out = keras.layers.Dense(10)(keras.layers.Flatten()(inp))
        m2 = keras.Model(inp, out)
        m2.compile("adam", keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=[keras.metrics.SparseCategoricalAccuracy(name="my_accuracy")])
        m2.fit(x, y, epochs=2, verbose=0)
        """,
        """
        class Sub(tf.keras.Model):
            def __init__(self):
                super().__init__(); self.f = tf.keras.layers.Flatten(); self.d = tf.keras.layers.Dense(10, activation="softmax")
            def call(self, inputs):
                return self.d(self.f(inputs))
        m3 = Sub(); m3.compile("sgd", "sparse_categorical_crossentropy", metrics=["accuracy"])
        m3.fit(x, y, epochs=3, initial_epoch=1, callbacks=Stop("accuracy"), verbose=2)
        """,
    )
    assert info.status == "ok", info.traceback
    first, second, third = rec.fits
    assert (first.epochs_requested, first.epochs_run, first.accuracy_metric, first.stopped_at) == (5, 2, "acc", 1)
    assert all(e.accuracy is not None and e.accuracy < 1.0 for e in first.epochs)
    assert "Reached 99% accuracy so cancelling training!" in first.epochs[1].printed
    assert "━" not in first.epochs[1].printed and "Epoch 2/5" not in first.epochs[1].printed
    assert "Epoch 2/5" in first.epochs[1].terminal and "8/8" in first.epochs[1].terminal
    assert (second.accuracy_metric, second.epochs_run, second.stopped_at) == ("my_accuracy", 2, None)
    assert (third.epochs_requested, third.initial_epoch, third.epochs_run, third.accuracy_metric) == (3, 1, 1, "accuracy")
    assert rec.model_class == "Sub" and (spec.model_dir / "saved_model.pb").is_file()
    assert rec.versions["keras"].startswith("3.")


@pytest.mark.kernel
def test_a_faked_fit_records_no_training(tmp_path, mnist_store):
    info, rec, _ = run(
        tmp_path,
        mnist_store,
        TINY,
        """
        import keras
        class FakeHistory:
            history = {"accuracy": [0.999]}
            epoch = [0]
        keras.Model.fit = lambda self, *a, **k: FakeHistory()
        m = tf.keras.Sequential([tf.keras.Input((28, 28)), tf.keras.layers.Flatten(), tf.keras.layers.Dense(10)])
        m.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
        h = m.fit(x, y, epochs=1)
        """,
    )
    assert info.status == "ok" and rec.fits == ()


@pytest.mark.kernel
def test_entry_function_runs_only_when_nothing_trained(tmp_path, mnist_store):
    body = """
        def train_mnist():
            m = tf.keras.Sequential([tf.keras.Input((28, 28)), tf.keras.layers.Flatten(), tf.keras.layers.Dense(10, activation="softmax")])
            m.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
            return m.fit(x, y, epochs=1, verbose=0)
        """
    info, rec, _ = run(tmp_path / "a", mnist_store, TINY, body, entry="train_mnist")
    assert info.status == "ok" and len(rec.fits) == 1
    info, rec, _ = run(tmp_path / "b", mnist_store, TINY, textwrap.dedent(body) + "\ntrain_mnist()\n", entry="train_mnist")
    assert info.status == "ok" and len(rec.fits) == 1


@pytest.mark.kernel
def test_missing_entry_function_is_explained(tmp_path, mnist_store):
    info, _, _ = run(tmp_path, mnist_store, "x = 1", entry="train_mnist")
    assert info.status == "error" and "train_mnist" in info.exception


@pytest.mark.kernel
def test_early_stop_when_fit_asks_for_too_many_epochs(tmp_path, mnist_store):
    info, rec, spec = run(
        tmp_path,
        mnist_store,
        TINY,
        "m = tf.keras.Sequential([tf.keras.Input((28, 28)), tf.keras.layers.Flatten(), tf.keras.layers.Dense(10)])\n"
        "m.compile('adam', tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True))\nn = int('30')\nm.fit(x, y, epochs=n)",
        limits={"max_epochs": 10},
    )
    assert info.status == "stopped" and "epochs=30" in info.message and info.cell == 2
    assert rec.stopped_by == "epoch_limit" and rec.fits[0].epochs_run == 0


@pytest.mark.kernel
def test_early_stop_when_epochs_run_past_the_limit(tmp_path, mnist_store):
    info, rec, _ = run(
        tmp_path,
        mnist_store,
        TINY,
        "m = tf.keras.Sequential([tf.keras.Input((28, 28)), tf.keras.layers.Flatten(), tf.keras.layers.Dense(10)])\n"
        "m.compile('adam', tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True))\nfor _ in range(3):\n    m.fit(x, y, epochs=2, verbose=0)",
        limits={"max_epochs": 3},
    )
    assert info.status == "stopped" and rec.stopped_by == "epoch_limit"
    assert [f.epochs_run for f in rec.fits] == [2, 1]


@pytest.mark.kernel
def test_early_stop_on_a_second_convolution_in_a_nested_model(tmp_path, mnist_store):
    info, rec, _ = run(
        tmp_path,
        mnist_store,
        TINY,
        """
        L = tf.keras.layers
        inner = tf.keras.Sequential([L.Conv2D(2, 3), L.Conv2D(2, 3)])
        m = tf.keras.Sequential([tf.keras.Input((28, 28, 1)), inner, L.Flatten(), L.Dense(10)])
        m.compile('adam', tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True))
        m.fit(x[..., None], y, epochs=1)
        """,
        limits={"max_epochs": 20, "max_conv": 1, "max_pool": 1},
    )
    assert info.status == "stopped" and rec.stopped_by == "layer_limit" and "2 conv layers" in info.message


@pytest.mark.kernel
def test_a_long_lived_grader_leaks_no_descriptors_or_threads(tmp_path, mnist_store):
    import os
    import threading

    run(tmp_path / "warm", mnist_store, "x = 1")  # the first run may import and cache for good
    fds, threads = len(os.listdir("/proc/self/fd")), threading.active_count()
    for i in range(2):
        info, _, _ = run(tmp_path / str(i), mnist_store, "x = 1")
        assert info.status == "ok"
    assert len(os.listdir("/proc/self/fd")) <= fds and threading.active_count() <= threads
