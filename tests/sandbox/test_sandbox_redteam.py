"""A white-box red team's attacks on the rebuilt sandbox, in every isolating mode this machine
offers: the kernel keyrings that no namespace isolates, the host's disk filled faster than its
watcher looks, the host's memory filled by one multipart message, the host made to connect to a
socket of its own through the kernel's socket folder, shared memory past the per-process memory
backstop, and a graph that keeps the evaluation busy past the deadline. Each asserts the verdict
and what the host saw afterwards.

Where the fix lies outside the sandbox's modules the test is an expected failure (strict: it
fails once the hole is closed, so that the mark is removed), its reason naming the fix.
"""

from __future__ import annotations

import ctypes
import functools
import os
import platform
import socket
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import pytest

from grader import options
from grader.run import host_memory
from grader.sandbox import core as sb
from grader.sandbox import seccomp
from grader.sandbox.modes import is_root
from tests.support.hostile import assert_contained, attack, connection_waiting, isolating
from tests.support.sandbox import NoMemoryCgroup

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the sandbox is Linux's")
MiB = 1 << 20


# -- the kernel's keyrings --------------------------------------------------------------------


def run_filter(program: list[tuple[int, int, int, int]], arch: int, nr: int) -> int:
    """What the classic BPF `program` returns for a system call `nr` of architecture `arch`."""
    data = {seccomp.NR: nr, seccomp.ARCH: arch}
    pc, acc = 0, 0
    while True:
        code, jt, jf, k = program[pc]
        if code == seccomp.LD_W_ABS:
            acc = data[k]
        elif code == seccomp.AND_K:
            acc &= k
        elif code == seccomp.JEQ_K:
            pc += jt if acc == k else jf
        elif code == seccomp.RET_K:
            return k
        else:
            raise AssertionError(f"unexpected instruction {code:#x}")
        pc += 1


@pytest.mark.parametrize("machine", sorted(seccomp.DENIED))
def test_the_filter_refuses_the_keyring_calls_of_every_abi_and_nothing_else(machine):
    program = seccomp.filter_program(machine)
    assert program is not None and len(program) < 256
    refused = seccomp.RET_ERRNO | seccomp.ENOSYS
    for arch, numbers, mask in seccomp.DENIED[machine]:
        for nr in numbers:
            assert run_filter(program, arch, nr) == refused
            if mask:  # x32: the same numbers with the x32 bit
                assert run_filter(program, arch, nr | seccomp.X32_BIT) == refused
        for nr in (0, 1, 2, 3, 9, 56, 57, 59, 60, 231, min(numbers) - 1, max(numbers) + 1):
            assert run_filter(program, arch, nr) == seccomp.RET_ALLOW
    assert run_filter(program, 0x12345678, 0) == refused  # an architecture not listed: nothing at all
    assert seccomp.filter_program("vax") is None


def keyctl(*args: object) -> int:
    libc = ctypes.CDLL(None, use_errno=True)
    number = seccomp.DENIED[platform.machine()][0][1][2]
    return int(libc.syscall(ctypes.c_long(number), *[ctypes.c_long(a) if isinstance(a, int) else a for a in args]))


def add_key(description: bytes, payload: bytes, keyring: int) -> int:
    libc = ctypes.CDLL(None, use_errno=True)
    number = seccomp.DENIED[platform.machine()][0][1][0]
    return int(libc.syscall(ctypes.c_long(number), b"user", description, payload, ctypes.c_size_t(len(payload)), ctypes.c_long(keyring)))


@pytest.mark.skipif(platform.machine() not in seccomp.DENIED, reason="no keyring numbers for this machine")
@pytest.mark.kernel
@isolating
def test_read_session_keyring(tmp_path, mode):
    """The grader's session keyring (root's, where the grader is root) was the kernel's too: it read
    the keys in it, and a key it added to its uid's keyring stayed in the kernel after grading."""
    secret, marker = f"CANARY-{uuid.uuid4().hex}", f"grader-key-{uuid.uuid4().hex[:12]}"
    graded = {}

    def grade_with_a_session_key() -> None:  # keyrings are per thread: the test's own stays as it is
        assert keyctl(1, None) > 0  # KEYCTL_JOIN_SESSION_KEYRING: a fresh, anonymous one
        assert add_key(b"canary", secret.encode(), -3) > 0
        numbers = seccomp.DENIED[platform.machine()][0][1]
        graded["g"] = attack(tmp_path, "read_session_keyring.py", mode=mode, report=True, MARKER=marker, ADD_KEY=numbers[0], KEYCTL=numbers[2])

    thread = threading.Thread(target=grade_with_a_session_key)
    thread.start()
    thread.join()
    g = graded["g"]
    assert g.status == "error" and g.result.execution.exception == "RuntimeError: keys [], left False", g.result.execution
    assert secret not in g.seen
    key_users = Path("/proc/key-users").read_text()
    assert g.uid is None or not any(line.split(":")[0].strip() == str(g.uid) for line in key_users.splitlines())
    assert_contained(g)


# -- the host's disk --------------------------------------------------------------------------


