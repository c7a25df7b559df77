"""Fashion-MNIST: provisioning from every source (offline, on small fake idx files whose hashes are
pinned for the test), the real Debian files when installed, and the kernel serving it."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import struct
import subprocess
import sys
import textwrap
import urllib.error
import urllib.request
from pathlib import Path

import nbformat
import numpy as np
import pytest

from grader.data import datasets, fashion_mnist_sources
from grader.data.datasets import (
    FASHION_FILES,
    KEYS,
    dataset_path,
    ensure_dataset,
    ensure_fashion_mnist,
    fashion_mnist_path,
    fetch_dataset,
    fetch_fashion_mnist,
    load_fashion_mnist,
    store_dataset,
    verify_fashion_mnist,
)
from grader.errors import DatasetError
from tests.support.recordings import fake_arrays

REAL_SHA256 = dict(datasets.FASHION_MNIST_SHA256)
DEBIAN = Path("/usr/share/datasets/fashion-mnist")
# The MD5 checksums the Fashion-MNIST README publishes for the original files, and the gzip time
# stamps of the originals in zalandoresearch/fashion-mnist (Debian's copies drop name and stamp).
PUBLISHED_MD5 = {
    "train-images-idx3-ubyte": ("8d4fb7e6c68d591d4c3dfef9ec88bf0d", 0x59A7E9DE),
    "train-labels-idx1-ubyte": ("25c81989df183df01b3e8a0aad5dffbe", 0x59A7E9DE),
    "t10k-images-idx3-ubyte": ("bef4ecab320f06d8554ea6380940ec79", 0x59A7E9F3),
    "t10k-labels-idx1-ubyte": ("bb300cfdad3c16e7a12a480ee83cd310", 0x59A7E9F3),
}


def _sha(a: np.ndarray) -> str:
    return hashlib.sha256(a.tobytes()).hexdigest()


@pytest.fixture
def arrays() -> dict[str, np.ndarray]:
    return fake_arrays(1)


@pytest.fixture(autouse=True)
def offline(monkeypatch, tmp_path):
    """Empty Keras cache, no Debian folder, no network."""
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    monkeypatch.setenv("GRADER_DATA_DIR", str(tmp_path / "default-data"))
    monkeypatch.setattr(fashion_mnist_sources, "FASHION_DEBIAN_DIR", tmp_path / "debian")

    def no_network(*args, **kwargs):
        raise urllib.error.URLError("offline (test)")

    monkeypatch.setattr(urllib.request, "urlopen", no_network)


@pytest.fixture
def pinned(monkeypatch, arrays):
    for key, a in arrays.items():
        monkeypatch.setitem(datasets.FASHION_MNIST_SHA256, key, _sha(a))
    return arrays


def idx_bytes(key: str, array: np.ndarray) -> bytes:
    """The idx encoding of one array, as in the original files."""
    header = struct.pack(">IIII", 0x803, *array.shape) if key.startswith("x") else struct.pack(">II", 0x801, len(array))
    return header + array.tobytes()


def idx_folder(folder: Path, arrays, compressed: bool = True) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for key, name in FASHION_FILES.items():
        raw = idx_bytes(key, arrays[key])
        if compressed:
            (folder / name).write_bytes(gzip.compress(raw))
        else:
            (folder / name[: -len(".gz")]).write_bytes(raw)
    return folder


def assert_store(path: Path, arrays) -> None:
    (x_train, y_train), (x_test, y_test) = load_fashion_mnist(path)
    for key, got in zip(KEYS, (x_train, y_train, x_test, y_test), strict=True):
        np.testing.assert_array_equal(got, arrays[key])
        assert got.dtype == np.uint8
    assert path.name == "fashion_mnist.npz" and path.with_name(path.name + ".verified").is_file()


# --------------------------------------------------------------------------- sources


def test_a_named_folder_of_idx_files_gz_or_not(pinned, tmp_path):
    for compressed in (True, False):
        lines: list[str] = []
        src = idx_folder(tmp_path / f"src{compressed}", pinned, compressed)
        path = fetch_fashion_mnist(tmp_path / "data", source=src, log=lines.append)
        assert path == tmp_path / "data" / "fashion_mnist.npz"
        assert_store(path, pinned)
        assert len(lines) == 1 and "verified" in lines[0]


def test_a_named_npz_in_keras_layout(pinned, tmp_path):
    src = tmp_path / "fashion.npz"
    np.savez_compressed(src, **pinned)
    assert_store(fetch_fashion_mnist(tmp_path / "data", source=src), pinned)


def test_a_corrupted_source_is_rejected_naming_the_array(pinned, tmp_path):
    bad = dict(pinned, y_test=(pinned["y_test"] + 1) % 10)
    with pytest.raises(DatasetError, match="y_test") as info:
        fetch_fashion_mnist(tmp_path / "data", source=idx_folder(tmp_path / "bad", bad))
    assert "x_train" not in str(info.value) and not fashion_mnist_path(tmp_path / "data").exists()


def test_broken_idx_files_are_named(pinned, tmp_path):
    folder = idx_folder(tmp_path / "src", pinned)
    (folder / "t10k-labels-idx1-ubyte.gz").write_bytes(gzip.compress(b"\x00\x00\x08\x03" + b"\x00" * 20))
    with pytest.raises(DatasetError, match="t10k-labels-idx1-ubyte.gz: not an idx file of labels"):
        fetch_fashion_mnist(tmp_path / "data", source=folder)
    (folder / "t10k-labels-idx1-ubyte.gz").write_bytes(gzip.compress(struct.pack(">II", 0x801, 5) + b"\x01\x02"))
    with pytest.raises(DatasetError, match="header says"):
        fetch_fashion_mnist(tmp_path / "data", source=folder)
    (folder / "t10k-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(DatasetError, match="t10k-labels-idx1-ubyte.gz not present"):
        fetch_fashion_mnist(tmp_path / "data", source=folder)
    with pytest.raises(DatasetError, match="no such file or folder"):
        fetch_fashion_mnist(tmp_path / "data", source=tmp_path / "absent")
    junk = tmp_path / "junk.bin"
    junk.write_bytes(b"junk")
    with pytest.raises(DatasetError, match="neither a folder"):
        fetch_fashion_mnist(tmp_path / "data", source=junk)


def test_keras_cache_comes_first_then_debian(pinned, tmp_path, monkeypatch):
    idx_folder(tmp_path / "debian", pinned)
    lines: list[str] = []
    assert_store(fetch_fashion_mnist(tmp_path / "data", log=lines.append), pinned)
    assert [line.split(":")[1].strip() for line in lines] == ["Keras cache", "Debian dataset-fashion-mnist"]
    idx_folder(tmp_path / "keras" / "datasets" / "fashion-mnist", pinned)
    monkeypatch.setattr(fashion_mnist_sources, "FASHION_DEBIAN_DIR", tmp_path / "nowhere")
    lines.clear()
    assert_store(fetch_fashion_mnist(tmp_path / "data2", log=lines.append), pinned)
    assert len(lines) == 1 and lines[0].startswith("fashion_mnist: Keras cache: verified")


def test_the_download_is_used_when_reachable(pinned, tmp_path, monkeypatch):
    served = {datasets.FASHION_URLS[1] + name: gzip.compress(idx_bytes(key, pinned[key])) for key, name in FASHION_FILES.items()}
    asked: list[str] = []

    def urlopen(url, timeout):
        asked.append(url)
        if url not in served:  # the first mirror is down
            raise urllib.error.URLError("down (test)")
        return io.BytesIO(served[url])

    monkeypatch.setattr(urllib.request, "urlopen", urlopen)
    lines: list[str] = []
    assert_store(fetch_fashion_mnist(tmp_path / "data", log=lines.append), pinned)
    assert lines[-1].startswith("fashion_mnist: download: verified")
    assert asked[0].startswith(datasets.FASHION_URLS[0]) and len(asked) == 5


def test_all_sources_failing_gives_an_actionable_error(pinned, tmp_path):
    lines: list[str] = []
    with pytest.raises(DatasetError) as info:
        fetch_fashion_mnist(tmp_path / "data", log=lines.append)
    message = str(info.value)
    assert "apt-get install dataset-fashion-mnist" in message and "--from FOLDER" in message
    assert "Keras cache" in message and "Debian" in message and "offline (test)" in message
    assert len(lines) == 3
    with pytest.raises(DatasetError):
        fetch_fashion_mnist(tmp_path / "data", allow_download=False, log=lines.append)
    assert len(lines) == 5  # the download was not tried


def test_ensure_does_not_refetch(pinned, tmp_path, monkeypatch):
    idx_folder(tmp_path / "debian", pinned)
    path = ensure_fashion_mnist(log=lambda _: None)
    assert path == tmp_path / "default-data" / "fashion_mnist.npz"

    def refetch(*args, **kwargs):
        raise AssertionError("fetched again")

    monkeypatch.setattr(datasets, "fetch_fashion_mnist", refetch)
    assert ensure_fashion_mnist(log=refetch) == path
    path.with_name("fashion_mnist.npz.verified").unlink()  # re-hashed, found good, recorded again
    assert ensure_fashion_mnist(log=refetch) == path and path.with_name("fashion_mnist.npz.verified").is_file()


def test_ensure_replaces_a_bad_store(pinned, tmp_path):
    idx_folder(tmp_path / "debian", pinned)
    path = tmp_path / "data" / "fashion_mnist.npz"
    path.parent.mkdir()
    np.savez(path, **dict(pinned, y_train=pinned["y_train"] * 0))
    lines: list[str] = []
    assert ensure_fashion_mnist(tmp_path / "data", log=lines.append) == path
    assert "does not verify" in lines[0]
    assert_store(path, pinned)


def test_by_name(pinned, tmp_path):
    idx_folder(tmp_path / "debian", pinned)
    assert ensure_dataset("fashion_mnist", tmp_path / "d", log=lambda _: None) == dataset_path("fashion_mnist", tmp_path / "d")
    assert fetch_dataset("fashion_mnist", tmp_path / "e", source=tmp_path / "debian", log=lambda _: None).name == "fashion_mnist.npz"
    assert dataset_path("mnist", tmp_path) == tmp_path / "mnist.npz"
    assert store_dataset(tmp_path / "fashion_mnist.npz") == "fashion_mnist" and store_dataset("/x/mnist.npz") == "mnist"
    with pytest.raises(DatasetError, match="unknown data set 'cifar10'"):
        ensure_dataset("cifar10")


def test_mnist_hashes_are_unchanged():
    assert datasets.MNIST_SHA256["x_train"].startswith("741c9888")
    assert datasets.STORE_NAME == "mnist.npz" and datasets.FASHION_STORE_NAME == "fashion_mnist.npz"


# --------------------------------------------------------------------------- the real files


@pytest.mark.skipif(not DEBIAN.is_dir(), reason="apt-get install dataset-fashion-mnist")
def test_debian_files_are_the_published_originals():
    """With the gzip header Debian dropped put back, each file has the published MD5 checksum."""
    for name, (md5, mtime) in PUBLISHED_MD5.items():
        raw = (DEBIAN / f"{name}.gz").read_bytes()
        assert raw[:4] == b"\x1f\x8b\x08\x00"  # no FNAME: the name was dropped
        original = b"\x1f\x8b\x08\x08" + struct.pack("<I", mtime) + raw[8:10] + name.encode() + b"\0" + raw[10:]
        assert hashlib.md5(original).hexdigest() == md5, name


@pytest.mark.skipif(not DEBIAN.is_dir(), reason="apt-get install dataset-fashion-mnist")
def test_real_debian_files_verify_against_the_pinned_hashes(tmp_path, monkeypatch):
    monkeypatch.setattr(fashion_mnist_sources, "FASHION_DEBIAN_DIR", DEBIAN)
    path = fetch_fashion_mnist(tmp_path / "data", allow_download=False, log=lambda _: None)
    (x_train, y_train), (x_test, y_test) = load_fashion_mnist(path)
    assert x_train.shape == (60000, 28, 28) and x_test.shape == (10000, 28, 28)
    assert np.bincount(y_train).tolist() == [6000] * 10 and np.bincount(y_test).tolist() == [1000] * 10
    assert verify_fashion_mnist({"x_train": x_train, "y_train": y_train, "x_test": x_test, "y_test": y_test}) == []
    assert json.loads(path.with_name("fashion_mnist.npz.verified").read_text())["sha256"] == REAL_SHA256


# --------------------------------------------------------------------------- in the kernel


@pytest.fixture(scope="module")
def fashion_store(tmp_path_factory) -> Path:
    from grader.data.datasets import ensure_fashion_mnist as ensure

    try:
        return ensure(log=lambda _: None)
    except DatasetError as exc:
        pytest.skip(f"Fashion-MNIST is not available here: {exc}")


@pytest.mark.kernel
def test_the_kernel_serves_fashion_mnist_and_names_the_right_loader(tmp_path, fashion_store):
    from grader.run.execute import RunSpec, execute

    source = textwrap.dedent(
        """
        import tensorflow as tf, keras
        from tensorflow.keras.datasets import fashion_mnist
        (a, b), (c, d) = fashion_mnist.load_data()
        (e, f), _ = keras.datasets.fashion_mnist.load_data()
        assert a.shape == (60000, 28, 28) and c.shape == (10000, 28, 28) and a.dtype.name == "uint8"
        assert (a == e).all() and list(b[:5]) == [9, 0, 0, 3, 0]
        try:
            tf.keras.datasets.mnist.load_data()
        except RuntimeError as exc:
            assert "fashion_mnist.load_data()" in str(exc), exc
        else:
            raise AssertionError("mnist.load_data() served the wrong data set")
        """
    )
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source)])
    spec = RunSpec(workdir=tmp_path / "work", rundir=tmp_path / "run", mnist_path=fashion_store, timeout_s=120)
    info = execute(notebook, spec)
    assert info.status == "ok", info.traceback or info.message


def test_cli_fetches_fashion_mnist_from_a_folder(pinned, tmp_path, capsys):
    from grader.cli.main import main

    src = idx_folder(tmp_path / "src", pinned)
    # the CLI runs in-process here, so the pinned (fake) hashes apply
    assert main(["data", "fetch", "fashion_mnist", "--from", str(src), "--data-dir", str(tmp_path / "d")]) == 0
    assert "fashion_mnist: ready at" in capsys.readouterr().out


def test_datasets_module_stays_free_of_tensorflow():
    out = subprocess.run(
        [sys.executable, "-c", "import sys, grader.data.datasets; print('tensorflow' in sys.modules)"],
        capture_output=True, text=True, check=True,
    ).stdout
    assert out.strip() == "False"
