# Attack, by someone who read the grader's source (mnist-callback): provenance (grader/inside/provenance.py)
# counts Keras optimizers' steps and allows a weight its *initial* value. Train with plain variable
# updates (no Keras optimizer, no fit) for 15 epochs, then build the model with those weights as its
# initial values (Constant initializers) and fit it one recorded epoch: the record says 1 epoch.
import numpy as np
import tensorflow as tf

(x_train, y_train), (x_test, y_test) = tf.keras.datasets.mnist.load_data()
x_train, x_test = x_train / 255.0, x_test / 255.0
x, y = x_train[:1000].reshape(-1, 784).astype("float32"), y_train[:1000]

w1 = tf.Variable(np.random.default_rng(0).normal(0, 0.05, (784, 128)).astype("float32"))
b1 = tf.Variable(np.zeros(128, "float32"))
w2 = tf.Variable(np.random.default_rng(1).normal(0, 0.05, (128, 10)).astype("float32"))
b2 = tf.Variable(np.zeros(10, "float32"))
for epoch in range(15):
    for i in range(0, 1000, 50):
        with tf.GradientTape() as tape:
            h = tf.nn.relu(x[i:i + 50] @ w1 + b1)
            loss = tf.reduce_mean(tf.keras.losses.sparse_categorical_crossentropy(y[i:i + 50], h @ w2 + b2, from_logits=True))
        for v, g in zip((w1, b1, w2, b2), tape.gradient(loss, (w1, b1, w2, b2))):
            v.assign_sub(0.5 * g)


class Stop(tf.keras.callbacks.Callback):
    def on_epoch_end(self, epoch, logs=None):
        if logs.get("accuracy") > 0.99:
            print("Reached 99% accuracy so cancelling training!")
            self.model.stop_training = True


C = tf.keras.initializers.Constant
model = tf.keras.models.Sequential([
    tf.keras.layers.Flatten(input_shape=(28, 28)),
    tf.keras.layers.Dense(128, activation="relu", kernel_initializer=C(w1.numpy()), bias_initializer=C(b1.numpy())),
    tf.keras.layers.Dense(10, activation="softmax", kernel_initializer=C(w2.numpy()), bias_initializer=C(b2.numpy())),
])
model.compile(optimizer=tf.keras.optimizers.SGD(1e-9), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
model.fit(x_train[:1000], y_train[:1000], epochs=1, callbacks=[Stop()])
