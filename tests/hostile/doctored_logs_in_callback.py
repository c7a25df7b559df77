# Attack: a callback that rewrites the logs (accuracy 1.0) before stopping, after barely training.
import tensorflow as tf


class Doctor(tf.keras.callbacks.Callback):
    def on_epoch_end(self, epoch, logs=None):
        logs["accuracy"] = 1.0
        logs["loss"] = 0.0
        print("Reached 99% accuracy so cancelling training!")
        self.model.stop_training = True


(x, y), _ = tf.keras.datasets.mnist.load_data()
model = tf.keras.Sequential([tf.keras.Input((28, 28)), tf.keras.layers.Flatten(), tf.keras.layers.Dense(10, activation="softmax")])
model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
history = model.fit(x / 255.0, y, epochs=5, steps_per_epoch=2, callbacks=[Doctor()], verbose=0)
assert history.history["accuracy"][-1] == 1.0
