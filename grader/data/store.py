"""The provisioning shared by every data set: one verified store file, filled from the first source that works.

A data set is described by a :class:`DataSet` (its name, pinned hashes and how to read a file the
user names); :func:`fetch` fills ``<data dir>/<store name>`` (an uncompressed ``.npz`` in Keras'
layout) from the first of its sources that works, :func:`ensure` only when the store is missing or
does not verify. The store is checked by content before every use: a sidecar file records the
SHA-256 of the bytes of each store whose arrays verified, and :func:`file_digest` hashes the file
(about 40 ms), once per process for as long as the file's inode is unchanged. Sizes and time stamps
are not trusted: a write that puts the mtime back still changes the file's bytes and its ctime.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import sys
import threading
import urllib.request
import zipfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from grader.common.files import atomic_write
from grader.errors import DatasetError

Arrays = dict[str, np.ndarray]
Log = Callable[[str], None]
STORE_MODE = 0o644  # the store's files: atomic_write's temporary file would be 0600, and the store may be shared
Source = tuple[str, Callable[[], Arrays]]
"""A label for the log and a reader that returns the source's arrays verified, or raises DatasetError."""
TrainAndTest = tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]

KEYS = ("x_train", "y_train", "x_test", "y_test")
SIDECAR_SUFFIX = ".verified"
CONNECT_TIMEOUT_S = 10.0
DOWNLOAD_TIMEOUT_S = 300.0
_MAX_DOWNLOAD_BYTES = 64 * 2**20
_HASH_BLOCK = 1 << 20
_DIGESTS: dict[tuple[str, int, int, int, int, int], str] = {}  # file_digest's cache, per process


def log_stderr(message: str) -> None:
    """The default log: one line on stderr."""
    print(message, file=sys.stderr, flush=True)


def default_data_dir() -> Path:
    """``$GRADER_DATA_DIR``, else ``$XDG_CACHE_HOME/grader/datasets``, else ``~/.cache/...``."""
    if os.environ.get("GRADER_DATA_DIR"):
        return Path(os.environ["GRADER_DATA_DIR"]).expanduser()
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache).expanduser() / "grader" / "datasets"


def keras_datasets_dir() -> Path:
    """Where Keras caches what ``load_data()`` downloads: ``$KERAS_HOME/datasets``, else ``~/.keras/datasets``."""
    home = os.environ.get("KERAS_HOME") or str(Path.home() / ".keras")
    return Path(home).expanduser() / "datasets"


@dataclass(frozen=True)
class DataSet:
    """One data set of uint8 28x28 images and their labels, as Keras' ``load_data()`` returns it."""

    name: str  # in log lines and on the command line
    title: str  # in messages
    store_name: str  # the store file's name in the data directory
    sha256: Mapping[str, str]  # the pinned SHA-256 of each array's bytes, by key
    read_named: Callable[[Path], Arrays]  # reads a file or folder the user names (not yet verified)
    advice: Callable[[], str]  # what to do by hand when no source works

    def path(self, data_dir: Path | None = None) -> Path:
        """Where the verified store file lives (whether or not it exists yet)."""
        return Path(data_dir if data_dir is not None else default_data_dir()) / self.store_name

    def verify(self, arrays: Mapping[str, np.ndarray]) -> list[str]:
        """Names of the arrays that are missing or do not match their pinned SHA-256 (empty if fine)."""
        bad = []
        for key in KEYS:
            a, tail = arrays.get(key), ((28, 28) if key.startswith("x") else ())
            if (
                not isinstance(a, np.ndarray)
                or a.dtype != np.uint8
                or a.ndim != 1 + len(tail)
                or a.shape[1:] != tail
                or hashlib.sha256(np.ascontiguousarray(a).tobytes()).hexdigest() != self.sha256[key]
            ):
                bad.append(key)
        return bad

    def checked(self, arrays: Arrays, where: str) -> Arrays:
        """``arrays`` if they verify, else a DatasetError naming ``where`` and the arrays that do not."""
        bad = self.verify(arrays)
        if bad:
            raise DatasetError(
                f"{where}: {self.title} arrays do not match the pinned SHA-256: {', '.join(bad)} "
                "(corrupted or a different version of the data set)"
            )
        return arrays


def read_npz(data: Path | bytes, where: str) -> Arrays:
    """The four arrays of a Keras-layout ``.npz`` (compressed or not), never unpickling."""
    try:
        with np.load(io.BytesIO(data) if isinstance(data, bytes) else data, allow_pickle=False) as z:
            missing = [k for k in KEYS if k not in z.files]
            if missing:
                raise DatasetError(f"{where}: not an MNIST .npz, missing {', '.join(missing)}")
            return {k: z[k] for k in KEYS}
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as exc:
        raise DatasetError(f"{where}: cannot read as .npz: {exc}") from exc


def load_store(path: Path) -> TrainAndTest:
    """``((x_train, y_train), (x_test, y_test))`` of a store file, as Keras' ``load_data()`` gives them."""
    a = read_npz(Path(path), str(path))
    return (a["x_train"], a["y_train"]), (a["x_test"], a["y_test"])


def download(url: str) -> bytes:
    """The body at ``url``, else a DatasetError saying it is unreachable (no answer in ``CONNECT_TIMEOUT_S``)."""
    try:
        return _get(url, CONNECT_TIMEOUT_S, DOWNLOAD_TIMEOUT_S)
    except Exception as exc:
        reason = getattr(exc, "reason", None) or exc
        raise DatasetError(f"{url}: unreachable ({reason})") from exc


