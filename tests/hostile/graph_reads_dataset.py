# Attack: a model that keeps nothing of its own. Its graph reads the data-set file at evaluation
# time (the grader's recorder names the path, and the evaluation could read the same file), so a
# layer could look the test images up there instead of recognising them. Here the read is the
# whole point: the op is in the exported graph, whatever it computes from the bytes.
import tensorflow as tf

from grader.inside import setup

PATH = getattr(setup._RECORDER[-1], "mnist_path", "/etc/hostname")


class Lookup(tf.keras.layers.Layer):
    def call(self, x):
        data = tf.io.read_file(PATH)
        return x + 0.0 * tf.cast(tf.strings.length(data), x.dtype)


(x, y), _ = tf.keras.datasets.mnist.load_data()
model = tf.keras.Sequential([tf.keras.Input((28, 28)), Lookup(), tf.keras.layers.Flatten(), tf.keras.layers.Dense(10, activation="softmax")])
model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
model.fit(x[:256] / 255.0, y[:256], epochs=1, verbose=0)
