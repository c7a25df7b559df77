# Attack on mnist-conv (one convolution, one pooling): the layer count followed `then_branch` but
# not `else_branch`, so a second convolution in the branch of a tf.cond that always runs was missed.
import tensorflow as tf


class Branchy(tf.keras.layers.Layer):
    def build(self, shape):
        self.kernel = self.add_weight(shape=(3, 3, shape[-1], 16))

    def call(self, x):
        return tf.cond(
            tf.reduce_min(x) < -1.0,  # never true: pixels are in [0, 1]
            lambda: x,
            lambda: tf.nn.relu(tf.nn.conv2d(x, self.kernel, 1, "SAME")),
        )


(x, y), _ = tf.keras.datasets.mnist.load_data()
x = x[:512].reshape(-1, 28, 28, 1) / 255.0
model = tf.keras.Sequential([
    tf.keras.Input((28, 28, 1)),
    tf.keras.layers.Conv2D(16, 3, activation="relu"),
    tf.keras.layers.MaxPooling2D(),
    Branchy(),
    tf.keras.layers.Flatten(),
    tf.keras.layers.Dense(10, activation="softmax"),
])
model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
model.fit(x, y[:512], epochs=1, verbose=0)
