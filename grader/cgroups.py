"""The control groups of one sandboxed run: a v2 group where the machine has one (membership,
`cgroup.kill`, its memory and pids controllers), plus v1 groups for the controllers v2 lacks here."""

from __future__ import annotations

import time
from pathlib import Path
from typing import NamedTuple

from grader.processes import is_alive, sigkill

STALE_S = 3600  # an empty group of a grader this old was left behind by a grader that was killed
WANTED = frozenset({"memory", "pids"})


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


class Cgroup:
    """The control groups of one run: a v2 group (membership, `cgroup.kill`, and its controllers),
    plus v1 groups for the controllers (memory, pids) that v2 does not offer on this machine."""

    def __init__(self, name: str, memory_bytes: int, tasks: int) -> None:
        self.dirs: list[Path] = []  # every group the run joins
        self.memory: Controller | None = None
        self.pids: Controller | None = None
        self.v2: Path | None = None
        mounts, own = _mounts(), _own_cgroups()
        v2 = next((m for m in mounts if m.fstype == "cgroup2"), None)
        if v2 and "" in own:
            self._make_v2(v2, own[""], name)
        for controller in sorted(WANTED - self.offered()):
            mount = next((m for m in mounts if m.fstype == "cgroup" and controller in m.options), None)
            if mount and controller in own:
                base = _folder_of(mount, own[controller])
                if base is not None:
                    self._make_v1(controller, base / name)
        self._limit(memory_bytes, tasks)

    def offered(self) -> set[str]:
        """The controllers that limit this run: "memory", "pids", both or neither."""
        return {c for c, g in (("memory", self.memory), ("pids", self.pids)) if g}

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
            if "memory" in available:
                self.memory = Controller("v2", group)
            if "pids" in available:
                self.pids = Controller("v2", group)
            return

    def _make_v1(self, controller: str, group: Path) -> None:
        _remove_stale(group.parent)
        try:
            group.mkdir()
        except OSError:
            return
        self.dirs.append(group)
        if controller == "memory":
            self.memory = Controller("v1", group)
        else:
            self.pids = Controller("v1", group)

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
