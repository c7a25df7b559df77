"""Processes as /proc shows them: those of a uid, those of a session and its descendants; SIGKILL
for a list of them, and `kill_tree`, the one way the grader ends a process and all it started.

Standard library only: the sandbox launcher (`grader.sandbox.launcher`) imports it too.
"""

from __future__ import annotations

import os
import random
import signal
from collections.abc import Sequence
from pathlib import Path

UID_BASE, UID_SPAN = 2_100_000_000, 50_000_000  # far above any real account


def visible_pids() -> list[int]:
    """Every process we can see (none without procfs)."""
    try:
        return [int(name) for name in os.listdir("/proc") if name.isdigit()]
    except OSError:
        return []


def _status_of_all() -> list[tuple[int, dict[str, str]]]:
    """(pid, fields of /proc/PID/status) of every process we can see."""
    entries = []
    for pid in visible_pids():
        try:
            text = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            continue
        fields = dict(line.split(":\t", 1) for line in text.splitlines() if ":\t" in line)
        entries.append((pid, fields))
    return entries


def _stat_fields(pid: int) -> list[str] | None:
    """The fields of /proc/PID/stat after the command name (the state first); None once it is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat[stat.rfind(")") + 2 :].split()


def pids_of_uid(uid: int) -> list[int]:
    """Live processes (zombies excluded: they run nothing) with `uid` as real, effective or saved uid."""
    found = []
    for pid, fields in _status_of_all():
        uids = fields.get("Uid", "").split()
        if str(uid) in uids[:3] and not fields.get("State", "").startswith("Z"):
            found.append(pid)
    return found


def free_uid() -> int:
    """A uid no process uses, far above any real account: the sandbox's own."""
    used = {int(u) for _, f in _status_of_all() for u in f.get("Uid", "").split()[:1]}
    while True:
        uid = UID_BASE + random.randrange(UID_SPAN)
        if uid not in used:
            return uid


def session_and_descendants(root_pid: int) -> list[int]:
    """Processes in the session led by `root_pid`, and every descendant of it (for the `none` mode)."""
    children: dict[int, list[int]] = {}
    sessions: dict[int, int] = {}
    for pid in visible_pids():
        fields = _stat_fields(pid)
        if fields is None:
            continue
        ppid, sid = int(fields[1]), int(fields[3])
        children.setdefault(ppid, []).append(pid)
        sessions[pid] = sid
    found = {pid for pid, sid in sessions.items() if sid == root_pid}
    stack = [root_pid]
    while stack:
        for child in children.get(stack.pop(), []):
            if child not in found:
                found.add(child)
                stack.append(child)
    found.discard(os.getpid())
    return sorted(found)


def count_tasks(pids: list[int]) -> int:
    """Threads of these processes, all together."""
    total = 0
    for pid in pids:
        try:
            total += len(os.listdir(f"/proc/{pid}/task"))
        except OSError:
            pass
    return total


def is_alive(pid: int) -> bool:
    """Whether `pid` exists and is no zombie."""
    fields = _stat_fields(pid)
    return fields is not None and not (fields and fields[0].startswith("Z"))


def is_running_child(pid: int) -> bool:
    """Whether `pid` is still our running child: only then is it safe to signal (once reaped, the
    number may belong to someone else). Nothing is reaped here: the Popen owning it does that."""
    try:
        return os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is None
    except ChildProcessError:
        return False


def sigkill(pids: Sequence[int]) -> None:
    """SIGKILL each of `pids`; those gone already, or not ours to signal, are skipped."""
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass


def kill_tree(root: int, *, root_too: bool = True) -> list[int]:
    """SIGKILL the process tree of `root`: `root` itself and its process group (with `root_too`; pass
    False when it is ourselves, or already reaped, so that its number may be someone else's), every
    process of the session it leads and every descendant of it, found before any is signalled.
    Returns the tree without `root`, for a caller that waits until none is left; waits for nothing."""
    tree = [p for p in session_and_descendants(root) if p != root]  # never ourselves either
    if root_too and root != os.getpid():
        sigkill([root])
        if root != os.getpgrp():  # its group, where it leads one (without /proc, all we can reach)
            try:
                os.killpg(root, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
    sigkill(tree)
    return tree
