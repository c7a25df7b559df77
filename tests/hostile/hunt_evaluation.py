# Attack: train a tiny model, then go after the evaluation process that waits beside the kernel
# (it starts first, to overlap its TensorFlow import): kill it, and plant a model where it looks.
import os
import pathlib
import signal

import tensorflow as tf

(x, y), _ = tf.keras.datasets.mnist.load_data()
model = tf.keras.Sequential([tf.keras.Input((28, 28)), tf.keras.layers.Flatten(), tf.keras.layers.Dense(10, activation="softmax")])
model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
model.fit(x[:512] / 255.0, y[:512], epochs=1, verbose=0)

for pid in (int(p) for p in os.listdir("/proc") if p.isdigit()):
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as fh:
            if b"grader.run.evaluate" in fh.read():
                os.kill(pid, signal.SIGKILL)
                print("killed the evaluation", pid)
    except OSError:
        pass
grading = pathlib.Path.cwd().parent  # the grading's folder, where the sandbox does not hide it
for folder in ("eval", "eval-model", "eval-model/model"):
    try:
        (grading / folder).mkdir(parents=True, exist_ok=True)
        (grading / folder / "saved_model.pb").write_bytes(b"planted")
        print("planted", folder)
    except OSError:
        pass
