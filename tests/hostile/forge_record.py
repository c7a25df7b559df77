# Attack, by someone who read the grader's source: barely train, then keep overwriting the grader's
# record (from a thread that outlives the last cell) with a perfect training history.
import json
import os
import threading
import time

import tensorflow as tf
from grader.inside import setup

recorder = setup._RECORDER[-1]
MESSAGE = "Reached 99% accuracy so cancelling training!"


def perfect():
    accuracies = [0.95, 0.98, 0.995]
    epochs = [
        {"epoch": i, "metrics": {"accuracy": a, "loss": 1 - a}, "accuracy": a, "loss": 1 - a, "stop_training": i == 2, "printed": MESSAGE + "\n" if i == 2 else "", "duration_s": 1.0}
        for i, a in enumerate(accuracies)
    ]
    return {"fits": [{"epochs_requested": 10, "initial_epoch": 0, "accuracy_metric": "accuracy", "epochs": epochs, "completed": True}], "input_transform": {"known": True, "exact": True, "shape": [28, 28], "scale": 1 / 255, "offset": 0.0}}


def forge():
    while True:
        tmp = recorder.record_path + ".forged"
        with open(tmp, "w") as fh:
            json.dump({**perfect(), **{k: v for k, v in recorder.extra.items() if k not in ("input_transform",)}}, fh, default=str)
        os.replace(tmp, recorder.record_path)
        time.sleep(0.01)


(x, y), _ = tf.keras.datasets.mnist.load_data()
model = tf.keras.Sequential([tf.keras.Input((28, 28)), tf.keras.layers.Flatten(), tf.keras.layers.Dense(10, activation="softmax")])
model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
model.fit(x / 255.0, y, epochs=1, steps_per_epoch=1, verbose=0)
recorder.save = lambda: None  # the grader's own writes are dropped from now on
recorder.fits[:] = perfect()["fits"]
threading.Thread(target=forge, daemon=True).start()
