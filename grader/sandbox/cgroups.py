"""The control groups of one sandboxed run: a v2 group where the machine has one (membership,
`cgroup.kill`, CPU time, its memory and pids controllers), plus v1 groups for what v2 lacks here.

A memory limit counts as binding only where swap cannot carry the run past it: the swap limit was
written (v2 `memory.swap.max`, v1 `memory.memsw.limit_in_bytes`) or the machine has no swap.
Either way every process also has RLIMIT_DATA (`grader.sandbox.limits`), and the sandboxed code
runs as a uid that cannot write these files, so it can neither leave its groups nor raise them."""

from __future__ import annotations

import time
from pathlib import Path
from typing import NamedTuple

from grader.sandbox.processes import is_alive, sigkill

STALE_S = 3600  # an empty group of a grader this old was left behind by a grader that was killed
WANTED = frozenset({"memory", "pids"})
ACCOUNTING = "cpuacct"  # the v1 controller that counts CPU time (v2 counts it in every group)


class CgroupMount(NamedTuple):
    """One cgroup file system, as /proc/self/mountinfo lists it."""

    fstype: str  # "cgroup" (v1) or "cgroup2"
    point: str  # where it is mounted
    root: str  # the group of the hierarchy mounted there
    options: set[str]  # super options: the v1 controllers


class Controller(NamedTuple):
    """Where one controller of the run lives."""

    version: str  # "v1" or "v2"
    group: Path


def _mounts() -> list[CgroupMount]:
    """The cgroup mounts this process sees."""
    try:
        lines = Path("/proc/self/mountinfo").read_text().splitlines()
    except OSError:
        return []
    mounts = []
    for line in lines:
        left, _, right = line.partition(" - ")
        parts, rparts = left.split(), right.split()
        if len(parts) >= 5 and rparts and rparts[0] in ("cgroup", "cgroup2"):
            mounts.append(CgroupMount(rparts[0], parts[4], parts[3], set(rparts[2].split(",")) if len(rparts) > 2 else set()))
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


def _folder_of(mount: CgroupMount, path: str) -> Path | None:
    """The folder of cgroup `path` under `mount`, or None if that mount does not show it."""
    root = mount.root
    if not (path == root or path.startswith(root.rstrip("/") + "/")):
        return None
    return Path(mount.point) / path[len(root) :].lstrip("/")


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


def _controllers(group: Path) -> set[str]:
    return set((group / "cgroup.controllers").read_text().split())


def machine_has_swap() -> bool:
    """Whether this machine can swap (unknown counts as yes: a memory limit is not assumed to bind)."""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("SwapTotal:"):
                return int(line.split()[1]) > 0
    except (OSError, ValueError, IndexError):
        pass
    return True


