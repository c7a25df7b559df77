"""The sandbox every submission runs in: the grading kernel, and the evaluation of its model.

What is isolated, and how (docs/security.md has the full model):

* bubblewrap (`bwrap`), when it can run: no network (a network namespace of its own, loopback
  included), own PID, IPC and UTS namespaces, a new session, an empty root file system with only the
  Python runtime, the grader package, the data set file and the run's own folders mounted, the rest
  invisible; /tmp and the working directory are private, size-limited tmpfs. As root the code runs
  as a dedicated unprivileged uid with no capabilities and `no_new_privs`.
* `unshare`, as root without bubblewrap: network, PID, IPC and UTS namespaces and the unprivileged
  uid; the file system is visible (read-only to that uid where permissions say so).
* rlimits only, otherwise: the limits below and nothing else (the result says so).

Limits in every mode: wall-clock time (the caller's deadline), memory (a cgroup's memory limit, else
RLIMIT_DATA sized for TensorFlow), tasks (a cgroup's pids limit and RLIMIT_NPROC), size of each file
written (RLIMIT_FSIZE), no core dumps. `Run.kill()` ends every process of a run: the cgroup, the PID
namespace, and every process of the sandbox's uid.

This module is also the launcher (`python -I -m grader.sandbox enter|drop ...`), so its imports are
kept to the standard library.
"""

from __future__ import annotations

import ctypes
import errno
import functools
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

from grader.errors import UsageError

MODES = ("auto", "bwrap", "unshare", "rlimits", "off")
UID_BASE, UID_SPAN = 2_100_000_000, 50_000_000  # far above any real account
MiB = 1024 * 1024


class SandboxError(UsageError):
    """The sandbox asked for cannot be set up on this machine."""


@dataclass(frozen=True)
class Limits:
    """Resource limits of one sandboxed run (the wall-clock limit is the caller's deadline)."""

    memory_mb: int = 4096  # TensorFlow training MNIST peaks near 1.2 GiB in a cgroup; see docs/security.md
    tasks: int = 0  # processes and threads; 0: max(512, 256 + 8 per CPU), TensorFlow starts a pool per CPU
    file_mb: int = 1024  # the largest file that may be written
    disk_mb: int = 2048  # size of the private /tmp and working directory, and of all files in the run folder
    output_chars: int = 2_000_000  # output kept from the kernel (the rest is dropped and noted)
    open_files: int = 4096

    @property
    def max_tasks(self) -> int:
        return self.tasks or max(512, 256 + 8 * (os.cpu_count() or 1))

    @property
    def data_bytes(self) -> int:
        """RLIMIT_DATA when no cgroup limits memory: the memory limit plus thread stacks (8 MiB each)."""
        return (self.memory_mb + 64 * (os.cpu_count() or 1)) * MiB


# --------------------------------------------------------------------------------------------
# What this machine can do
# --------------------------------------------------------------------------------------------


def is_root() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0


@functools.lru_cache(maxsize=None)
def bwrap_path() -> str | None:
    """bubblewrap, if it is installed and can create the namespaces we need here."""
    path = shutil.which("bwrap")
    if not path or not sys.platform.startswith("linux"):
        return None
    probe = [path, *(["--unshare-user"] if not is_root() else []), "--unshare-net", "--unshare-pid", "--unshare-ipc", "--die-with-parent", "--ro-bind", "/", "/", "--proc", "/proc", "--", "true"]
    return path if _succeeds(probe) else None


@functools.lru_cache(maxsize=None)
def unshare_path() -> str | None:
    """util-linux `unshare`, usable as root for network and PID namespaces."""
    path = shutil.which("unshare")
    if not path or not is_root():
        return None
    return path if _succeeds([path, "--net", "--pid", "--ipc", "--uts", "--fork", "--kill-child", "--", "true"]) else None


@functools.lru_cache(maxsize=None)
def unprivileged_can_run_python() -> bool:
    """Whether a uid with no rights can start this Python and import the grader (outside bubblewrap)."""
    if not is_root():
        return False
    uid = free_uid()
    cmd = launcher("drop", "--uid", str(uid), "--", sys.executable, "-I", "-c", "import grader.kernel.setup, numpy")
    return _succeeds(cmd, cwd="/")


