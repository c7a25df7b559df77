# Attack on the epoch limit (10): train a second model for 9 epochs by hand, with plain variable
# updates (no Keras optimizer, so no step counter moves), copy its weights into the model that is
# fitted for the record, and fit that for 2 recorded epochs.
import tensorflow as tf


def build():
    return tf.keras.Sequential([tf.keras.Input((28, 28)), tf.keras.layers.Flatten(), tf.keras.layers.Dense(64, activation="relu"), tf.keras.layers.Dense(10, activation="softmax")])


(x, y), _ = tf.keras.datasets.mnist.load_data()
x, y = (x[:512] / 255.0).astype("float32"), y[:512]
helper = build()
loss_fn = tf.keras.losses.SparseCategoricalCrossentropy()
for epoch in range(9):
    for start in range(0, len(x), 32):
        with tf.GradientTape() as tape:
            loss = loss_fn(y[start : start + 32], helper(x[start : start + 32], training=True))
        for variable, gradient in zip(helper.trainable_variables, tape.gradient(loss, helper.trainable_variables)):
            variable.assign_sub(0.1 * gradient)
model = build()
model.set_weights(helper.get_weights())
model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
model.fit(x, y, epochs=2, verbose=0)
