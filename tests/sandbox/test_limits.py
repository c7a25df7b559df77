"""The sandbox's limits hold while the code runs, not only in the verdict: memory (cgroup, and the
per-process RLIMIT_DATA backstop where no cgroup binds), CPU time, tasks, file size and disk.

Each test exceeds a limit and asserts that what lay beyond it never happened: the code prints or
raises a marker only once it got past the limit, and the marker never appears. The quick tests run
a few lines of Python in each isolating mode this machine offers; the graded ones (a real kernel,
seconds each) check the verdict too.
"""

from __future__ import annotations

import functools
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from grader import options
from grader.sandbox import cgroups
from grader.sandbox import core as sb
from grader.sandbox.cgroups import Cgroup, Controller
from tests.support.hostile import TIMEOUT, assert_contained, attack, host_still_works
from tests.support.sandbox import AVAILABLE, NoMemoryCgroup

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the sandbox is Linux's")

MARKER = "PAST" + "-THE-LIMIT"  # printed only by code that got past a limit (never in its source)
TOUCH = """
import numpy as np
blocks = []
for step in range(1, {mb} // 64 + 1):
    block = np.empty(64 << 20, dtype=np.uint8)
    block.fill(1)  # touched: resident, not reserved
    blocks.append(block)
    print("touched", step * 64, flush=True)
print("PAST" + "-THE-LIMIT", flush=True)
"""


@pytest.fixture(params=AVAILABLE)
def mode(request) -> str:
    return request.param


@dataclass
class Ran:
    """What one sandboxed run did, and what its cgroups counted before they were removed."""

    proc: subprocess.CompletedProcess
    elapsed: float
    oom_killed: bool
    tasks_limit_hit: bool
    cpu_seconds: float
    offered: set[str]

    @property
    def out(self) -> str:
        return self.proc.stdout + self.proc.stderr


def run_code(tmp_path: Path, mode: str, code: str, limits: sb.Limits, *, timeout: float = 60, readable=()) -> Ran:
    """Run `code` in a sandbox of `mode` under `limits`; every process of it is dead on return."""
    box = sb.Sandbox(tmp_path / "box", mode=mode, limits=limits)
    try:
        run = box.new_run("test")
        cwd = box.writable_dir("work")
        cmd = box.command(run, [sys.executable, "-c", code], cwd=cwd, readable=readable)
        started = time.monotonic()
        proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=timeout, check=False)
        elapsed = time.monotonic() - started
        run.kill()
        cg = run.cgroup
        return Ran(proc, elapsed, run.oom_killed(), run.tasks_limit_hit(), cg.cpu_seconds() if cg else 0.0, cg.offered() if cg else set())
    finally:
        box.close()


def touched_mb(stdout: str) -> int:
    lines = [line.split()[1] for line in stdout.splitlines() if line.startswith("touched ")]
    return int(lines[-1]) if lines else 0


# -- memory -----------------------------------------------------------------------------------


@pytest.mark.kernel
def test_memory_limit_holds_while_the_code_runs(tmp_path, mode):
    ran = run_code(tmp_path, mode, TOUCH.format(mb=2048), sb.Limits(memory_mb=512))
    assert MARKER not in ran.out
    assert ran.proc.returncode != 0 and touched_mb(ran.proc.stdout) <= 512
    assert ran.oom_killed or "MemoryError" in ran.proc.stderr


@pytest.mark.kernel
def test_memory_limit_holds_across_processes(tmp_path, mode):
    """Four processes of 256 MiB each under a 512 MiB limit: the limit is the run's, not each one's."""
    code = """
import os, time
import numpy as np
children = []
for _ in range(4):
    pid = os.fork()
    if pid == 0:
        block = np.empty(256 << 20, dtype=np.uint8)
        block.fill(1)
        time.sleep(3)
        os._exit(0)
    children.append(pid)
statuses = [os.waitpid(pid, 0)[1] for pid in children]
print("statuses", statuses, flush=True)
if all(s == 0 for s in statuses):
    print("PAST" + "-THE-LIMIT", flush=True)
"""
    ran = run_code(tmp_path, mode, code, sb.Limits(memory_mb=512))
    assert "memory" in ran.offered, "no memory cgroup binds here: only the per-process backstop does"
    assert MARKER not in ran.out, ran.out
    assert ran.oom_killed


@pytest.mark.kernel
def test_code_cannot_leave_or_raise_its_memory_limit(tmp_path, mode):
    """The reported hole: as root with capabilities, code wrote its pid into an ancestor's
    cgroup.procs and the v1 limit no longer applied. The sandboxed uid can write none of it."""
    code = (Path(__file__).parents[1] / "hostile" / "escape_memory_cgroup.py").read_text().replace("{{TOUCH_MB}}", "2048")
    ran = run_code(tmp_path, mode, code, sb.Limits(memory_mb=512))
    assert "escaped through: []" in ran.proc.stdout, ran.out
    assert "ALLOCATION-COMPLETED" not in ran.out
    assert ran.oom_killed or "MemoryError" in ran.proc.stderr


@pytest.mark.kernel
def test_rlimit_data_holds_where_no_cgroup_limits_memory(tmp_path, mode, monkeypatch):
    monkeypatch.setattr(sb, "Cgroup", NoMemoryCgroup)
    limits = sb.Limits(memory_mb=256)
    data_mb = limits.data_bytes >> 20
    ran = run_code(tmp_path, mode, TOUCH.format(mb=data_mb + 1024), limits)
    assert "memory" not in ran.offered and not ran.oom_killed
    assert MARKER not in ran.out
    assert "MemoryError" in ran.proc.stderr and touched_mb(ran.proc.stdout) <= data_mb


