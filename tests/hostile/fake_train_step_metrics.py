# Attack: a model whose train_step learns nothing but feeds Keras' own accuracy metric the labels as
# predictions, so the logs the grader copies (before any callback) already say 100%.
import tensorflow as tf


class Liar(tf.keras.Sequential):
    def train_step(self, data):
        x, y = data
        return self.compute_metrics(x, y, tf.one_hot(tf.cast(y, "int32"), 10))


class Stop(tf.keras.callbacks.Callback):
    def on_epoch_end(self, epoch, logs=None):
        if logs.get("accuracy") > 0.99:
            print("Reached 99% accuracy so cancelling training!")
            self.model.stop_training = True


(x, y), _ = tf.keras.datasets.mnist.load_data()
model = Liar([tf.keras.Input((28, 28)), tf.keras.layers.Flatten(), tf.keras.layers.Dense(10, activation="softmax")])
model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
model.fit(x / 255.0, y, epochs=10, steps_per_epoch=3, callbacks=[Stop()], verbose=0)
