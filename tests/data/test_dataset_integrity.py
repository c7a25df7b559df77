"""The data store cannot be changed from inside: the kernel gets a private read-only copy, never the
store; and the store is checked by content before every use, so a store rewritten with its size and
mtime put back is provisioned again (or refused) instead of grading with poisoned labels."""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from grader.assignment import find_assignment
from grader.data import datasets
from grader.data import store as dataset_store
from grader.data.datasets import MNIST, ensure_dataset
from grader.data.store import ensure, fetch, file_digest
from grader.errors import DatasetError
from grader.pipeline import Options, grade
from grader.report.outputs import write_json
from grader.sandbox import core as sb
from grader.sandbox import modes as sandbox_modes
from tests.support.hostile import HOSTILE, TIMEOUT
from tests.support.sandbox import AVAILABLE

UNSAFE = "none" if "none" in sandbox_modes.MODES else "rlimits"  # the mode without isolation


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def store(tmp_path, mnist_store) -> Path:
    """A private, verified copy of the real MNIST store (its sidecar recorded), in `tmp/data`."""
    data = tmp_path / "data"
    data.mkdir()
    shutil.copyfile(mnist_store, data / mnist_store.name)
    assert ensure(MNIST, data, refetch=forbidden, log=lambda _: None) == data / mnist_store.name
    return data / mnist_store.name


def forbidden() -> Path:
    raise AssertionError("provisioned again")


def poison(path: Path) -> None:
    """What the reported attack did: `y_test` rewritten in place, same size, mtime and atime put back."""
    st = path.stat()
    with np.load(path) as z:
        arrays = {k: z[k] for k in z.files}
    arrays["y_test"] = (arrays["y_test"] + 1) % 10
    data = io.BytesIO()
    np.savez(data, **arrays)
    assert len(data.getvalue()) == st.st_size
    path.write_bytes(data.getvalue())
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert (path.stat().st_size, path.stat().st_mtime_ns) == (st.st_size, st.st_mtime_ns)  # what the old check compared


def test_a_write_that_puts_the_mtime_back_changes_the_digest(tmp_path):
    path = tmp_path / "f.bin"
    path.write_bytes(b"a" * 4096)
    before, st = file_digest(path), path.stat()
    assert file_digest(path) == before  # cached
    path.write_bytes(b"b" * 4096)
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert file_digest(path) == hashlib.sha256(b"b" * 4096).hexdigest()


def test_a_poisoned_store_with_its_mtime_put_back_is_provisioned_again(store, mnist_store):
    assert ensure(MNIST, store.parent, refetch=forbidden, log=lambda _: None) == store  # digest cached in this process
    poison(store)
    lines: list[str] = []
    again = ensure(MNIST, store.parent, refetch=lambda: fetch(MNIST, store.parent, source=mnist_store, sources=(), log=lines.append), log=lines.append)
    assert "does not verify" in lines[0] and again == store
    assert not MNIST.verify(dataset_store.read_npz(store, "store"))  # the real labels again
    assert ensure(MNIST, store.parent, refetch=forbidden, log=lambda _: None) == store


def test_a_poisoned_store_is_refused_when_it_cannot_be_provisioned_again(store, monkeypatch, tmp_path):
    poison(store)

    def unreachable(*args, **kwargs):
        raise DatasetError("no source reachable (test)")

    monkeypatch.setattr(datasets, "fetch_mnist", unreachable)
    with pytest.raises(DatasetError, match="no source reachable"):
        ensure_dataset("mnist", store.parent, log=lambda _: None)
    submission = tmp_path / "honest.py"
    submission.write_text("print('never run')\n")
    with pytest.raises(DatasetError):  # the grader's configuration error (exit 2), before any code runs
        grade(submission, find_assignment("mnist-callback"), Options(lang="en", data_dir=store.parent))


def test_a_sidecar_of_the_old_kind_is_not_trusted(store):
    st = store.stat()
    sidecar = store.with_name(store.name + dataset_store.SIDECAR_SUFFIX)
    sidecar.write_text(json.dumps({"sha256": dict(MNIST.sha256), "size": st.st_size, "mtime_ns": st.st_mtime_ns}))
    poison(store)
    lines: list[str] = []
    with pytest.raises(AssertionError, match="provisioned again"):
        ensure(MNIST, store.parent, refetch=forbidden, log=lines.append)
    assert "does not verify" in lines[0]


# -- what the kernel is given --------------------------------------------------------------------

