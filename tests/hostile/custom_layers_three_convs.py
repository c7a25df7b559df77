# Attack on mnist-conv (one convolution, one pooling): no Keras Conv2D or pooling layer at all, so
# the layer census counts none; three convolutions and two poolings in custom layers, inside
# tf.functions nested in their calls, and one pooling chosen by tf.switch_case.
import tensorflow as tf


class Block(tf.keras.layers.Layer):
    """Two convolutions, then an average pooling."""

    def build(self, shape):
        self.k1 = self.add_weight(shape=(3, 3, shape[-1], 8))
        self.k2 = self.add_weight(shape=(3, 3, 8, 8))

    def call(self, x):
        @tf.function
        def conv(y, kernel):
            return tf.nn.relu(tf.nn.conv2d(y, kernel, 1, "SAME"))

        return tf.nn.avg_pool2d(conv(conv(x, self.k1.value), self.k2.value), 2, 2, "VALID")


class Head(tf.keras.layers.Layer):
    """A third convolution, then a max pooling chosen by a switch that always picks it."""

    def build(self, shape):
        self.kernel = self.add_weight(shape=(3, 3, shape[-1], 8))

    def call(self, x):
        y = tf.nn.relu(tf.nn.convolution(x, self.kernel, padding="SAME"))
        index = tf.cast(tf.reduce_min(y) >= 0.0, tf.int32)  # always 1
        return tf.switch_case(index, [lambda: y[:, ::2, ::2, :], lambda: tf.nn.max_pool2d(y, 2, 2, "VALID")])


(x, y), _ = tf.keras.datasets.mnist.load_data()
x = x[:512].reshape(-1, 28, 28, 1) / 255.0
model = tf.keras.Sequential([tf.keras.Input((28, 28, 1)), Block(), Head(), tf.keras.layers.Flatten(), tf.keras.layers.Dense(10, activation="softmax")])
model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
model.fit(x, y[:512], epochs=1, verbose=0)
