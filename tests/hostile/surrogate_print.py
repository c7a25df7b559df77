# Attack: text that cannot be encoded. A lone surrogate printed in a cell, printed during an epoch (so it
# lands in the grader's record), written to stderr, and in the exception the cell ends with: the host
# then held strings that cannot be written as UTF-8, and crashed writing result.json.
import sys

import tensorflow as tf

BAD = "\udcff"
print(BAD)
sys.stderr.write(BAD + "\n")


class Shout(tf.keras.callbacks.Callback):
    def on_epoch_end(self, epoch, logs=None):
        print("Reached 99% accuracy" + BAD)


(x, y), _ = tf.keras.datasets.mnist.load_data()
model = tf.keras.Sequential([tf.keras.Input((28, 28)), tf.keras.layers.Flatten(), tf.keras.layers.Dense(10, activation="softmax")])
model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
model.fit(x[:64] / 255.0, y[:64], epochs=1, verbose=0, callbacks=[Shout()])
raise ValueError(BAD)
