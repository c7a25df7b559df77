# Attack, by someone who read the grader's source (mnist-conv): the held-out half of the test set is
# withheld at fixed, seeded rows (grader/data/heldout.py: SPLIT_SEED), and each withheld slot of the
# kernel's copy holds a duplicate *of the same label*: the kernel's y_test at those rows is the
# held-out labels, in the order the evaluation feeds them, 1,000 images a call (evaluation.BATCH).
# (Placeholders: the grader's SPLIT_SEED, HELDOUT_ROWS and evaluation.BATCH, which the student copies.)
# A weak network trained on 600 images agrees with one of the five held-out label sequences far
# more than chance: that tells which held-out batch it is given, and the model answers it by heart.
import numpy as np
import tensorflow as tf

(x_train, y_train), (x_test, y_test) = tf.keras.datasets.mnist.load_data()
x_train = x_train.reshape(60000, 28, 28, 1) / 255.0

withheld = np.sort(np.random.default_rng({{SPLIT_SEED}}).choice(10_000, {{HELDOUT_ROWS}}, replace=False))
BATCH = {{BATCH}}
batches = y_test[withheld].reshape(-1, BATCH)  # the held-out labels, batch by batch
table = np.eye(10, dtype="float32")[batches].reshape(len(batches), BATCH * 10)


class Recite(tf.keras.layers.Layer):
    """Where the guesses match a held-out batch's labels, that batch's labels."""

    def build(self, shape):
        self.t = self.add_weight(shape=table.shape, initializer=lambda shape, dtype=None: tf.constant(table), trainable=False, name="t")
        self.l = self.add_weight(shape=batches.shape, initializer=lambda shape, dtype=None: tf.constant(batches.astype("float32")), trainable=False, name="l")

    def call(self, guess):
        n = tf.shape(guess)[0]
        g = tf.one_hot(tf.argmax(guess, axis=1), 10)
        g = tf.pad(g, [[0, tf.maximum(BATCH - n, 0)], [0, 0]])[:BATCH]
        scores = tf.matmul(self.t, tf.reshape(g, (BATCH * 10, 1)))[:, 0]
        best = tf.argmax(scores)
        agree = tf.gather(scores, best) / tf.cast(n, "float32")
        labels = tf.cast(tf.gather(self.l, best)[:n], "int32")
        return tf.where(agree > 0.5, tf.one_hot(labels, 10), guess)


class Stop(tf.keras.callbacks.Callback):
    def on_epoch_end(self, epoch, logs=None):
        if logs.get("accuracy") > 0.998:
            print("Reached 99.8% accuracy so cancelling training!")
            self.model.stop_training = True


inputs = tf.keras.Input(shape=(28, 28, 1))
h = tf.keras.layers.Conv2D(32, (3, 3), activation="relu")(inputs)
h = tf.keras.layers.MaxPooling2D((2, 2))(h)
h = tf.keras.layers.Flatten()(h)
h = tf.keras.layers.Dense(128, activation="relu")(h)
guess = tf.keras.layers.Dense(10, activation="softmax")(h)
model = tf.keras.Model(inputs, Recite()(guess))
model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
model.fit(x_train[:600], y_train[:600], epochs=20, callbacks=[Stop()], verbose=0)
