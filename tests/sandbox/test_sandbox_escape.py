"""Attacks on the host from inside the sandbox, in every isolating mode this machine offers: the
installed grader, other users' files, the host's processes and network, shared folders, and the
evaluation beside the kernel. Each asserts the verdict and what the host saw afterwards."""

from __future__ import annotations

import hashlib
import os
import site
import socket
import sys
import uuid
from pathlib import Path

import pytest

import grader
from tests.support.hostile import assert_contained, attack, connection_waiting, host_ip, isolating

pytestmark = [pytest.mark.kernel, pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the sandbox is Linux's")]


def fingerprint(folders: list[Path]) -> dict[str, str]:
    """Path -> SHA-256 of every file under `folders` (what an attack must not change)."""
    seen: dict[str, str] = {}
    for folder in folders:
        for path in sorted(folder.rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts:
                seen[str(path)] = hashlib.sha256(path.read_bytes()).hexdigest()
    return seen


@isolating
def test_rewrite_grader_package(tmp_path, mode):
    package = Path(grader.__file__).resolve().parent
    marker = f"OWNED-{uuid.uuid4().hex}"
    before = fingerprint([package])
    sites = [Path(p) for p in site.getsitepackages()]
    g = attack(tmp_path, "rewrite_grader_package.py", mode=mode, MARKER=marker)
    assert g.status == "error" and g.result.execution.exception == "PermissionError: changed: [] (0)"
    assert fingerprint([package]) == before
    assert not any((s / "zz_grader_owned.pth").exists() for s in sites)
    assert_contained(g)


@isolating
def test_snoop_host(tmp_path, mode):
    secret = f"CANARY-{uuid.uuid4().hex}"
    private = Path("/tmp") / f"grader-test-private-{uuid.uuid4().hex[:8]}"  # another user's 0700 folder
    private.mkdir(mode=0o700)
    try:
        (private / "secret.txt").write_text(secret)
        os.chmod(private / "secret.txt", 0o600)
        if os.geteuid() == 0:
            os.chown(private, 65534, 65534)
            os.chown(private / "secret.txt", 65534, 65534)
        g = attack(tmp_path, "snoop_host.py", mode=mode, report=True, CANARY=private / "secret.txt")
    finally:
        (private / "secret.txt").unlink()
        private.rmdir()
    assert g.status == "error"
    assert secret not in g.seen
    assert "pytest" not in g.result.execution.exception  # no process of the host is visible
    assert ".bashrc" not in g.result.execution.exception and "/etc/shadow:" not in g.result.execution.exception
    assert_contained(g)


@isolating
def test_join_host_network(tmp_path, mode):
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("0.0.0.0", 0))
    listener.listen(16)
    try:
        g = attack(tmp_path, "join_host_network.py", mode=mode, PORT=listener.getsockname()[1], HOST_IP=host_ip())
        assert not connection_waiting(listener), "the listener got a connection"
    finally:
        listener.close()
    assert g.status == "error" and g.result.execution.exception == "ConnectionError: no network (joined [])"
    assert_contained(g)


@isolating
def test_litter_shared_folders(tmp_path, mode):
    marker = f"grader-litter-{uuid.uuid4().hex}"
    g = attack(tmp_path, "litter_shared_folders.py", mode=mode, MARKER=marker)
    assert g.status == "error"
    left = [f for f in ("/tmp", "/var/tmp", "/dev/shm", "/run/shm", os.path.expanduser("~")) if (Path(f) / marker).exists()]
    assert left == []
    assert_contained(g)


@isolating
def test_forge_evaluation_answer(tmp_path, mode):
    g = attack(tmp_path, "forge_evaluation_answer.py", mode=mode)
    assert g.status == "ok", g.result.execution
    assert g.result.evaluation.test_images == 10000 and g.result.evaluation.error is None
    assert g.result.evaluation.test_accuracy < 0.9  # its own model, measured: nothing forged got in
    assert_contained(g)
