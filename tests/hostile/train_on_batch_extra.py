# Attack on the epoch limit (10): the recorder saw only `fit`, so 2 recorded epochs, then 11 more
# epochs' worth of train_on_batch (one step per batch), passed as 2 epochs.
import tensorflow as tf

(x, y), _ = tf.keras.datasets.mnist.load_data()
x, y = x[:512] / 255.0, y[:512]
model = tf.keras.Sequential([tf.keras.Input((28, 28)), tf.keras.layers.Flatten(), tf.keras.layers.Dense(64, activation="relu"), tf.keras.layers.Dense(10, activation="softmax")])
model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
model.fit(x, y, epochs=2, verbose=0)
for epoch in range(11):
    for start in range(0, len(x), 32):
        model.train_on_batch(x[start : start + 32], y[start : start + 32])
