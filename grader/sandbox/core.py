"""The sandbox every submission runs in: the grading kernel, and the evaluation of its model.

What is isolated, and how (docs/security.md has the full model):

* bubblewrap (`bwrap`), when it can run: no network (a network namespace of its own, loopback
  included), own PID, IPC and UTS namespaces, a new session, an empty root file system with only the
  Python runtime, the grader package, the data set file and the run's own folders mounted, the rest
  invisible; /tmp and the working directory are private, size-limited tmpfs. As root the code runs
  as a dedicated unprivileged uid with no capabilities and `no_new_privs`.
* `unshare`, as root without bubblewrap: the same namespaces, file system (one mount plan,
  `sandbox_mounts`, built by `sandbox_root`) and dedicated uid, made by the grader itself.
* `none`, only when asked for: the limits below and nothing else, for trusted code (the result,
  the summary and the report say it was unsafe). Where neither isolating mode works, grading is
  refused: untrusted code never runs as root or unisolated by default.

Limits in every mode: wall-clock time (the caller's deadline), memory (a cgroup's memory limit where
one can be written, and always RLIMIT_DATA sized for TensorFlow as a per-process backstop), CPU
time (RLIMIT_CPU), tasks (a cgroup's pids limit and RLIMIT_NPROC), size of each file
written (RLIMIT_FSIZE), no core dumps, everything written (as root in the isolating modes, the
folders shared with the host are a tmpfs of the disk limit mounted for the grading). `Run.kill()`
ends every process of a run: the cgroup, the PID namespace, and every process of the sandbox's uid.

This module holds `Sandbox` and `Run`; the parts are `sandbox_limits` (Limits), `sandbox_modes`
(modes, what this machine offers), `cgroups`, `bubblewrap` (its command line), `processes`
(/proc), `sandbox_output` (output, sizes, cleanup) and `sandbox_launcher` (the standard-library-only
`python -I -m grader.sandbox.launcher enter|drop ...` that every sandboxed command starts with).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from grader.common.files import atomic_write
from grader.sandbox.bubblewrap import bwrap_command
from grader.sandbox.cgroups import Cgroup
from grader.sandbox.launcher import launcher_command
from grader.sandbox.limits import Limits, MiB
from grader.sandbox.modes import (
    ISOLATING,
    SandboxError,
    is_root,
    resolve_mode,
    unprivileged_can_run_python,
    unshare_command,
    unshare_path,
)
from grader.sandbox.mounts import mount_plan
from grader.sandbox.output import remove_files_of
from grader.sandbox.processes import (
    count_tasks,
    free_uid,
    is_alive,
    is_running_child,
    kill_tree,
    pids_of_uid,
    sigkill,
)
from grader.sandbox.root import detach, mount_tmpfs

__all__ = ["Limits", "Run", "Sandbox", "SandboxError"]

ISOLATION = {
    "bwrap": "bubblewrap: no network, own PID/IPC/UTS namespaces, private file system (system read-only; home, grader files and other submissions invisible)",
    "unshare": "unshare: no network, own PID/IPC/UTS/mount namespaces, private file system built by the grader "
               "(system read-only; home, grader files and other submissions invisible)",
    "none": "UNSAFE, no sandbox (--sandbox none): network, file system and processes NOT isolated; limits only",
}
UNSAFE = ISOLATION["none"].split(",")[0]  # how every output names the unsafe mode
SHARED_SLACK = 64 * MiB  # the shared folders' tmpfs holds this much past the disk limit: the verdict can name it
SHARED_INODES = 200_000  # files and folders on it, at most (as many as the disk watcher walks)


@dataclass
class Run:
    """One sandboxed process tree (the kernel, or the evaluation)."""

    sandbox: Sandbox
    name: str
    cgroup: Cgroup | None
    uid: int | None = None  # the uid its code runs as (None: the grader's own)
    pid: int | None = None  # the launcher: the first process of the run, in the host's view
    killed_for: str | None = None  # set by a watchdog: "disk"
    tasks_seen: int = 0  # tasks of the sandbox uid just before the run was killed

    def attach(self, pid: int) -> None:
        """The run's first process has started as `pid`."""
        self.pid = pid

    def kill(self) -> None:
        """SIGKILL every process of this run; returns when none is left (or after 5 s of trying). A run
        that filled the shared folders past the disk limit counts as killed for it."""
        sb = self.sandbox
        if sb.shared_over_limit():
            self.killed_for = self.killed_for or "disk"
        if self.uid is not None:
            self.tasks_seen = max(self.tasks_seen, count_tasks(pids_of_uid(self.uid)))
        deadline = time.monotonic() + 5
        while True:
            left: list[int] = []
            if self.cgroup:
                self.cgroup.kill()
                left += self.cgroup.members()
            if self.pid is not None:
                root_too = is_running_child(self.pid)
                if sb.mode == "none":  # the launcher, its session and descendants
                    left += [p for p in kill_tree(self.pid, root_too=root_too) if is_alive(p)]
                elif root_too:  # the isolating modes: the uid and the cgroup reach the rest
                    sigkill([self.pid])
            if self.uid is not None:
                mine = pids_of_uid(self.uid)
                sigkill(mine)
                left += mine
            if not left or time.monotonic() > deadline:
                return
            time.sleep(0.02)

    def oom_killed(self) -> bool:
        """Whether the kernel killed a process of the run for the memory limit."""
        return bool(self.cgroup and self.cgroup.oom_kills())

    def tasks_limit_hit(self) -> bool:
        """Whether the run hit (or came within 10% of) the tasks limit."""
        if self.cgroup and self.cgroup.tasks_limit_hits():
            return True
        return self.tasks_seen >= 0.9 * self.sandbox.limits.max_tasks

    def close(self) -> None:
        """Kill the run and remove its cgroups."""
        self.kill()
        if self.cgroup:
            self.cgroup.remove()