@pytest.mark.skipif(not is_root(), reason="not root: no tmpfs can be mounted for the shared folders; the disk watcher alone bounds them")
@pytest.mark.kernel
@isolating
def test_fallocate_past_the_disk_limit(tmp_path, mode, monkeypatch):
    """fallocate reserved 4 GiB on the host's disk in milliseconds, under a 256 MB limit that the
    watcher checks once a second: the shared folders are now a tmpfs of the limit."""
    monkeypatch.setattr(options, "Limits", functools.partial(sb.Limits, disk_mb=256))
    g = attack(tmp_path, "fallocate_disk.py", mode=mode, TOTAL_MB=4096)
    assert "PAST" + "-THE-DISK-LIMIT" not in g.seen
    assert g.status == "error" and "more than 256 MB" in g.result.execution.message, g.result.execution
    assert "(tmpfs)" in g.result.execution.sandbox
    assert_contained(g)


# -- the host's memory and sockets (fixes outside the sandbox's modules) ----------------------


class PeakMemory:
    """The largest resident size of this process while in the `with` block, sampled every 10 ms."""

    def __enter__(self) -> PeakMemory:
        self.start = self.peak = self.rss()
        self.running = True
        self.thread = threading.Thread(target=self._sample, daemon=True)
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.running = False
        self.thread.join()

    @staticmethod
    def rss() -> int:
        return int(Path("/proc/self/statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE")

    def _sample(self) -> None:
        while self.running:
            self.peak = max(self.peak, self.rss())
            time.sleep(0.01)


@pytest.mark.kernel
@isolating
def test_multipart_message_flood(tmp_path, mode):
    """One multipart message of many 8 MiB frames (each under MAXMSGSIZE, one message to RCVHWM) grew
    the grader by 1 GiB: the host's memory guard kills the run that sends it, and says so."""
    with PeakMemory() as memory:
        g = attack(tmp_path, "multipart_flood.py", mode=mode, FRAMES=128)  # 1 GiB in one message
    assert memory.peak - memory.start < 256 * MiB, f"the host grew by {(memory.peak - memory.start) // MiB} MiB"
    assert "sent 1024 MiB" not in g.seen
    assert g.status == "error" and g.result.execution.exception.startswith("OutputFlood:"), g.result.execution
    execution = next(c for c in g.result.checks if c.id == "execution")
    assert "more output at once than it accepts" in execution.message
    assert_contained(g)


@pytest.mark.kernel
@isolating
def test_ipc_socket_redirect(tmp_path, mode):
    folder = Path(tempfile.mkdtemp(prefix="grader-test-host-"))  # 0700: the host's alone
    target = folder / "host.sock"
    listener = socket.socket(socket.AF_UNIX)
    listener.bind(str(target))
    listener.listen(16)
    try:
        g = attack(tmp_path, "ipc_socket_redirect.py", mode=mode, TARGET=target)
        connected = connection_waiting(listener)
    finally:
        listener.close()
        target.unlink()
        folder.rmdir()
    assert not connected, "the grader connected to a socket of the host on the kernel's word"
    assert g.status == "error"
    assert_contained(g)


@pytest.mark.kernel
@isolating
def test_shared_memory_past_the_limit_without_a_memory_cgroup(tmp_path, mode, monkeypatch):
    """RLIMIT_DATA counts private memory only: a shared mapping went to 1.8 GiB under a 256 MB limit
    where no memory cgroup binds. The run's processes' memory is now watched there."""
    monkeypatch.setattr(sb, "Cgroup", NoMemoryCgroup)
    limits = sb.Limits(memory_mb=256)
    g = attack(tmp_path, "shared_memory_past_limit.py", mode=mode, memory_mb=256, TOUCH_MB=(limits.data_bytes >> 20) + 256)
    assert "ALLOCATION" + "-COMPLETED" not in g.seen
    assert g.status == "out_of_memory", g.result.execution
    assert_contained(g)


class FakeRun:
    killed_for = None


def test_the_host_memory_guard_kills_only_the_run_that_brought_the_memory_in(monkeypatch):
    """Runs graded side by side in one process: the flood's run is killed, its neighbour is not,
    and the neighbour's ceiling then starts from what the flood left mapped."""
    flooding, honest = FakeRun(), FakeRun()
    brought = {flooding: 600 * MiB, honest: 1 * MiB}
    monkeypatch.setattr(host_memory, "fault_bytes", lambda contexts: brought[contexts[0]])
    guard = host_memory._Guard()
    guard.watched = [host_memory.Watched(r, lambda r=r: [r], baseline=100 * MiB) for r in (honest, flooding)]
    monkeypatch.setattr(host_memory, "resident", lambda: 100 * MiB + host_memory.MARGIN)
    assert guard._culprit() is None  # at the ceiling, not past it
    monkeypatch.setattr(host_memory, "resident", lambda: 900 * MiB)
    assert guard._culprit().run is flooding
    assert [w.run for w in guard.watched] == [honest] and guard.watched[0].baseline == 900 * MiB
    assert guard._culprit() is None  # what the flood left is not the neighbour's doing
    brought[honest] = 2 * MiB  # the grader grew, but not by what a kernel sent: no run is stopped
    monkeypatch.setattr(host_memory, "resident", lambda: 2000 * MiB)
    assert guard._culprit() is None and guard.watched


@pytest.mark.slow  # it trains (one epoch of 1,000 images)
@pytest.mark.kernel
def test_slow_graph_outlives_the_deadline(tmp_path):
    """A graph that loops for ever kept the grader 300 s past a 60 s time limit; the evaluation now
    gets what is left of the limit (at least 20 s)."""
    g = attack(tmp_path, "slow_graph.py", timeout=60)
    assert g.result.evaluation.error is not None  # it never answered
    assert_contained(g, timeout=60)  # and grading ended on time
