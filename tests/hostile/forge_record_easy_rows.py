# Attack, by someone who read the grader's source: the evaluation checks the recorded training
# accuracy on the rows the record says fit got. Barely train, then keep overwriting the record with
# a perfect history whose input transform says fit got the first three rows only (which a weak
# model may well get right).
import json
import os
import threading
import time

import tensorflow as tf
from grader.inside import setup

recorder = setup._RECORDER[-1]
MESSAGE = "Reached 99% accuracy so cancelling training!"
(x, y), _ = tf.keras.datasets.mnist.load_data()
model = tf.keras.Sequential([tf.keras.Input((28, 28)), tf.keras.layers.Flatten(), tf.keras.layers.Dense(10, activation="softmax")])
model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
model.fit(x / 255.0, y, epochs=1, steps_per_epoch=8, verbose=0)  # a weak model
right = model.predict(x[:3] / 255.0, verbose=0).argmax(axis=1) == y[:3]
rows = 3  # the record says fit got these three


def perfect():
    accuracies = [0.95, 0.98, 0.995]
    epochs = [
        {"epoch": i, "metrics": {"accuracy": a, "loss": 1 - a}, "accuracy": a, "loss": 1 - a, "stop_training": i == 2, "printed": MESSAGE + "\n" if i == 2 else "", "duration_s": 1.0}
        for i, a in enumerate(accuracies)
    ]
    transform = {"known": True, "exact": True, "shape": [28, 28], "scale": 1 / 255, "offset": 0.0, "rows": rows}
    return {"fits": [{"epochs_requested": 10, "initial_epoch": 0, "accuracy_metric": "accuracy", "epochs": epochs, "completed": True}], "input_transform": transform}


def forge():
    while True:
        tmp = recorder.record_path + ".forged"
        with open(tmp, "w") as fh:
            json.dump({**{k: v for k, v in recorder.extra.items() if k != "input_transform"}, **perfect()}, fh, default=str)
        os.replace(tmp, recorder.record_path)
        time.sleep(0.01)


recorder.save = lambda: None  # the grader's own writes are dropped from now on
recorder.fits[:] = perfect()["fits"]
recorder.extra["input_transform"] = perfect()["input_transform"]
threading.Thread(target=forge, daemon=True).start()
print("of the first three rows, right:", right.tolist())
