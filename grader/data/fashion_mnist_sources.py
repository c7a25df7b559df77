"""Where Fashion-MNIST (Zalando Research) comes from: the four original idx files, in a folder the user
names, the Keras cache, the folder of Debian's ``dataset-fashion-mnist`` package, or the download.

It has MNIST's layout (uint8 28x28 images, labels 0-9). The pinned hashes are of the arrays,
computed from the files of Debian's `dataset-fashion-mnist` (2020-06). Those files differ from the
originals only in the gzip header (Debian's drop the file name and the time stamp): with the
original header put back, all four have the MD5 checksums published in the Fashion-MNIST README
(8d4fb7e6..., 25c81989..., bef4ecab..., bb300cfd...), and their compressed streams are
byte-identical to the originals in zalandoresearch/fashion-mnist.
"""

from __future__ import annotations

import gzip
import io
from pathlib import Path

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

FASHION_MNIST = "fashion_mnist"
FASHION_MNIST_SHA256: dict[str, str] = {
    "x_train": "2e487a6c89124f78f2d7521542223cafe96f7123c3ca13d447772ac6ecbb3012",
    "y_train": "657fbd221bfc9f4198cc14b5619cc33ec57c58dd0e47af4d99d6650759e869a7",
    "x_test": "c867c93ff95360594e8ec3287995350b824dd110b11595c0e13d5423f621867a",
    "y_test": "3d0e6c6ea990b53b6f8f500a41cac93881d981b315f84578b7d915342ade01e9",
}
FASHION_FILES: dict[str, str] = {
    "x_train": "train-images-idx3-ubyte.gz",
    "y_train": "train-labels-idx1-ubyte.gz",
    "x_test": "t10k-images-idx3-ubyte.gz",
    "y_test": "t10k-labels-idx1-ubyte.gz",
}
FASHION_URLS = (  # tried in order, each for all four files: Keras' mirror, then Zalando's
    "https://storage.googleapis.com/tensorflow/tf-keras-datasets/",
    "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
)
FASHION_DEBIAN_DIR = Path("/usr/share/datasets/fashion-mnist")  # `apt-get install dataset-fashion-mnist`
FASHION_STORE_NAME = STORES["fashion_mnist"]
_MAX_IDX_BYTES = 64 * 2**20  # the largest file, train images, is 47,040,016 bytes uncompressed


def keras_fashion_dir() -> Path:
    """Where ``keras.datasets.fashion_mnist.load_data()`` caches the four files."""
    return keras_datasets_dir() / "fashion-mnist"


def _idx_array(raw: bytes, key: str, where: str) -> np.ndarray:
    """One idx file (gzip-compressed or not) as the uint8 array Keras' loader builds from it."""
    if raw[:2] == b"\x1f\x8b":
        try:
            with gzip.GzipFile(fileobj=io.BytesIO(raw)) as stream:
                raw = stream.read(_MAX_IDX_BYTES + 1)
        except (OSError, EOFError) as exc:
            raise DatasetError(f"{where}: cannot decompress: {exc}") from exc
        if len(raw) > _MAX_IDX_BYTES:
            raise DatasetError(f"{where}: too large for an idx file of Fashion-MNIST")
    images = key.startswith("x")
    magic, header = (b"\x00\x00\x08\x03", 16) if images else (b"\x00\x00\x08\x01", 8)
    if len(raw) < header or raw[:4] != magic:
        raise DatasetError(f"{where}: not an idx file of {'images' if images else 'labels'}")
    count = int.from_bytes(raw[4:8], "big")
    shape = (count, int.from_bytes(raw[8:12], "big"), int.from_bytes(raw[12:16], "big")) if images else (count,)
    if len(raw) - header != int(np.prod(shape)):
        raise DatasetError(f"{where}: idx header says {shape}, but the file holds {len(raw) - header} bytes")
    return np.frombuffer(raw, np.uint8, offset=header).reshape(shape).copy()


def read_idx_folder(folder: Path) -> Arrays:
    """The four idx files in ``folder`` (``*.gz`` as published, or already decompressed), not verified."""
    arrays: Arrays = {}
    for key, name in FASHION_FILES.items():
        path = next((p for p in (folder / name, folder / name[: -len(".gz")]) if p.is_file()), None)
        if path is None:
            raise DatasetError(f"{folder}: {name} not present")
        try:
            raw = path.read_bytes()
        except OSError as exc:
            raise DatasetError(f"{path}: cannot read: {exc}") from exc
        arrays[key] = _idx_array(raw, key, str(path))
    return arrays


def read_fashion_source(path: Path) -> Arrays:
    """A source the user names: a folder of the four idx files, or a ``.npz`` in Keras' layout (not verified)."""
    if path.is_dir():
        return read_idx_folder(path)
    if not path.is_file():
        raise DatasetError(f"{path}: no such file or folder")
    with path.open("rb") as f:
        magic = f.read(2)
    if magic != b"PK":
        raise DatasetError(
            f"{path}: neither a folder holding {', '.join(FASHION_FILES.values())} nor an .npz"
        )
    return read_npz(path, str(path))


def _from_folder(folder: Path) -> Arrays:
    return FASHION.checked(read_idx_folder(folder), str(folder))


def _from_download() -> Arrays:
    """The four files from the first mirror that serves all of them, verified."""
    failures = []
    for base in FASHION_URLS:
        try:
            arrays = {key: _idx_array(download(base + name), key, base + name) for key, name in FASHION_FILES.items()}
            return FASHION.checked(arrays, base)
        except DatasetError as exc:
            failures.append(str(exc))
    raise DatasetError("; ".join(failures))


def automatic_sources(*, allow_download: bool) -> list[Source]:
    """The sources tried in order when none is named."""
    sources: list[Source] = [
        ("Keras cache", lambda: _from_folder(keras_fashion_dir())),
        ("Debian dataset-fashion-mnist", lambda: _from_folder(FASHION_DEBIAN_DIR)),
    ]
    if allow_download:
        sources.append(("download", _from_download))
    return sources


def _advice() -> str:
    return (
        "Fix: `apt-get install dataset-fashion-mnist` (Debian/Ubuntu), or on a machine with internet "
        f"download the four files {', '.join(FASHION_FILES.values())} from {FASHION_URLS[0]}, bring "
        f"them here and run `grader data fetch fashion_mnist --from FOLDER`, or copy them to {keras_fashion_dir()}."
    )


FASHION = DataSet(
    FASHION_MNIST, "Fashion-MNIST", FASHION_STORE_NAME, FASHION_MNIST_SHA256,
    read_named=read_fashion_source, advice=_advice,
)
