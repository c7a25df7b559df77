"""Training outside the record, found in-process (grader.inside.provenance and the recorder's
hooks): a tiny model trained on 256 random images, the hooks installed through `monkeypatch` so
that they are gone after each test. The full gradings of these attacks are in
tests/test_hostile_training.py."""

from __future__ import annotations

import json

import numpy as np
import pytest

keras = pytest.importorskip("keras")
tf = pytest.importorskip("tensorflow")
pytestmark = pytest.mark.kernel  # TensorFlow in this process

from grader.inside.recorder import Recorder  # noqa: E402

X = np.random.default_rng(0).random((256, 8, 8), dtype=np.float32)
Y = np.random.default_rng(1).integers(0, 10, 256)
STEPS = 256 // 64  # batches per epoch at batch_size=64
CHANGED = {"variables": 2, "given": 0, "unseen": 0, "example": "m/dense/kernel (64, 10)"}  # both weights of small_model()


@pytest.fixture()
def recorder(tmp_path, monkeypatch):
    rec = Recorder(str(tmp_path / "record.json"), str(tmp_path / "model"), str(tmp_path / "none.npz"))
    rec.install(monkeypatch.setattr)
    return rec


def small_model():
    model = keras.Sequential([keras.Input((8, 8)), keras.layers.Flatten(), keras.layers.Dense(10, activation="softmax", name="dense")], name="m")
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
    assert data["weight_changes"][0] == {"where": "epoch", "fit": 1, "epoch": 1, **CHANGED}


def test_train_on_batch_after_fit(recorder):
    model = small_model()
    model.fit(X, Y, epochs=1, batch_size=64, verbose=0)
    for _ in range(5):
        model.train_on_batch(X[:64], Y[:64])
    data = record(recorder)
    assert data["train_on_batch"] == 5 and data["optimizer_steps"] == STEPS + 5
    assert data["weight_changes"] == [{"where": "export", **CHANGED}]


def test_a_gradient_tape_loop_with_a_second_optimizer(recorder):
    model = small_model()
    optimizer = keras.optimizers.Adam()
    for _ in range(3):
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(keras.losses.sparse_categorical_crossentropy(Y, model(X)))
        optimizer.apply_gradients(zip(tape.gradient(loss, model.trainable_variables), model.trainable_variables, strict=True))
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
    assert data["optimizer_steps"] == STEPS and data["weight_changes"] == [{"where": "export", **CHANGED}]