@dataclass
class Sandbox:
    """The isolation of one grading: its folders, its uid, how processes are wrapped."""

    root: Path  # the grading's private folder on the host
    mode: str = "auto"
    limits: Limits = field(default_factory=Limits)
    uid: int | None = None
    runs: list[Run] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    _shared: Path | None = field(default=None, init=False, repr=False)  # where the writable folders live
    _mounted: Path | None = field(default=None, init=False, repr=False)  # the tmpfs mounted there, if any

    def __post_init__(self) -> None:
        self.mode = resolve_mode(self.mode)
        self.root.mkdir(parents=True, exist_ok=True)
        os.chmod(self.root, 0o711)  # the sandbox uid may pass through, not list
        self.host_dir.mkdir(mode=0o700, exist_ok=True)
        if is_root():
            if self.mode in ISOLATING or unprivileged_can_run_python():
                self.uid = free_uid()
            else:
                self.warnings.append("the code ran as root: this Python is not usable by an unprivileged user; install bubblewrap")

    # -- folders ------------------------------------------------------------------------------
    @property
    def host_dir(self) -> Path:
        """The host's own scratch folder: never visible inside."""
        return self.root / "host"

    @property
    def shared_root(self) -> Path:
        """Where the folders the sandboxed code writes and the host reads back live (`writable_dir`).
        As root in an isolating mode: a tmpfs of the disk limit (and SHARED_SLACK) mounted for this
        grading on first use, so that no write goes past the limit on the host's disk, however fast
        (one `fallocate` reserves a gigabyte in a millisecond, long before the disk watcher looks);
        `close` detaches it. Elsewhere (not root, or `none`): the grading's folder, where only the
        watcher stops a run past the limit."""
        if self._shared is None:
            self._shared = self.root
            if is_root() and self.mode in ISOLATING:
                path = self.root / "shared"
                path.mkdir(mode=0o711, exist_ok=True)
                try:
                    mount_tmpfs(str(path), self.limits.disk_mb * MiB + SHARED_SLACK, 0o711, SHARED_INODES)
                except OSError as exc:
                    self.warnings.append(f"the shared folders are on the host's disk, bounded by a watcher only (no tmpfs: {exc.strerror})")
                else:
                    self._shared = self._mounted = path
        return self._shared

    def shared_over_limit(self) -> bool:
        """Whether the shared folders' tmpfs holds more than the disk limit (False without one)."""
        if self._mounted is None:
            return False
        try:
            info = os.statvfs(self._mounted)
        except OSError:
            return False
        return (info.f_blocks - info.f_bfree) * info.f_frsize > self.limits.disk_mb * MiB

    def writable_dir(self, name: str, run: Run | None = None) -> Path:
        """A folder of the grading that the sandboxed code may write (under `shared_root`): owned by
        the uid of `run` (default: the sandbox's uid), and private to it."""
        path = self.shared_root / name
        path.mkdir(mode=0o700, exist_ok=True)
        self.give(path, run.uid if run else self.uid)
        return path

    def give(self, path: Path, uid: int | None = None) -> None:
        """Make `uid` (default: the sandbox uid; none: nothing to do) the owner of `path`."""
        uid = self.uid if uid is None else uid
        if uid is not None:
            os.chown(path, uid, uid)

    def readable_copy(self, source: Path) -> Path:
        """A private, read-only copy of `source` for the sandboxed code, in every mode: never the
        file itself, which may be the shared data set store (a write from inside would poison it
        for every grading after). The copy is 0444 in a 0755 folder of this grading, both the
        grader's (as root: a sandbox uid can neither write nor replace it), and the isolating
        modes mount it read-only as well."""
        folder = self.root / "data"
        folder.mkdir(mode=0o755, exist_ok=True)
        os.chmod(folder, 0o755)
        target = folder / source.name
        if not target.exists():
            with open(source, "rb") as original:  # a scratch copy: no flush to disk
                atomic_write(target, lambda f: shutil.copyfileobj(original, f, 1 << 20), mode=0o444, sync=False)
        return target

    # -- wrapping -----------------------------------------------------------------------------
    def new_run(self, name: str, own_uid: bool = False) -> Run:
        """A run of this sandbox, with cgroups of its own where the machine allows. With `own_uid`
        (and a sandbox uid at all) it runs as a second uid: killing the other runs, which ends every
        process of their uid, leaves it alone, and it cannot signal, trace or read them."""
        uid = self.uid
        if own_uid and uid is not None:
            taken = {uid, *(r.uid for r in self.runs)}
            while uid in taken:
                uid = free_uid()
        cg = Cgroup(f"grader-{uuid.uuid4().hex[:12]}", self.limits.memory_mb * MiB, self.limits.max_tasks)
        cgroup = cg if cg.dirs else None
        if self.uid is None and is_root() and not (cgroup and "pids" in cgroup.offered()):
            if cgroup:
                cgroup.remove()
            raise SandboxError(
                "submissions would run as root with no process limit (RLIMIT_NPROC does not bind root, and no pids cgroup is writable): "
                "install bubblewrap, or a Python that other users can run"
            )
        run = Run(self, name, cgroup, uid)
        self.runs.append(run)
        return run

    def command(self, run: Run, argv: Sequence[str], *, cwd: Path, readable: Sequence[Path] = (), writable: Sequence[Path] = (),
                private_cwd: bool = True) -> list[str]:
        """`argv` wrapped in this sandbox; it starts in `cwd` (a private tmpfs in the isolating modes)."""
        disk = self.limits.disk_mb * MiB
        if self.mode == "bwrap":
            plan = mount_plan(cwd, readable=readable, writable=writable, private_cwd=private_cwd, disk_bytes=disk)
            inner = [*launcher_command("drop", *self._drop_options(run), "--"), *argv]
            wrapped = [*bwrap_command(cwd, plan, user_namespace=not is_root()), "--", *inner]
        elif self.mode == "unshare":
            staging = self.host_dir / f"root-{uuid.uuid4().hex[:8]}"
            staging.mkdir(mode=0o700)
            wrapped = unshare_command(unshare_path() or "unshare", cwd, staging, self._drop_options(run), list(argv),
                                      readable=tuple(readable), writable=tuple(writable), private_cwd=private_cwd, disk_bytes=disk)
        else:
            wrapped = [*launcher_command("drop", *self._drop_options(run), "--"), *argv]
        if run.cgroup:
            wrapped = [*launcher_command("enter", *[a for f in run.cgroup.procs_files for a in ("--cgroup", f)], "--"), *wrapped]
        return wrapped

    def _drop_options(self, run: Run) -> list[str]:
        """The launcher's `drop` options: the rlimits, the uid, and `--init` where no PID namespace reaps."""
        limits = self.limits
        options = ["--rlimit", f"fsize={limits.file_mb * MiB}", "--rlimit", "core=0",
                   "--rlimit", f"nofile={limits.open_files}", "--rlimit", f"nproc={self._nproc(run)}"]
        # per process, whatever the cgroups do: memory (a backstop; the cgroup binds first) and CPU time
        options += ["--rlimit", f"data={limits.data_bytes}", "--rlimit", f"cpu={limits.cpu_seconds}"]
        if run.uid is not None:
            options += ["--uid", str(run.uid)]
        if self.mode == "none":
            options.append("--init")  # (the `unshare` mode's launcher is given --init by unshare_command)
        return options

    def _nproc(self, run: Run) -> int:
        """RLIMIT_NPROC counts every task of the uid: a dedicated uid has only the sandbox's; the
        grader's own uid also has whatever it already runs."""
        if run.uid is not None:
            return self.limits.max_tasks
        return self.limits.max_tasks + count_tasks(pids_of_uid(os.getuid()))

    # -- reporting and the end ----------------------------------------------------------------
    def describe(self) -> str:
        """Which isolation was in force, in one line (it goes into the result)."""
        text = [ISOLATION[self.mode]]
        if self.uid is not None:
            text.append(f"uid {self.uid}")
        else:
            text.append("user namespace" if self.mode == "bwrap" else f"same user as the grader (uid {os.getuid()})")
        cgroup = next((r.cgroup for r in self.runs if r.cgroup), None)
        offered = cgroup.offered() if cgroup else set()
        memory = f"memory {self.limits.memory_mb} MiB ({'cgroup + ' if 'memory' in offered else ''}RLIMIT_DATA {self.limits.data_bytes // MiB} MiB per process)"
        nproc = self.uid is not None or not is_root()  # RLIMIT_NPROC does not bind root
        tasks = f"tasks {self.limits.max_tasks} ({' + '.join(m for m, on in (('cgroup', 'pids' in offered), ('RLIMIT_NPROC', nproc)) if on)})"
        files = f"files ≤ {self.limits.file_mb} MiB, written in all ≤ {self.limits.disk_mb} MiB{' (tmpfs)' if self._mounted else ''}"
        text += [memory, f"CPU time {self.limits.cpu_seconds} s (RLIMIT_CPU)", tasks, files, f"output ≤ {self.limits.output_chars} characters"]
        return "; ".join(text + self.warnings)

    def close(self) -> None:
        """Kill every run, detach the shared folders' tmpfs (the host has read what it needs), remove
        the runs' cgroups, and what the uid left in the host's shared folders."""
        for run in self.runs:
            run.kill()
        if self._mounted is not None:
            with contextlib.suppress(OSError):
                detach(str(self._mounted))
            self._mounted = None
        for run in self.runs:
            run.close()
        if self.mode == "none":
            for uid in {r.uid for r in self.runs if r.uid is not None}:
                remove_files_of(uid, [Path("/tmp"), Path("/var/tmp"), Path("/dev/shm")])