def _succeeds(cmd: list[str], cwd: str | None = None) -> bool:
    try:
        return subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=60, cwd=cwd, check=False).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def resolve_mode(mode: str) -> str:
    """The concrete mode for `mode` ("auto": the strongest this machine offers)."""
    if mode not in MODES:
        raise SandboxError(f"unknown sandbox mode '{mode}' (known: {', '.join(MODES)})")
    if mode == "auto":
        if bwrap_path():
            return "bwrap"
        return "unshare" if unshare_path() else "rlimits"
    if mode == "bwrap" and not bwrap_path():
        raise SandboxError("bubblewrap (bwrap) is not installed or cannot create namespaces here; install the 'bubblewrap' package, or choose another --sandbox")
    if mode == "unshare" and not unshare_path():
        raise SandboxError("'unshare' sandboxing needs root and util-linux unshare; choose another --sandbox")
    return mode


def launcher(stage: str, *args: str) -> list[str]:
    return [sys.executable, "-I", "-m", "grader.sandbox", stage, *args]


# --------------------------------------------------------------------------------------------
# The processes of a uid, of a session
# --------------------------------------------------------------------------------------------


def _proc_entries() -> list[tuple[int, dict[str, str]]]:
    """(pid, status fields) of every process we can see."""
    entries = []
    for name in _proc_names():
        try:
            text = Path(f"/proc/{name}/status").read_text()
        except OSError:
            continue
        fields = dict(line.split(":\t", 1) for line in text.splitlines() if ":\t" in line)
        entries.append((int(name), fields))
    return entries


def _proc_names() -> list[str]:
    try:
        return [name for name in os.listdir("/proc") if name.isdigit()]
    except OSError:  # no procfs: nothing to see
        return []


def pids_of_uid(uid: int) -> list[int]:
    """Live processes (zombies excluded: they run nothing) with `uid` as real, effective or saved uid."""
    found = []
    for pid, fields in _proc_entries():
        uids = fields.get("Uid", "").split()
        if str(uid) in uids[:3] and not fields.get("State", "").startswith("Z"):
            found.append(pid)
    return found


def free_uid() -> int:
    used = {int(u) for _, f in _proc_entries() for u in f.get("Uid", "").split()[:1]}
    while True:
        uid = UID_BASE + random.randrange(UID_SPAN)
        if uid not in used:
            return uid


def _session_and_descendants(root_pid: int) -> list[int]:
    """Processes in the session led by `root_pid`, and every descendant of it (for the rlimits mode)."""
    children: dict[int, list[int]] = {}
    sessions: dict[int, int] = {}
    for name in _proc_names():
        try:
            stat = Path(f"/proc/{name}/stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rfind(")") + 2 :].split()
        ppid, sid = int(fields[1]), int(fields[3])
        children.setdefault(ppid, []).append(int(name))
        sessions[int(name)] = sid
    found = {pid for pid, sid in sessions.items() if sid == root_pid}
    stack = [root_pid]
    while stack:
        for child in children.get(stack.pop(), []):
            if child not in found:
                found.add(child)
                stack.append(child)
    found.discard(os.getpid())
    return sorted(found)


def _kill(pids: Sequence[int]) -> None:
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass


# --------------------------------------------------------------------------------------------
# Control groups
# --------------------------------------------------------------------------------------------


def _mounts() -> list[tuple[str, str, str, set[str]]]:
    """(fstype, mount point, mount root, super options) of the cgroup mounts."""
    mounts = []
    try:
        lines = Path("/proc/self/mountinfo").read_text().splitlines()
    except OSError:
        return []
    for line in lines:
        left, _, right = line.partition(" - ")
        parts, rparts = left.split(), right.split()
        if len(parts) >= 5 and rparts and rparts[0] in ("cgroup", "cgroup2"):
            mounts.append((rparts[0], parts[4], parts[3], set(rparts[2].split(",")) if len(rparts) > 2 else set()))
    return mounts


def _own_cgroups() -> dict[str, str]:
    """Controller ('' for v2) -> this process's cgroup path."""
    own: dict[str, str] = {}
    try:
        for line in Path("/proc/self/cgroup").read_text().splitlines():
            _, controllers, path = line.split(":", 2)
            for c in controllers.split(",") if controllers else [""]:
                own[c.removeprefix("name=")] = path
    except (OSError, ValueError):
        pass
    return own


