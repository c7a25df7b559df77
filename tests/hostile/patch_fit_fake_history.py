# Attack: replace Model.fit with a fake that trains nothing and returns a perfect History.
import keras
import tensorflow as tf


def fake_fit(self, *args, **kwargs):
    print("Reached 99% accuracy so cancelling training!")
    self.stop_training = True
    history = keras.callbacks.History()
    history.history = {"accuracy": [0.5, 0.995], "loss": [0.1, 0.01]}
    history.epoch = [0, 1]
    return history


keras.Model.fit = fake_fit
tf.keras.Model.fit = fake_fit
keras.models.Sequential.fit = fake_fit

# %%
model = tf.keras.Sequential([tf.keras.Input((28, 28)), tf.keras.layers.Flatten(), tf.keras.layers.Dense(10, activation="softmax")])
model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
(x, y), _ = tf.keras.datasets.mnist.load_data()
history = model.fit(x / 255.0, y, epochs=2)
assert history.history["accuracy"][-1] > 0.99