def test_memory_limit_without_swap_limit_is_not_claimed_where_the_machine_swaps(monkeypatch):
    group = Cgroup.__new__(Cgroup)
    group.memory, group.pids, group.swap_limited = Controller("v1", Path("/nonexistent")), None, False
    monkeypatch.setattr(cgroups, "machine_has_swap", lambda: True)
    assert group.offered() == set()  # RAM limited, the rest swapped: RLIMIT_DATA is what binds
    monkeypatch.setattr(cgroups, "machine_has_swap", lambda: False)
    assert group.offered() == {"memory"}
    group.swap_limited = True
    monkeypatch.setattr(cgroups, "machine_has_swap", lambda: True)
    assert group.offered() == {"memory"}


def test_every_process_has_the_memory_and_cpu_backstops(tmp_path, mode):
    code = "import resource; print(resource.getrlimit(resource.RLIMIT_DATA)[0], resource.getrlimit(resource.RLIMIT_CPU)[0])"
    limits = sb.Limits(memory_mb=1024, timeout_s=60)
    ran = run_code(tmp_path, mode, code, limits)
    assert ran.proc.stdout.split() == [str(limits.data_bytes), str(limits.cpu_seconds)], ran.out
    assert limits.data_bytes > (1024 + 1024) * sb.MiB  # TensorFlow's untouched reservations fit (docs/security.md)
    assert limits.cpu_seconds >= 60 * (os.cpu_count() or 1)  # never before the wall clock


@pytest.mark.kernel
def test_touch_memory_past_limit(tmp_path):
    g = attack(tmp_path, "touch_memory_past_limit.py", memory_mb=1536, TOUCH_MB=4096)
    assert g.status == "out_of_memory", g.result.execution
    assert "ALLOCATION-COMPLETED" not in g.seen
    assert_contained(g)
    host_still_works()


@pytest.mark.kernel
def test_escape_memory_cgroup(tmp_path):
    g = attack(tmp_path, "escape_memory_cgroup.py", memory_mb=1536, TOUCH_MB=4096)
    assert g.status == "out_of_memory", g.result.execution
    assert "ALLOCATION-COMPLETED" not in g.seen
    assert_contained(g)


# -- CPU time ---------------------------------------------------------------------------------


@pytest.mark.kernel
def test_cpu_time_limit_holds_while_the_code_runs(tmp_path, mode):
    code = """
import signal, time
signal.signal(signal.SIGXCPU, signal.SIG_IGN)  # the warning is ignored: the limit still kills
started = time.monotonic()
while time.monotonic() - started < 30:
    pass
print("PAST" + "-THE-LIMIT", flush=True)
"""
    ran = run_code(tmp_path, mode, code, sb.Limits(cpu_s=2))
    assert MARKER not in ran.out and ran.proc.returncode != 0
    assert ran.elapsed < 20, f"took {ran.elapsed:.0f} s"
    assert ran.cpu_seconds >= 0.9 * 2  # what the verdict reads (a cgroup samples CPU time at ticks)


@pytest.mark.kernel
def test_spin_cpu(tmp_path, monkeypatch):
    monkeypatch.setattr(options, "Limits", functools.partial(sb.Limits, cpu_s=8))  # the kernel's start takes about 1
    g = attack(tmp_path, "spin_cpu.py", SECONDS=TIMEOUT)
    assert g.status == "out_of_cpu_time" and g.result.execution.cell == 1, g.result.execution
    assert "8 seconds of CPU time" in g.result.execution.message
    assert "SPUN-TO-THE-END" not in g.seen
    assert g.elapsed < TIMEOUT, f"took {g.elapsed:.0f} s: the wall clock stopped it, not the CPU limit"
    assert_contained(g)


# -- tasks, files, disk -----------------------------------------------------------------------


def test_tasks_limit_holds_while_the_code_runs(tmp_path, mode):
    code = """
import os, time
started = 0
try:
    for _ in range(200):
        if os.fork() == 0:
            null = os.open(os.devnull, os.O_WRONLY)
            os.dup2(null, 1), os.dup2(null, 2)
            time.sleep(20)
            os._exit(0)
        started += 1
except OSError as exc:
    print("stopped after", started, exc, flush=True)
else:
    print("PAST" + "-THE-LIMIT", started, flush=True)
"""
    ran = run_code(tmp_path, mode, code, sb.Limits(tasks=48))
    assert MARKER not in ran.out and "stopped after" in ran.proc.stdout, ran.out
    assert int(ran.proc.stdout.split()[2]) < 48
    assert ran.tasks_limit_hit


def test_file_size_and_disk_limits_hold_while_the_code_runs(tmp_path, mode):
    code = """
import errno
chunk = b"x" * (1 << 20)
try:
    with open("one.bin", "wb") as fh:
        for _ in range(4):
            fh.write(chunk); fh.flush()
    print("PAST" + "-THE-LIMIT one file", flush=True)
except OSError as exc:
    print("file:", errno.errorcode[exc.errno], flush=True)
try:
    for i in range(200):
        with open(f"part-{i}.bin", "wb") as fh:
            fh.write(chunk)
    print("PAST" + "-THE-LIMIT in all", flush=True)
except OSError as exc:
    print("disk:", errno.errorcode[exc.errno], flush=True)
"""
    ran = run_code(tmp_path, mode, code, sb.Limits(file_mb=2, disk_mb=64))
    assert MARKER not in ran.out
    assert "file: EFBIG" in ran.proc.stdout and "disk: ENOSPC" in ran.proc.stdout, ran.out