ATTEMPTS = """
import os, sys
copy, store = sys.argv[1], sys.argv[2]
def attempt(name, action):
    try:
        action()
        print(name, "WROTE", flush=True)
    except OSError as exc:
        print(name, "refused", type(exc).__name__, flush=True)
def rewrite(path):
    with open(path, "r+b") as fh:
        fh.write(b"poison")
attempt("rewrite copy", lambda: rewrite(copy))
attempt("append copy", lambda: open(copy, "ab").close())
attempt("chmod copy", lambda: os.chmod(copy, 0o666))
attempt("utime copy", lambda: os.utime(copy, (0, 0)))
attempt("replace copy", lambda: os.rename(copy, copy + ".moved"))
attempt("unlink copy", lambda: os.unlink(copy))
attempt("new file beside it", lambda: open(os.path.join(os.path.dirname(copy), "planted"), "w").close())
attempt("rewrite store", lambda: rewrite(store))
"""


@pytest.mark.parametrize("mode", [*AVAILABLE, UNSAFE])
def test_the_kernel_gets_a_private_read_only_copy(tmp_path, mode):
    data = tmp_path / "data"
    data.mkdir()
    store = data / "mnist.npz"
    store.write_bytes(os.urandom(1 << 20))
    before = sha256(store)
    box = sb.Sandbox(tmp_path / "box", mode=mode)
    try:
        copy = box.readable_copy(store)
        assert copy != store and sha256(copy) == before
        assert copy.stat().st_mode & 0o777 == 0o444 and copy.parent.stat().st_mode & 0o777 == 0o755
        assert copy.stat().st_uid == copy.parent.stat().st_uid == os.getuid()
        run = box.new_run("kernel")
        cwd = box.writable_dir("work")
        cmd = box.command(run, [sys.executable, "-c", ATTEMPTS, str(copy), str(store)], cwd=cwd, readable=[copy])
        proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=60, check=False)
        assert proc.stdout.count("\n") == 8, proc.stdout + proc.stderr
        if box.uid is not None or mode in AVAILABLE:  # not the unsafe mode running as the grader's user
            assert "WROTE" not in proc.stdout, proc.stdout
            assert sha256(copy) == before and sorted(os.listdir(copy.parent)) == [copy.name]
        assert sha256(store) == before or (mode == UNSAFE and box.uid is None)  # root without a sandbox: caught by the digest
    finally:
        box.close()


# -- graded: the attack as a student would write it ------------------------------------------------


def graded_attack(tmp_path: Path, store: Path, mode: str) -> tuple[str, str]:
    """Grade tests/hostile/poison_dataset.py against `store`; (status, what the host shows)."""
    submission = tmp_path / "poison_dataset.py"
    submission.write_text((HOSTILE / "poison_dataset.py").read_text().replace("{{STORE}}", str(store)))
    result = grade(submission, find_assignment("mnist-callback"), Options(lang="en", timeout_s=TIMEOUT, full=True, sandbox=mode, data_dir=store.parent))
    return result.execution.status, write_json(result, tmp_path / "out").read_text()


@pytest.mark.kernel
def test_poison_dataset(tmp_path, store):
    derived = {p: sha256(p) for p in store.parent.rglob("*") if p.is_file() and not p.name.startswith(".")}
    before = sha256(store)
    status, seen = graded_attack(tmp_path, store, "auto")
    assert status == "error" and "POISONED" not in seen, seen
    assert sha256(store) == before
    assert all(sha256(p) == digest for p, digest in derived.items() if p.exists())
    assert ensure(MNIST, store.parent, refetch=forbidden, log=lambda _: None) == store


@pytest.mark.kernel
def test_poison_dataset_without_a_sandbox_is_caught_before_the_next_grading(tmp_path, store, mnist_store, monkeypatch):
    """`--sandbox none` (trusted code only) lets the attack write the store as the grader's user;
    the next grading sees the bytes changed and provisions the store again."""
    before = sha256(store)
    _, seen = graded_attack(tmp_path, store, UNSAFE)
    monkeypatch.setattr(datasets, "fetch_mnist", lambda data_dir, log: fetch(MNIST, data_dir, source=mnist_store, sources=(), log=log))
    lines: list[str] = []
    assert ensure_dataset("mnist", store.parent, log=lines.append) == store
    if "POISONED " + str(store) in seen:  # as root (no uid can run this Python): it could, and did
        assert "does not verify" in lines[0]
    else:  # as a dedicated uid: it could not
        assert sha256(store) == before and not lines
    assert not MNIST.verify(dataset_store.read_npz(store, "store"))
