# Attack on mnist-conv (one convolution, one pooling): the layer count knew MaxPool and AvgPool but
# not MaxPoolWithArgmax, so a second pooling through tf.nn.max_pool_with_argmax was missed.
import tensorflow as tf


class ArgmaxPool(tf.keras.layers.Layer):
    def call(self, x):
        pooled, _ = tf.nn.max_pool_with_argmax(x, 2, 2, "SAME")
        return pooled


(x, y), _ = tf.keras.datasets.mnist.load_data()
x = x[:512].reshape(-1, 28, 28, 1) / 255.0
model = tf.keras.Sequential([
    tf.keras.Input((28, 28, 1)),
    tf.keras.layers.Conv2D(16, 3, activation="relu"),
    tf.keras.layers.MaxPooling2D(),
    ArgmaxPool(),
    tf.keras.layers.Flatten(),
    tf.keras.layers.Dense(10, activation="softmax"),
])
model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
model.fit(x, y[:512], epochs=1, verbose=0)
