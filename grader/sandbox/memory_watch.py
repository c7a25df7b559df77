"""The memory limit where no memory cgroup binds: a watchdog over the run's processes.

RLIMIT_DATA, the per-process backstop, counts private memory only: a shared anonymous mapping
(`mmap.mmap(-1, n)`), a mapped memfd or an attached SysV segment are bounded by a memory cgroup
alone. Where the run has none that binds (`Cgroup.offered()` lacks "memory": not root without a
delegated group, no cgroups, swap without swap accounting), this watchdog sums the resident
private and shared memory (RssAnon + RssShmem of /proc/PID/status) of every process of the run
every POLL_S and kills the run past the limit: the verdict is `out_of_memory`. It samples, so a
run may touch what it can in one interval past the limit before it dies (docs/security.md).
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from grader.sandbox.core import Run
from grader.sandbox.limits import MiB
from grader.sandbox.processes import pids_of_uid, session_and_descendants, visible_pids

POLL_S = 0.1
FIELDS = ("RssAnon:", "RssShmem:")


def needs_watch(run: Run) -> bool:
    """Whether no memory cgroup binds this run (then only this watchdog bounds shared memory)."""
    return run.cgroup is None or "memory" not in run.cgroup.offered()


def run_pids(run: Run) -> list[int]:
    """Every process of the run the host can see: its uid's (the sandbox's dedicated uid), else
    its cgroup's members and the launcher's session and descendants."""
    if run.uid is not None:
        return pids_of_uid(run.uid)
    pids = set(run.cgroup.members()) if run.cgroup else set()
    if run.pid is not None:
        pids.update([run.pid, *session_and_descendants(run.pid)])
    return sorted(pids)


def resident_bytes(pid: int) -> int:
    """RssAnon + RssShmem of `pid` (0 once it is gone, or for a kernel thread)."""
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0
    total = 0
    for line in text.splitlines():
        if line.startswith(FIELDS):
            total += int(line.split()[1]) * 1024  # kB
    return total


def run_memory(run: Run) -> int:
    """The resident private and shared memory of the run's processes together (a page two of
    them share counts twice: an overestimate, never an under one)."""
    if run.uid is None:
        return sum(resident_bytes(p) for p in run_pids(run))
    total, uid = 0, str(run.uid)
    for pid in visible_pids():  # one pass: each status read once (a scan costs ~10 ms per 150 processes)
        try:
            text = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            continue
        lines = text.splitlines()
        if any(line.startswith("Uid:") and uid in line.split()[1:4] for line in lines):
            total += sum(int(line.split()[1]) * 1024 for line in lines if line.startswith(FIELDS))
    return total


async def watch_memory(run: Run) -> None:
    """Kill the run (`killed_for` "memory") once its processes hold more than the memory limit."""
    limit = run.sandbox.limits.memory_mb * MiB
    while True:
        await asyncio.sleep(POLL_S)
        if await asyncio.to_thread(run_memory, run) > limit:
            run.killed_for = "memory"
            await asyncio.to_thread(run.kill)
            return