def test_training_inside_an_epoch_from_a_callback(recorder):
    class More(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            self.model.train_on_batch(X[:64], Y[:64])

    model = small_model()
    model.fit(X, Y, epochs=1, batch_size=64, verbose=0, callbacks=[More()])
    epoch = record(recorder)["fits"][0]["epochs"][0]
    assert epoch["steps"] == 2 * STEPS


# -- initial values: weights trained elsewhere must not come in as a new model's initial values ---
def trained_by_hand() -> tuple[np.ndarray, np.ndarray]:
    """A kernel and a bias trained by plain variable updates: no Keras optimizer, no fit."""
    w, b = tf.Variable(np.random.default_rng(2).normal(0, 0.05, (64, 10)).astype("float32")), tf.Variable(np.zeros(10, "float32"))
    x = X.reshape(-1, 64)
    for _ in range(3):
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(keras.losses.sparse_categorical_crossentropy(Y, x @ w + b, from_logits=True))
        for v, g in zip((w, b), tape.gradient(loss, (w, b)), strict=True):
            v.assign_sub(0.5 * g)
    return w.numpy(), b.numpy()


def dense_model(**dense) -> keras.Model:
    model = keras.Sequential([keras.Input((8, 8)), keras.layers.Flatten(), keras.layers.Dense(10, activation="softmax", name="dense", **dense)], name="m")
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def first_change(rec: Recorder, model: keras.Model) -> dict:
    model.fit(X, Y, epochs=1, batch_size=64, verbose=0)
    changes = record(rec)["weight_changes"]
    assert changes, "the weights trained outside the record went unnoticed"
    return changes[0]


@pytest.mark.parametrize(
    "initializer",
    [
        lambda w: keras.initializers.Constant(w),
        lambda w: (lambda shape, dtype=None: w),
        lambda w: tf.constant_initializer(w),
    ],
    ids=["Constant", "function", "tf.constant_initializer"],
)
def test_a_kernel_trained_elsewhere_as_initial_value(recorder, initializer):
    w, b = trained_by_hand()
    change = first_change(recorder, dense_model(kernel_initializer=initializer(w), bias_initializer=keras.initializers.Constant(b)))
    assert change["where"] == "epoch" and change["given"] == 1  # the kernel; a bias of 10 values explains itself
    assert change["example"] == "m/dense/kernel (64, 10)"


def test_set_weights_or_assign_before_fit(recorder):
    w, b = trained_by_hand()
    model = dense_model()
    model.set_weights([w, b])
    assert first_change(recorder, model) == {"where": "epoch", "fit": 1, "epoch": 1, **CHANGED}


def test_build_then_assign_the_kernel(recorder):
    w, _ = trained_by_hand()
    model = keras.Sequential([keras.layers.Flatten(), keras.layers.Dense(10, activation="softmax")])
    model.build((None, 8, 8))
    model.layers[-1].kernel.assign(w)
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    change = first_change(recorder, model)
    assert change["variables"] == 1 and change["given"] == 0


def test_a_keras_variable_around_a_trained_tf_variable(recorder):
    w, _ = trained_by_hand()

    class Given(keras.layers.Layer):
        def build(self, shape):
            self.kernel = keras.Variable(tf.Variable(w), name="kernel")

        def call(self, x):
            return keras.ops.softmax(keras.ops.reshape(x, (-1, 64)) @ self.kernel)

    model = keras.Sequential([keras.Input((8, 8)), Given()])
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    assert first_change(recorder, model)["given"] == 1


def test_a_raw_tf_variable_is_created_out_of_sight(recorder):
    w, _ = trained_by_hand()

    class Raw(keras.layers.Layer):
        def build(self, shape):
            self.frozen = tf.Variable(w)  # not among model.weights: fit never trains it, the graph uses it
            self.scale = self.add_weight(shape=(), initializer="ones")

        def call(self, x):
            return keras.ops.softmax(keras.ops.reshape(x, (-1, 64)) @ self.frozen * self.scale)

    model = keras.Sequential([keras.Input((8, 8)), Raw()])
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    change = first_change(recorder, model)
    assert change["unseen"] == 1 and change["given"] == 0


def test_a_patched_keras_initializer_draws_nothing(recorder, monkeypatch):
    w, _ = trained_by_hand()
    monkeypatch.setattr(keras.initializers.GlorotUniform, "__call__", lambda self, shape, dtype=None: tf.constant(w))
    assert first_change(recorder, dense_model())["given"] == 1


def test_honest_initializers_constant_biases_and_batch_normalization(recorder):
    model = keras.Sequential([
        keras.Input((8, 8, 1)),
        keras.layers.Conv2D(16, 3, kernel_initializer="he_normal", bias_initializer=keras.initializers.Constant(0.1)),
        keras.layers.BatchNormalization(),
        keras.layers.Flatten(),
        keras.layers.Dense(80, kernel_initializer=keras.initializers.TruncatedNormal(stddev=0.1), bias_initializer=tf.constant_initializer(0.1)),
        keras.layers.Dense(10, activation="softmax", kernel_initializer="orthogonal"),
    ])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(X[..., None], Y, epochs=2, batch_size=64, verbose=0)
    assert record(recorder)["weight_changes"] == []


def test_a_second_model_given_recorded_weights(recorder):
    first = dense_model()
    first.fit(X, Y, epochs=1, batch_size=64, verbose=0)
    second = dense_model(kernel_initializer=keras.initializers.Constant(first.get_weights()[0]))
    second.set_weights(first.get_weights())  # what a recorded epoch left, in another model
    second.fit(X, Y, epochs=1, batch_size=64, verbose=0)
    assert record(recorder)["weight_changes"] == []
