"""Training outside the record, found in-process (grader.kernel.provenance and the recorder's
hooks): a tiny model trained on 256 random images, the hooks installed through `monkeypatch` so
that they are gone after each test. The full gradings of these attacks are in
tests/test_hostile_training.py."""

from __future__ import annotations

import json

import numpy as np
import pytest

keras = pytest.importorskip("keras")
tf = pytest.importorskip("tensorflow")

from grader.kernel.recorder import Recorder  # noqa: E402

X = np.random.default_rng(0).random((256, 8, 8), dtype=np.float32)
Y = np.random.default_rng(1).integers(0, 10, 256)
STEPS = 256 // 64  # batches per epoch at batch_size=64


@pytest.fixture()
def recorder(tmp_path, monkeypatch):
    rec = Recorder(str(tmp_path / "record.json"), str(tmp_path / "model"), str(tmp_path / "none.npz"))
    rec.install(monkeypatch.setattr)
    return rec


def small_model():
    model = keras.Sequential([keras.Input((8, 8)), keras.layers.Flatten(), keras.layers.Dense(10, activation="softmax")])
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def record(rec: Recorder) -> dict:
    rec.finish()
    return json.loads(open(rec.record_path).read())


def test_fit_is_recorded_with_its_steps_and_nothing_else(recorder):
    model = small_model()
    model.fit(X, Y, epochs=2, batch_size=64, verbose=0)
    model.fit(X, Y, epochs=1, batch_size=64, verbose=0)  # a second call starts where the first ended
    data = record(recorder)
    assert [e["steps"] for f in data["fits"] for e in f["epochs"]] == [STEPS] * 3
    assert [f["steps_per_epoch"] for f in data["fits"]] == [STEPS, STEPS]
    assert data["optimizer_steps"] == 3 * STEPS and data["weight_changes"] == [] and data["train_on_batch"] == 0


def test_the_original_fit_is_not_offered(recorder):
    assert not hasattr(keras.Model.fit, "__wrapped__")
    assert keras.Model.fit is super(keras.Model, small_model()).fit.__func__  # super() leads to the wrapper too


def test_restoring_best_weights_is_not_training(recorder):
    model = small_model()
    stop = keras.callbacks.EarlyStopping(monitor="loss", patience=0, min_delta=10.0, restore_best_weights=True)
    model.fit(X, Y, epochs=3, batch_size=64, verbose=0, callbacks=[stop])
    assert record(recorder)["weight_changes"] == []


def test_the_original_fit_from_the_wrappers_closure(recorder):
    model = small_model()
    original = next(c.cell_contents for c in keras.Model.fit.__closure__ if getattr(c.cell_contents, "__name__", "") == "fit")
    original(model, X, Y, epochs=3, batch_size=64, verbose=0)
    model.fit(X, Y, epochs=1, batch_size=64, verbose=0)
    data = record(recorder)
    assert data["optimizer_steps"] == 4 * STEPS and sum(e["steps"] for e in data["fits"][0]["epochs"]) == STEPS
    assert data["weight_changes"][0] == {"where": "epoch", "fit": 1, "epoch": 1, "variables": 2}


def test_train_on_batch_after_fit(recorder):
    model = small_model()
    model.fit(X, Y, epochs=1, batch_size=64, verbose=0)
    for _ in range(5):
        model.train_on_batch(X[:64], Y[:64])
    data = record(recorder)
    assert data["train_on_batch"] == 5 and data["optimizer_steps"] == STEPS + 5
    assert data["weight_changes"] == [{"where": "export", "variables": 2}]


def test_a_gradient_tape_loop_with_a_second_optimizer(recorder):
    model = small_model()
    optimizer = keras.optimizers.Adam()
    for _ in range(3):
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(keras.losses.sparse_categorical_crossentropy(Y, model(X)))
        optimizer.apply_gradients(zip(tape.gradient(loss, model.trainable_variables), model.trainable_variables))
    del optimizer  # deleting it does not hide its steps
    model.fit(X, Y, epochs=1, batch_size=64, verbose=0)
    data = record(recorder)
    assert data["optimizer_steps"] == STEPS + 3
    assert data["weight_changes"][0]["where"] == "epoch"


def test_assigning_weights_without_an_optimizer(recorder):
    model = small_model()
    model.fit(X, Y, epochs=1, batch_size=64, verbose=0)
    for variable in model.trainable_variables:
        variable.assign(variable * 0.5)
    data = record(recorder)
    assert data["optimizer_steps"] == STEPS and data["weight_changes"] == [{"where": "export", "variables": 2}]


def test_training_inside_an_epoch_from_a_callback(recorder):
    class More(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            self.model.train_on_batch(X[:64], Y[:64])

    model = small_model()
    model.fit(X, Y, epochs=1, batch_size=64, verbose=0, callbacks=[More()])
    epoch = record(recorder)["fits"][0]["epochs"][0]
    assert epoch["steps"] == 2 * STEPS
