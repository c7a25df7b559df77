"""What the grader's hidden first cell runs in the kernel: data offline, output tee, `fit` hooks, seed.

The hidden cell is `from grader.inside.setup import install; install({...})`; the hidden last cell
calls `finish()`. Nothing here is visible in the student's namespace but those two names' effects.
"""

from __future__ import annotations

import functools
import os
import random
import sys
from collections.abc import Callable
from typing import Any

from grader.inside.recorder import Recorder

_RECORDER: list[Recorder] = []  # the one recorder of this kernel process


def install(config: dict[str, Any]) -> None:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import numpy as np

    recorder = Recorder(config["record_path"], config["model_dir"], config["mnist_path"], config.get("limits"))
    _RECORDER.append(recorder)
    seed = config.get("seed")
    if seed is not None:
        random.seed(seed)
        np.random.seed(seed)
    import keras

    if seed is not None:
        keras.utils.set_random_seed(seed)
    _redirect_datasets(recorder, config["mnist_path"], config.get("dataset"))
    _serve_data_files(recorder, config["mnist_path"], config.get("dataset"))
    if config.get("packages") is not None:
        from grader.inside.environment import install as exercise_environment

        exercise_environment(config["packages"])  # a literal import outside them: ModuleNotFoundError; pip install: offline
    _patch_progbar(recorder)
    recorder.install()  # fit, train_on_batch, optimizers and variables (grader.inside.provenance)
    _tee(recorder, "stdout")
    _tee(recorder, "stderr")
    recorder.extra["versions"] = _versions()
    recorder.extra["device"] = _device()
    recorder.extra["seed"] = seed
    recorder.save()


def finish() -> None:
    _RECORDER[-1].finish()


def trained() -> bool:
    """Whether any `fit` ran: the entry function is called only when the cells trained nothing."""
    return bool(_RECORDER[-1].fits)


def _redirect_datasets(recorder: Recorder, store: str, dataset: str | None = None) -> None:
    """`load_data()` of the exercise's data set, at every Keras entry point, returns the kernel's
    copy of the grader's verified store, offline; the other data set's `load_data()` says which one
    to use instead.

    `store` is the kernel's copy (`mnist.npz` or `fashion_mnist.npz`, built by `grader.data.heldout`: the
    held-out test images are not in it, duplicates of other test images fill their slots, the shapes
    are the data set's); `dataset` names what it holds, else its file name tells.
    """
    import numpy as np

    from grader.inside.datafiles import store_dataset

    served = dataset or store_dataset(store)

    def load_data(path: str = "mnist.npz") -> Any:  # the student's `path=` (MNIST) is accepted, noted and ignored
        if path != "mnist.npz" and isinstance(path, (str, os.PathLike)):
            _note(recorder, os.fsdecode(path))
        with np.load(store, allow_pickle=False) as data:
            arrays = {k: data[k].copy() for k in ("x_train", "y_train", "x_test", "y_test")}
        recorder.raw_x_train = arrays["x_train"].copy()
        return (arrays["x_train"], arrays["y_train"]), (arrays["x_test"], arrays["y_test"])

    def elsewhere(name: str) -> Callable[..., Any]:
        def load_data(*args: Any, **kwargs: Any) -> Any:
            raise RuntimeError(
                f"This exercise uses the {_TITLES[served]} data set: load it with "
                f"tf.keras.datasets.{served}.load_data(), not {name}.load_data() (grading is offline)."
            )

        return load_data

    for name in _TITLES:
        for module in _dataset_modules(name):
            module.load_data = load_data if name == served else elsewhere(name)


_TITLES = {"mnist": "MNIST", "fashion_mnist": "Fashion-MNIST"}


def _serve_data_files(recorder: Recorder, store: str, dataset: str | None) -> None:
    """The data set's usual file names, in whatever folder the student names, are the kernel's copy
    (`grader.inside.datafiles`); the paths named are noted in the record for the report."""
    import numpy as np

    from grader.inside import datafiles

    def loaded() -> None:
        if recorder.raw_x_train is None:  # what infers how the student preprocessed the images
            with np.load(store, allow_pickle=False) as data:
                recorder.raw_x_train = data["x_train"].copy()

    noted: list[str] = recorder.extra.setdefault("data_files", [])
    datafiles.install(datafiles.DataFiles(store, dataset or datafiles.store_dataset(store), noted, loaded))


def _note(recorder: Recorder, path: str) -> None:
    noted = recorder.extra.setdefault("data_files", [])
    if path[:300] not in noted and len(noted) < 20:
        noted.append(path[:300])


def _dataset_modules(name: str) -> list[Any]:
    """The modules whose `load_data` a student may call for data set `name`."""
    import importlib

    modules = []
    for module_name in (f"keras.src.datasets.{name}", f"keras.datasets.{name}", f"tensorflow.keras.datasets.{name}"):
        try:
            modules.append(importlib.import_module(module_name))
        except Exception:  # noqa: BLE001 - standalone Keras without TensorFlow's alias
            continue
    try:
        import tensorflow as tf

        modules.append(getattr(tf.keras.datasets, name))
    except Exception:  # noqa: BLE001
        pass
    return list({id(m): m for m in modules}.values())


def _patch_progbar(recorder: Recorder) -> None:
    """Mark writes made by Keras' progress bar, so they are not taken for the student's prints."""
    from keras.src.callbacks.progbar_logger import ProgbarLogger
    from keras.src.utils.progbar import Progbar

    for cls, name in ((Progbar, "update"), (ProgbarLogger, "on_epoch_begin")):
        setattr(cls, name, _marking(recorder, getattr(cls, name)))


def _marking(recorder: Recorder, method: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(method)
    def marked(self: Any, *args: Any, **kwargs: Any) -> Any:
        recorder.local.in_progbar = True
        try:
            return method(self, *args, **kwargs)
        finally:
            recorder.local.in_progbar = False

    return marked


class _Tee:
    """A stream that forwards everything and shows each write to the recorder first."""

    def __init__(self, stream: Any, recorder: Recorder) -> None:
        self._stream, self._recorder = stream, recorder

    def write(self, text: str) -> int:
        self._recorder.on_write(text)
        return self._stream.write(text)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


def _tee(recorder: Recorder, name: str) -> None:
    setattr(sys, name, _Tee(getattr(sys, name), recorder))


def _versions() -> dict[str, str]:
    import platform

    import keras

    versions = {"python": platform.python_version(), "keras": keras.__version__}
    try:
        import tensorflow as tf

        versions["tensorflow"] = tf.__version__
    except Exception:  # noqa: BLE001
        pass
    return versions


def _device() -> str:
    try:
        import tensorflow as tf

        gpus = tf.config.list_physical_devices("GPU")
        return f"GPU ({len(gpus)})" if gpus else "CPU"
    except Exception:  # noqa: BLE001
        return "CPU"