class Cgroup:
    """The control groups of one run: a v2 group (membership, `cgroup.kill`, and its controllers),
    plus v1 groups for the controllers (memory, pids) that v2 does not offer on this machine."""

    def __init__(self, name: str, memory_bytes: int, tasks: int) -> None:
        self.dirs: list[Path] = []  # every group the run joins
        self.memory: Controller | None = None
        self.pids: Controller | None = None
        self.cpu: Controller | None = None  # where the run's CPU time is counted
        self.v2: Path | None = None
        self.swap_limited = False  # the memory limit covers swap too
        mounts, own = _mounts(), _own_cgroups()
        v2 = next((m for m in mounts if m.fstype == "cgroup2"), None)
        if v2 and "" in own:
            self._make_v2(v2, own[""], name)
        missing = sorted({c for c in WANTED if not getattr(self, c)} | ({ACCOUNTING} if not self.cpu else set()))
        for controller in missing:
            mount = next((m for m in mounts if m.fstype == "cgroup" and controller in m.options), None)
            if mount and controller in own:
                base = _folder_of(mount, own[controller])
                if base is not None:
                    self._make_v1(controller, base / name)
        self._limit(memory_bytes, tasks)

    def offered(self) -> set[str]:
        """The controllers that limit this run: "memory" (where swap cannot carry it past the
        limit), "pids", both or neither."""
        binds = self.memory and (self.swap_limited or not machine_has_swap())
        return {c for c, on in (("memory", binds), ("pids", self.pids)) if on}

    def _make_v2(self, mount: CgroupMount, own: str, name: str) -> None:
        """A v2 group next to ours, else next to our parent (enabling the controllers it lacks)."""
        base = _folder_of(mount, own)
        if base is None:
            return
        for parent in dict.fromkeys([base, base.parent if base != Path(mount.point) else base]):
            _remove_stale(parent)
            group = parent / name
            try:
                group.mkdir()
            except OSError:
                continue
            available = _controllers(group)
            enable = [c for c in WANTED - available if c in _controllers(parent)]
            if enable:
                try:
                    (parent / "cgroup.subtree_control").write_text(" ".join(f"+{c}" for c in enable))
                except OSError:
                    pass
                available = _controllers(group)
            self.v2 = group
            self.dirs.append(group)
            self.cpu = Controller("v2", group)  # cpu.stat is in every v2 group
            if "memory" in available:
                self.memory = Controller("v2", group)
            if "pids" in available:
                self.pids = Controller("v2", group)
            return

    def _make_v1(self, controller: str, group: Path) -> None:
        if group not in self.dirs:  # controllers mounted together share one group
            _remove_stale(group.parent)
            try:
                group.mkdir()
            except OSError:
                return
            self.dirs.append(group)
        setattr(self, "cpu" if controller == ACCOUNTING else controller, Controller("v1", group))

    def _limit(self, memory_bytes: int, tasks: int) -> None:
        """Write the limits; a controller whose limit cannot be written counts as not offered."""
        writes: list[tuple[Path, str]] = []
        if self.memory and self.memory.version == "v2":
            g = self.memory.group
            writes += [(g / "memory.max", str(memory_bytes)), (g / "memory.swap.max", "0"), (g / "memory.oom.group", "1")]
        elif self.memory:
            g = self.memory.group
            writes += [(g / "memory.limit_in_bytes", str(memory_bytes)), (g / "memory.memsw.limit_in_bytes", str(memory_bytes))]
        if self.pids:
            writes.append((self.pids.group / "pids.max", str(tasks)))
        for path, value in writes:
            try:
                path.write_text(value)
            except OSError:
                if path.name in ("memory.max", "memory.limit_in_bytes"):
                    self.memory = None
                elif path.name == "pids.max":
                    self.pids = None
            else:
                if path.name in ("memory.swap.max", "memory.memsw.limit_in_bytes"):
                    self.swap_limited = True

    @property
    def procs_files(self) -> list[str]:
        """The `cgroup.procs` file of each group: writing a pid there makes it join."""
        return [str(d / "cgroup.procs") for d in self.dirs]

    @staticmethod
    def _counter(controller: Controller | None, v2file: str, v1file: str, key: str) -> int:
        if not controller:
            return 0
        path = controller.group / (v2file if controller.version == "v2" else v1file)
        try:
            for line in path.read_text().splitlines():
                name, _, value = line.partition(" ")
                if name == key:
                    return int(value)
        except (OSError, ValueError):
            pass
        return 0

    def oom_kills(self) -> int:
        """Processes the kernel killed for the memory limit."""
        return self._counter(self.memory, "memory.events", "memory.oom_control", "oom_kill")

    def tasks_limit_hits(self) -> int:
        """Times a fork or a new thread failed for the pids limit."""
        return self._counter(self.pids, "pids.events", "pids.events", "max")

    def cpu_seconds(self) -> float:
        """CPU time used by every process of the run so far, dead ones included (0.0: not counted)."""
        if self.cpu and self.cpu.version == "v2":
            return self._counter(self.cpu, "cpu.stat", "", "usage_usec") / 1e6
        try:
            return int((self.cpu.group / "cpuacct.usage").read_text()) / 1e9 if self.cpu else 0.0
        except (OSError, ValueError):
            return 0.0

    def members(self) -> list[int]:
        """Live members (a zombie stays listed until its parent reaps it, but runs nothing)."""
        pids: set[int] = set()
        for d in self.dirs:
            try:
                pids.update(int(p) for p in (d / "cgroup.procs").read_text().split())
            except (OSError, ValueError):
                pass
        return sorted(p for p in pids if is_alive(p))

    def kill(self) -> None:
        """SIGKILL every member (`cgroup.kill` where v2 has it)."""
        if self.v2 and (self.v2 / "cgroup.kill").exists():
            try:
                (self.v2 / "cgroup.kill").write_text("1")
            except OSError:
                pass
        sigkill(self.members())

    def remove(self) -> None:
        """Remove the groups, killing what is still in them."""
        for d in reversed(self.dirs):
            for _ in range(50):
                try:
                    d.rmdir()
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    sigkill(self.members())
                    time.sleep(0.02)
