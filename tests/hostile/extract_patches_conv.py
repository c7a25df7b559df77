# Attack on mnist-conv (one convolution, one pooling), by someone who read the grader's source: the
# layer limit counted Conv2D ops, so a second convolution written as image patches times a kernel
# matrix (tf.image.extract_patches and a matmul) was not a convolution to it.
import tensorflow as tf


class PatchConv(tf.keras.layers.Layer):
    def __init__(self, filters, **kwargs):
        super().__init__(**kwargs)
        self.filters = filters

    def build(self, shape):
        self.kernel = self.add_weight(shape=(9 * shape[-1], self.filters))

    def call(self, x):
        patches = tf.image.extract_patches(x, [1, 3, 3, 1], [1, 1, 1, 1], [1, 1, 1, 1], "SAME")
        return tf.nn.relu(tf.matmul(patches, self.kernel))


(x, y), _ = tf.keras.datasets.mnist.load_data()
x = x[:512].reshape(-1, 28, 28, 1) / 255.0
model = tf.keras.Sequential([
    tf.keras.Input((28, 28, 1)),
    tf.keras.layers.Conv2D(16, 3, activation="relu"),
    tf.keras.layers.MaxPooling2D(),
    PatchConv(16),
    tf.keras.layers.Flatten(),
    tf.keras.layers.Dense(10, activation="softmax"),
])
model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
model.fit(x, y[:512], epochs=1, verbose=0)