def _get(url: str, connect_timeout: float, total_timeout: float) -> bytes:
    """GET ``url``; gives up after ``connect_timeout`` s without an answer (DNS included)."""
    result: dict[str, Any] = {}
    answered = threading.Event()

    def worker() -> None:
        try:
            with urllib.request.urlopen(url, timeout=connect_timeout) as response:
                answered.set()
                result["data"] = response.read(_MAX_DOWNLOAD_BYTES)
        except BaseException as exc:  # noqa: BLE001 - handed to the caller below
            result["error"] = exc
        finally:
            answered.set()

    thread = threading.Thread(target=worker, name="dataset-download", daemon=True)
    thread.start()
    if not answered.wait(connect_timeout):
        raise TimeoutError(f"no answer within {connect_timeout:.0f} s")
    thread.join(total_timeout)
    if thread.is_alive():
        raise TimeoutError(f"not finished within {total_timeout:.0f} s")
    if "error" in result:
        raise result["error"]
    return result["data"]


def fetch(dataset: DataSet, data_dir: Path | None, *, source: Path | None, sources: Sequence[Source], log: Log) -> Path:
    """Fill the store of ``dataset`` and return its path: from ``source`` if given (the only one
    tried), else from the first of ``sources`` that works."""
    path = dataset.path(data_dir)
    _make_dir(path.parent)
    if source is not None:
        source = Path(source).expanduser()
        _write_store(dataset.checked(dataset.read_named(source), str(source)), path, dataset.sha256)
        log(f"{dataset.name}: {source}: verified, stored in {path}")
        return path
    failures = []
    for label, read in sources:
        try:
            arrays = read()
        except DatasetError as exc:
            log(f"{dataset.name}: {label}: {exc}")
            failures.append(f"  - {label}: {exc}")
            continue
        _write_store(arrays, path, dataset.sha256)
        log(f"{dataset.name}: {label}: verified, stored in {path}")
        return path
    raise DatasetError(f"could not provision {dataset.title}; tried:\n" + "\n".join(failures) + "\n" + dataset.advice())


def ensure(dataset: DataSet, data_dir: Path | None, *, refetch: Callable[[], Path], log: Log) -> Path:
    """The verified store path of ``dataset``, calling ``refetch`` first if it is missing or does not
    verify. Called before every use: the file's bytes are compared with the digest its sidecar
    recorded when its arrays last verified (:func:`file_digest`), and any difference, even with the
    size and mtime of the original, means the arrays are verified again and, failing that, fetched."""
    path = dataset.path(data_dir)
    if path.is_file():
        if _store_is_recorded(path, dataset.sha256):
            return path
        try:
            ok = not dataset.verify(read_npz(path, str(path)))
        except DatasetError:
            ok = False
        if ok:
            with contextlib.suppress(OSError):  # a read-only store is fine, just re-hashed each time
                _record_store(path, dataset.sha256)
            return path
        log(f"{dataset.name}: {path} does not verify; provisioning it again")
    else:
        log(f"{dataset.name}: {path} not present; provisioning it (once)")
    return refetch()


def _make_dir(directory: Path) -> None:
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DatasetError(
            f"cannot create the data directory {directory}: {exc}; set GRADER_DATA_DIR to a writable folder"
        ) from exc


def _write_store(arrays: Arrays, path: Path, hashes: Mapping[str, str]) -> None:
    try:
        # numpy's stub lets **arrays fill savez's allow_pickle (numpy >= 2.1); the keys here are KEYS
        atomic_write(path, lambda f: np.savez(f, **{k: arrays[k] for k in KEYS}), mode=STORE_MODE)  # type: ignore[arg-type]
        _record_store(path, hashes)
    except OSError as exc:
        raise DatasetError(f"cannot write {path}: {exc}; set GRADER_DATA_DIR to a writable folder") from exc


def file_digest(path: Path) -> str:
    """The SHA-256 of the bytes of ``path``, hashed once per process while the file is unchanged.

    The cache key is the file's identity and inode times: any write changes the ctime, and no
    system call sets it back (``os.utime`` restoring the mtime sets the ctime to now), so a file
    changed behind our back is hashed again, not taken from the cache.
    """
    before = os.stat(path)
    key = _digest_key(path, before)
    digest = _DIGESTS.get(key)
    if digest is None:
        sha = hashlib.sha256()
        with open(path, "rb") as f:
            for block in iter(lambda: f.read(_HASH_BLOCK), b""):
                sha.update(block)
        digest = sha.hexdigest()
        if _digest_key(path, os.stat(path)) == key:  # not changed while it was read
            _DIGESTS[key] = digest
    return digest


def _digest_key(path: Path, st: os.stat_result) -> tuple[str, int, int, int, int, int]:
    return (str(path), st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


def _sidecar(path: Path) -> Path:
    return path.with_name(path.name + SIDECAR_SUFFIX)


def _sidecar_record(path: Path, hashes: Mapping[str, str]) -> dict[str, Any]:
    return {"sha256": dict(hashes), "file_sha256": file_digest(path), "size": path.stat().st_size}


def _record_store(path: Path, hashes: Mapping[str, str]) -> None:
    """Write the sidecar saying that ``path``, byte for byte as it is now, holds the arrays pinned by
    ``hashes`` (the caller verified them)."""
    record = json.dumps(_sidecar_record(path, hashes), indent=1).encode()
    atomic_write(_sidecar(path), record, mode=STORE_MODE)


def _store_is_recorded(path: Path, hashes: Mapping[str, str]) -> bool:
    """Whether the sidecar vouches for ``path`` as it is now: same pinned hashes, same bytes."""
    try:
        recorded = json.loads(_sidecar(path).read_text())
        return isinstance(recorded, dict) and recorded == _sidecar_record(path, hashes)
    except (OSError, ValueError):
        return False
