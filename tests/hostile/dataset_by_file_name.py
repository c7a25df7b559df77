# Hostile: the data set's file names are served from whatever folder the student names; can they
# reach more than the kernel's copy (the held-out test rows withheld)? Every name, folder and trick
# below must give the kernel's copy or nothing. What each gave is raised at the end, for the host
# to compare with the kernel's copy and with the full store.

# %%
import gzip
import hashlib
import os

import numpy as np

seen = []


def digest(array) -> str:
    return hashlib.sha256(np.ascontiguousarray(array).tobytes()).hexdigest()[:16]


for path in ("mnist.npz", "../datasets/mnist.npz", "/content/drive/MyDrive/mnist.npz", "/proc/self/root/mnist.npz", "~/.keras/datasets/mnist.npz", "/tmp/../mnist.npz"):
    try:
        with np.load(path) as f:
            seen.append(f"npz {path} {digest(f['x_test'])}")
    except Exception as exc:  # noqa: BLE001
        seen.append(f"npz {path} {type(exc).__name__}")

with gzip.open("data/t10k-images-idx3-ubyte.gz", "rb") as f:
    images = np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 28, 28)
seen.append(f"idx {digest(images)}")

try:
    import keras

    path = keras.utils.get_file("whatever", origin="file:///root/.cache/grader/datasets/mnist.npz")  # the store's path on the host
    with np.load(path) as f:
        seen.append(f"get_file_origin {digest(f['x_test'])}")
except Exception as exc:  # noqa: BLE001
    seen.append(f"get_file_origin {type(exc).__name__}")

try:
    with open("../datasets/mnist.npz", "r+b") as f:  # for writing: never served
        f.write(b"poison")
    seen.append("wrote")
except Exception as exc:  # noqa: BLE001
    seen.append(f"write {type(exc).__name__}")

raise RuntimeError("SEEN " + " | ".join(seen))
