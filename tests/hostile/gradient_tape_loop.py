# Attack on the epoch limit (10): 8 epochs of a hand-written GradientTape loop with an optimizer of
# its own (the compiled one never moves), then 5 recorded epochs of fit with the callback.
import tensorflow as tf


class Stop(tf.keras.callbacks.Callback):
    def on_epoch_end(self, epoch, logs=None):
        if logs["accuracy"] > 0.99:
            print("Reached 99% accuracy so cancelling training!")
            self.model.stop_training = True


(x, y), _ = tf.keras.datasets.mnist.load_data()
x, y = (x[:512] / 255.0).astype("float32"), y[:512]
model = tf.keras.Sequential([tf.keras.Input((28, 28)), tf.keras.layers.Flatten(), tf.keras.layers.Dense(64, activation="relu"), tf.keras.layers.Dense(10, activation="softmax")])
optimizer = tf.keras.optimizers.Adam()
loss_fn = tf.keras.losses.SparseCategoricalCrossentropy()
for epoch in range(8):
    for start in range(0, len(x), 32):
        with tf.GradientTape() as tape:
            loss = loss_fn(y[start : start + 32], model(x[start : start + 32], training=True))
        optimizer.apply_gradients(zip(tape.gradient(loss, model.trainable_variables), model.trainable_variables))
del optimizer
model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
model.fit(x, y, epochs=5, callbacks=[Stop()], verbose=0)