def _under(mount: str, root: str, path: str) -> Path | None:
    if not (path == root or path.startswith(root.rstrip("/") + "/")):
        return None
    return Path(mount) / path[len(root) :].lstrip("/")


STALE_S = 3600


def _remove_stale(parent: Path) -> None:
    """Remove empty groups a grader left an hour ago or more (it was killed before cleaning up;
    the sandbox died with it): they hold nothing, but they add up."""
    try:
        entries = [p for p in parent.iterdir() if p.name.startswith("grader-")]
    except OSError:
        return
    for group in entries:
        try:
            if time.time() - group.stat().st_mtime > STALE_S and not (group / "cgroup.procs").read_text().strip():
                group.rmdir()
        except OSError:
            pass


class Cgroup:
    """The control groups of one run: a v2 group (membership, `cgroup.kill`, and its controllers),
    plus v1 groups for the controllers (memory, pids) that v2 does not offer on this machine."""

    def __init__(self, name: str, memory_bytes: int, tasks: int) -> None:
        self.dirs: list[Path] = []  # every group the run joins
        self.memory: tuple[str, Path] | None = None  # ("v1"|"v2", dir)
        self.pids: tuple[str, Path] | None = None
        self.v2: Path | None = None
        want = {"memory", "pids"}
        mounts, own = _mounts(), _own_cgroups()
        v2 = next((m for m in mounts if m[0] == "cgroup2"), None)
        if v2 and "" in own:
            self._make_v2(v2, own[""], name, want)
        for controller in sorted(want - self.offered()):
            mount = next((m for m in mounts if m[0] == "cgroup" and controller in m[3]), None)
            if mount and controller in own:
                base = _under(mount[1], mount[2], own[controller])
                if base is not None:
                    self._make_v1(controller, base / name)
        self._limit(memory_bytes, tasks)

    def offered(self) -> set[str]:
        return {c for c, g in (("memory", self.memory), ("pids", self.pids)) if g}

    def _make_v2(self, mount: tuple[str, str, str, set[str]], own: str, name: str, want: set[str]) -> None:
        base = _under(mount[1], mount[2], own)
        if base is None:
            return
        for parent in dict.fromkeys([base, base.parent if base != Path(mount[1]) else base]):
            _remove_stale(parent)
            group = parent / name
            try:
                group.mkdir()
            except OSError:
                continue
            available = set((group / "cgroup.controllers").read_text().split())
            enable = [c for c in want - available if c in set((parent / "cgroup.controllers").read_text().split())]
            if enable:
                try:
                    (parent / "cgroup.subtree_control").write_text(" ".join(f"+{c}" for c in enable))
                except OSError:
                    pass
                available = set((group / "cgroup.controllers").read_text().split())
            self.v2 = group
            self.dirs.append(group)
            if "memory" in available:
                self.memory = ("v2", group)
            if "pids" in available:
                self.pids = ("v2", group)
            return

    def _make_v1(self, controller: str, group: Path) -> None:
        _remove_stale(group.parent)
        try:
            group.mkdir()
        except OSError:
            return
        self.dirs.append(group)
        if controller == "memory":
            self.memory = ("v1", group)
        else:
            self.pids = ("v1", group)

    def _limit(self, memory_bytes: int, tasks: int) -> None:
        writes: list[tuple[Path, str]] = []
        if self.memory and self.memory[0] == "v2":
            g = self.memory[1]
            writes += [(g / "memory.max", str(memory_bytes)), (g / "memory.swap.max", "0"), (g / "memory.oom.group", "1")]
        elif self.memory:
            g = self.memory[1]
            writes += [(g / "memory.limit_in_bytes", str(memory_bytes)), (g / "memory.memsw.limit_in_bytes", str(memory_bytes))]
        if self.pids:
            writes.append((self.pids[1] / "pids.max", str(tasks)))
        for path, value in writes:
            try:
                path.write_text(value)
            except OSError:
                if path.name in ("memory.max", "memory.limit_in_bytes"):
                    self.memory = None
                elif path.name == "pids.max":
                    self.pids = None

    @property
    def procs_files(self) -> list[str]:
        return [str(d / "cgroup.procs") for d in self.dirs]

    def _counter(self, group: tuple[str, Path] | None, v2file: str, v1file: str, key: str) -> int:
        if not group:
            return 0
        path = group[1] / (v2file if group[0] == "v2" else v1file)
        try:
            for line in path.read_text().splitlines():
                name, _, value = line.partition(" ")
                if name == key:
                    return int(value)
        except (OSError, ValueError):
            pass
        return 0

    def oom_kills(self) -> int:
        return self._counter(self.memory, "memory.events", "memory.oom_control", "oom_kill")

    def tasks_limit_hits(self) -> int:
        return self._counter(self.pids, "pids.events", "pids.events", "max")

    def peak_memory(self) -> int | None:
        if not self.memory:
            return None
        name = "memory.peak" if self.memory[0] == "v2" else "memory.max_usage_in_bytes"
        try:
            return int((self.memory[1] / name).read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return None

    def members(self) -> list[int]:
        """Live members (a zombie stays listed until its parent reaps it, but runs nothing)."""
        pids: set[int] = set()
        for d in self.dirs:
            try:
                pids.update(int(p) for p in (d / "cgroup.procs").read_text().split())
            except (OSError, ValueError):
                pass
        return sorted(p for p in pids if _alive(p))

    def kill(self) -> None:
        if self.v2 and (self.v2 / "cgroup.kill").exists():
            try:
                (self.v2 / "cgroup.kill").write_text("1")
            except OSError:
                pass
        _kill(self.members())

    def remove(self) -> None:
        for d in reversed(self.dirs):
            for _ in range(50):
                try:
                    d.rmdir()
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    _kill(self.members())
                    time.sleep(0.02)


# --------------------------------------------------------------------------------------------
# Output of a sandboxed process: drained by a thread, bounded in memory
# --------------------------------------------------------------------------------------------


class OutputSink:
    """A pipe whose reading end a thread drains, keeping the first `keep_head` and the last
    `keep_tail` bytes; the process writing into it never blocks and the host never holds more."""

    def __init__(self, keep_head: int = 0, keep_tail: int = 64 * 1024) -> None:
        self.read_fd, self.write_fd = os.pipe()
        self.keep_head, self.keep_tail = keep_head, keep_tail
        self.head, self.tail = bytearray(), bytearray()
        self.total = 0
        self._thread = threading.Thread(target=self._drain, daemon=True)
        self._thread.start()

    def _drain(self) -> None:
        while True:
            try:
                chunk = os.read(self.read_fd, 65536)
            except OSError:
                break
            if not chunk:
                break
            self.total += len(chunk)
            room = self.keep_head - len(self.head)
            if room > 0:
                self.head += chunk[:room]
            self.tail += chunk
            del self.tail[: max(0, len(self.tail) - self.keep_tail)]
        os.close(self.read_fd)

    def started(self) -> None:
        """The child has its copy of the writing end: close ours, so the end of the child ends the drain."""
        if self.write_fd >= 0:
            os.close(self.write_fd)
            self.write_fd = -1

    def finish(self, timeout: float = 5) -> None:
        self.started()
        self._thread.join(timeout)

    @property
    def truncated(self) -> bool:
        return self.total > self.keep_head

    def text(self, part: str = "tail") -> str:
        return bytes(self.head if part == "head" else self.tail).decode("utf-8", "replace")


# --------------------------------------------------------------------------------------------
# The sandbox of one grading, and its runs
# --------------------------------------------------------------------------------------------


@dataclass
class Run:
    """One sandboxed process tree (the kernel, or the evaluation)."""

    sandbox: Sandbox
    name: str
    cgroup: Cgroup | None
    pid: int | None = None  # the launcher: the first process of the run, in the host's view
    killed_for: str | None = None  # set by a watchdog: "disk"
    tasks_seen: int = 0  # tasks of the sandbox uid just before the run was killed

    def attach(self, pid: int) -> None:
        self.pid = pid

    def kill(self) -> None:
        """SIGKILL every process of this run; returns when none is left (or after 5 s of trying)."""
        sb = self.sandbox
        if sb.uid is not None:
            self.tasks_seen = max(self.tasks_seen, _count_tasks(pids_of_uid(sb.uid)))
        deadline = time.monotonic() + 5
        while True:
            left: list[int] = []
            if self.cgroup:
                self.cgroup.kill()
                left += self.cgroup.members()
            if self.pid is not None:
                tree = _session_and_descendants(self.pid) if sb.mode in ("rlimits", "off") else []
                _kill([*([self.pid] if _running_child(self.pid) else []), *tree])
                left += [p for p in tree if _alive(p)]
            if sb.uid is not None:
                mine = pids_of_uid(sb.uid)
                _kill(mine)
                left += mine
            if not left or time.monotonic() > deadline:
                return
            time.sleep(0.02)

    def oom_killed(self) -> bool:
        return bool(self.cgroup and self.cgroup.oom_kills())

    def tasks_limit_hit(self) -> bool:
        if self.cgroup and self.cgroup.tasks_limit_hits():
            return True
        return self.tasks_seen >= 0.9 * self.sandbox.limits.max_tasks

    def close(self) -> None:
        self.kill()
        if self.cgroup:
            self.cgroup.remove()


def _count_tasks(pids: list[int]) -> int:
    total = 0
    for pid in pids:
        try:
            total += len(os.listdir(f"/proc/{pid}/task"))
        except OSError:
            pass
    return total


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return state[state.rfind(")") + 2 :][:1] != "Z"


def _running_child(pid: int) -> bool:
    """Whether `pid` is still our running child: only then is it safe to signal (once reaped, the
    number may belong to someone else). Nothing is reaped here: the Popen owning it does that."""
    try:
        return os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is None
    except ChildProcessError:
        return False


@dataclass
class Sandbox:
    """The isolation of one grading: its folders, its uid, how processes are wrapped."""

    root: Path  # the grading's private folder on the host
    mode: str = "auto"
    limits: Limits = field(default_factory=Limits)
    uid: int | None = None
    runs: list[Run] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.mode = resolve_mode(self.mode)
        self.root.mkdir(parents=True, exist_ok=True)
        os.chmod(self.root, 0o711)  # the sandbox uid may pass through, not list
        self.host_dir.mkdir(mode=0o700, exist_ok=True)
        if self.mode != "off" and is_root():
            if self.mode == "bwrap" or unprivileged_can_run_python():
                self.uid = free_uid()
            else:
                self.warnings.append("the code ran as root: this Python is not usable by an unprivileged user; install bubblewrap")

    # -- folders ------------------------------------------------------------------------------
    @property
    def host_dir(self) -> Path:
        """The host's own scratch folder: never visible inside."""
        return self.root / "host"

    def writable_dir(self, name: str) -> Path:
        """A folder of the grading that the sandboxed code may write (owned by the sandbox uid)."""
        path = self.root / name
        path.mkdir(mode=0o700, exist_ok=True)
        self.give(path)
        return path

    def give(self, path: Path) -> None:
        if self.uid is not None:
            os.chown(path, self.uid, self.uid)

    def readable_copy(self, source: Path) -> Path:
        """A path to `source` the sandboxed code can read: the file itself where bubblewrap mounts
        it, else a root-owned, read-only copy (the original may sit in a home the uid cannot enter)."""
        if self.mode == "bwrap" or self.uid is None:
            return source
        folder = self.root / "data"
        folder.mkdir(mode=0o755, exist_ok=True)
        target = folder / source.name
        if not target.exists():
            shutil.copyfile(source, target)
            os.chmod(target, 0o444)
        return target

    # -- wrapping -----------------------------------------------------------------------------
    def new_run(self, name: str) -> Run:
        cgroup = None
        if self.mode != "off":
            cg = Cgroup(f"grader-{uuid.uuid4().hex[:12]}", self.limits.memory_mb * MiB, self.limits.max_tasks)
            cgroup = cg if cg.dirs else None
        if self.mode != "off" and self.uid is None and is_root() and not (cgroup and "pids" in cgroup.offered()):
            if cgroup:
                cgroup.remove()
            raise SandboxError(
                "submissions would run as root with no process limit (RLIMIT_NPROC does not bind root, and no pids cgroup is writable): "
                "install bubblewrap, or a Python that other users can run, or grade trusted code with --sandbox=off"
            )
        run = Run(self, name, cgroup)
        self.runs.append(run)
        return run

    def command(self, run: Run, argv: Sequence[str], *, cwd: Path, readable: Sequence[Path] = (), writable: Sequence[Path] = (), private_cwd: bool = True) -> list[str]:
        """`argv` wrapped in this sandbox; it starts in `cwd` (a private tmpfs under bubblewrap)."""
        if self.mode == "off":
            return list(argv)
        drop = ["--rlimit", f"fsize={self.limits.file_mb * MiB}", "--rlimit", "core=0", "--rlimit", f"nofile={self.limits.open_files}"]
        drop += ["--rlimit", f"nproc={self._nproc()}"]
        if not (run.cgroup and "memory" in run.cgroup.offered()):
            drop += ["--rlimit", f"data={self.limits.data_bytes}"]
        if self.uid is not None:
            drop += ["--uid", str(self.uid)]
        inner = [*launcher("drop", *drop, *(["--init"] if self.mode in ("unshare", "rlimits") else []), "--"), *argv]
        if self.mode == "bwrap":
            wrapped = [*self._bwrap(cwd, readable, writable, private_cwd), "--", *inner]
        elif self.mode == "unshare":
            wrapped = [unshare_path() or "unshare", "--net", "--pid", "--ipc", "--uts", "--fork", "--kill-child", "--", *inner]
        else:
            wrapped = inner
        if run.cgroup:
            wrapped = [*launcher("enter", *[a for f in run.cgroup.procs_files for a in ("--cgroup", f)], "--"), *wrapped]
        return wrapped

    def _nproc(self) -> int:
        """RLIMIT_NPROC counts every task of the uid: a dedicated uid has only the sandbox's; the
        grader's own uid also has whatever it already runs."""
        if self.uid is not None:
            return self.limits.max_tasks
        return self.limits.max_tasks + _count_tasks(pids_of_uid(os.getuid()))

    def _bwrap(self, cwd: Path, readable: Sequence[Path], writable: Sequence[Path], private_cwd: bool) -> list[str]:
        args = [bwrap_path() or "bwrap"]
        if not is_root():
            args += ["--unshare-user"]
        args += ["--unshare-net", "--unshare-pid", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try", "--hostname", "sandbox"]
        args += ["--die-with-parent", "--new-session", "--ro-bind", "/usr", "/usr"]
        for top in ("bin", "sbin", "lib", "lib32", "lib64", "libx32"):
            path = Path("/") / top
            if path.is_symlink():
                args += ["--symlink", os.readlink(path), str(path)]
            elif path.is_dir():
                args += ["--ro-bind", str(path), str(path)]
        args += ["--ro-bind", "/etc", "/etc", "--proc", "/proc", "--dev", "/dev"]
        size = str(self.limits.disk_mb * MiB)
        args += ["--perms", "1777", "--size", size, "--tmpfs", "/tmp", "--perms", "1777", "--size", str(256 * MiB), "--tmpfs", "/dev/shm"]
        ro = _outermost([p for p in [*runtime_paths(), *readable] if p.exists()])
        rw = [p for p in writable if p.exists()]
        mounts = sorted({*ro, *rw, *([cwd] if private_cwd else [])}, key=lambda p: len(p.parts))
        system = [Path(p) for p in ("/usr", "/etc", "/proc", "/dev")]
        for parent in sorted({a for p in mounts for a in p.parents if a not in (Path("/"), Path("/tmp"))}, key=lambda p: len(p.parts)):
            if parent not in mounts and not any(parent == s or s in parent.parents for s in system):
                args += ["--perms", "0755", "--dir", str(parent)]
        for path in mounts:
            if path in rw:
                args += ["--bind", str(path), str(path)]
            elif path in ro:
                args += ["--ro-bind", str(path), str(path)]
            else:
                args += ["--perms", "0777", "--size", size, "--tmpfs", str(path)]
        return [*args, "--chdir", str(cwd)]

    # -- reporting and the end ----------------------------------------------------------------
    def describe(self) -> str:
        """Which isolation was in force, in one line (it goes into the result)."""
        parts = {
            "bwrap": "bubblewrap: no network, own PID/IPC/UTS namespaces, private file system (system read-only; home, grader files and other submissions invisible)",
            "unshare": "unshare: no network, own PID/IPC/UTS namespaces; the file system is visible, read-only to the sandbox user where permissions say so",
            "rlimits": "rlimits only: network and file system NOT isolated",
            "off": "off: no sandbox",
        }
        text = [parts[self.mode]]
        if self.mode == "off":
            return text[0]
        text.append(f"uid {self.uid}" if self.uid is not None else ("user namespace" if self.mode == "bwrap" else f"same user as the grader (uid {os.getuid()})"))
        cgroup = next((r.cgroup for r in self.runs if r.cgroup), None)
        offered = cgroup.offered() if cgroup else set()
        memory = f"memory {self.limits.memory_mb} MiB ({'cgroup' if 'memory' in offered else 'RLIMIT_DATA'})"
        nproc = self.uid is not None or not is_root()  # RLIMIT_NPROC does not bind root
        tasks = f"tasks {self.limits.max_tasks} ({' + '.join(m for m, on in (('cgroup', 'pids' in offered), ('RLIMIT_NPROC', nproc)) if on)})"
        text += [memory, tasks, f"files ≤ {self.limits.file_mb} MiB, written in all ≤ {self.limits.disk_mb} MiB", f"output ≤ {self.limits.output_chars} characters"]
        return "; ".join(text + self.warnings)

    def close(self) -> None:
        for run in self.runs:
            run.close()
        if self.uid is not None and self.mode != "bwrap":
            remove_files_of(self.uid, [Path("/tmp"), Path("/var/tmp"), Path("/dev/shm")])


def _outermost(paths: list[Path]) -> list[Path]:
    """Drop paths inside another path of the list (a mount over a mount of the same tree)."""
    unique = sorted(dict.fromkeys(paths), key=lambda p: len(p.parts))
    kept: list[Path] = []
    for p in unique:
        if not any(k == p or k in p.parents for k in kept):
            kept.append(p)
    return kept


@functools.lru_cache(maxsize=None)
def runtime_paths() -> tuple[Path, ...]:
    """What a sandboxed Python needs to read: its installation, its virtual environment, its
    import path (as a fresh, isolated interpreter sees it) and the grader package itself."""
    probe = subprocess.run([sys.executable, "-I", "-c", "import sys, json; print(json.dumps(sys.path))"], capture_output=True, text=True, check=True, cwd="/")
    package = Path(__file__).resolve().parent
    checkout = package.parent if any((package.parent / n).exists() for n in ("pyproject.toml", ".git")) else None
    paths = [Path(sys.prefix), Path(sys.base_prefix), Path(sys.executable).resolve().parent.parent, package]
    for entry in json.loads(probe.stdout):
        # a source checkout on the path (a legacy editable install) is mounted as its package only:
        # its reference solutions, tests and .git stay invisible
        if entry and Path(entry).is_absolute() and Path(entry).resolve() != checkout:
            paths.append(Path(entry))
    system = (Path("/usr"), Path("/etc"), Path("/bin"), Path("/lib"), Path("/lib64"), Path("/sbin"))
    resolved = []
    for p in paths:
        p = p.resolve() if p.exists() else p
        if p.exists() and p != Path("/") and not any(p == s or s in p.parents for s in system):
            resolved.append(p)
    return tuple(_outermost(resolved))


def remove_files_of(uid: int, folders: list[Path]) -> None:
    """Remove what `uid` left in shared folders (outside bubblewrap, /tmp is the host's)."""
    for folder in folders:
        try:
            entries = list(os.scandir(folder))
        except OSError:
            continue
        for entry in entries:
            try:
                if entry.stat(follow_symlinks=False).st_uid != uid:
                    continue
                if entry.is_dir(follow_symlinks=False):
                    shutil.rmtree(entry.path, ignore_errors=True)
                else:
                    os.unlink(entry.path)
            except OSError:
                pass


def directory_size(root: Path, max_entries: int = 200_000) -> int:
    """Bytes of the files under `root` (symlinks not followed); past `max_entries` it counts as too many."""
    total, seen = 0, 0
    stack = [root]
    while stack:
        try:
            entries = list(os.scandir(stack.pop()))
        except OSError:
            continue
        for entry in entries:
            seen += 1
            if seen > max_entries:
                return 1 << 62
            try:
                st = entry.stat(follow_symlinks=False)
            except OSError:
                continue
            total += st.st_blocks * 512
            if entry.is_dir(follow_symlinks=False):
                stack.append(Path(entry.path))
    return total


# --------------------------------------------------------------------------------------------
# The launcher stages (run as `python -I -m grader.sandbox STAGE ... -- COMMAND`)
# --------------------------------------------------------------------------------------------

PR_SET_PDEATHSIG, PR_SET_NO_NEW_PRIVS, PR_CAPBSET_DROP, PR_SET_CHILD_SUBREAPER = 1, 38, 24, 36
RLIMITS = ("fsize", "core", "nproc", "data", "nofile")


def _prctl(option: int, value: int) -> int:
    libc = ctypes.CDLL(None, use_errno=True)
    return int(libc.prctl(option, ctypes.c_ulong(value), 0, 0, 0))


def _enter(args: list[str], command: list[str]) -> None:
    """Host side, before any namespace: join the run's cgroups, die with the grader."""
    for i, arg in enumerate(args):
        if arg == "--cgroup":
            with open(args[i + 1], "w") as fh:
                fh.write(str(os.getpid()))
    _prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    os.execvp(command[0], command)


def _drop(args: list[str], command: list[str]) -> None:
    """Inside the namespaces: limits, a new session, the unprivileged uid, then the command."""
    import resource  # POSIX only: imported here, so that the host side loads anywhere

    uid, init = None, False
    i = 0
    while i < len(args):
        if args[i] == "--rlimit":
            name, _, value = args[i + 1].partition("=")
            which = getattr(resource, f"RLIMIT_{name.upper()}") if name in RLIMITS else None
            if which is None:
                raise SystemExit(f"grader.sandbox: unknown limit {name}")
            limit = int(value)
            _, hard = resource.getrlimit(which)
            if hard != resource.RLIM_INFINITY and limit > hard and os.geteuid() != 0:
                limit = hard  # an unprivileged user cannot raise a hard limit; the lower one binds
            resource.setrlimit(which, (limit, limit))
            i += 2
        elif args[i] == "--uid":
            uid = int(args[i + 1])
            i += 2
        elif args[i] == "--init":
            init, i = True, i + 1
        else:
            raise SystemExit(f"grader.sandbox: unknown option {args[i]}")
    try:
        os.setsid()
    except OSError:
        pass
    if "JPY_PARENT_PID" in os.environ:
        # in a PID namespace the kernel's parent is PID 1: ipykernel would take that for its parent's
        # death and exit; PDEATHSIG (below) and the namespace end it with the grader instead
        os.environ["JPY_PARENT_PID"] = "1"
    if uid is not None:
        for cap in range(64):
            _prctl(PR_CAPBSET_DROP, cap)
        os.setgroups([])
        os.setresgid(uid, uid, uid)
        os.setresuid(uid, uid, uid)
    _prctl(PR_SET_NO_NEW_PRIVS, 1)
    _prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if init:
        _supervise(command)
    os.execvp(command[0], command)


def _supervise(command: list[str]) -> None:
    """Stay as the parent (PID 1 of an `unshare` namespace, or a subreaper): forward SIGTERM/SIGINT,
    reap orphans, and when the command exits, kill every process left and exit with its status."""
    _prctl(PR_SET_CHILD_SUBREAPER, 1)
    child = os.fork()
    if child == 0:
        os.execvp(command[0], command)
    for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(signum, lambda s, _f: os.kill(child, s))
    status = 0
    while True:
        try:
            pid, code = os.waitpid(-1, 0)
        except ChildProcessError:
            break
        except InterruptedError:
            continue
        if pid == child:
            status = os.waitstatus_to_exitcode(code)
            break
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    for _ in range(100):
        left = _session_and_descendants(os.getpid()) if os.getpid() != 1 else [int(p) for p in _proc_names() if p != "1"]
        if not left:
            break
        _kill(left)
        try:
            while os.waitpid(-1, os.WNOHANG)[0]:
                pass
        except ChildProcessError:
            pass
        time.sleep(0.01)
    os._exit(status if status >= 0 else 128 - status)


def main(argv: list[str]) -> None:
    if len(argv) < 3 or "--" not in argv:
        raise SystemExit("usage: python -m grader.sandbox enter|drop [OPTIONS] -- COMMAND")
    stage, rest = argv[1], argv[2:]
    split = rest.index("--")
    args, command = rest[:split], rest[split + 1 :]
    try:
        (_enter if stage == "enter" else _drop)(args, command)
    except OSError as exc:
        print(f"grader.sandbox: {stage}: {exc}", file=sys.stderr)
        os._exit(125 if exc.errno != errno.EAGAIN else 126)


if __name__ == "__main__":
    main(sys.argv)
