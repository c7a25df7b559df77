"""Build a sandbox's root file system from a mount plan, inside a new mount namespace, as root:
what bubblewrap does, for machines that lack it (the `unshare` mode).

The launcher (`grader.sandbox.launcher drop --root PLAN`) calls :func:`enter_root` after `unshare`
made the namespaces and before it drops to the sandbox's uid. The result: an empty tmpfs root
holding only the plan's mounts, the host's root detached (unreachable, not merely hidden), a
private `/proc` of the run's PID namespace, a minimal `/dev`, private `/tmp` and `/dev/shm`;
every bind mount `nosuid,nodev`, read-only unless the plan says otherwise.

Standard library only: it runs in the launcher, a fresh isolated interpreter.
"""

from __future__ import annotations

import ctypes
import json
import os
import platform
from dataclasses import asdict, dataclass

MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 1, 2, 4, 8
MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = 32, 4096, 16384, 1 << 18
MNT_DETACH = 2
SYS_PIVOT_ROOT = {"x86_64": 155, "aarch64": 41, "ppc64le": 203, "s390x": 217}
DEVICES = ("null", "zero", "full", "random", "urandom", "tty")
OPS = ("ro", "rw", "device", "tmpfs", "dir", "symlink", "proc", "dev")


@dataclass(frozen=True)
class Mount:
    """One step of a plan. `op`: ro | rw | device (bind `src` at `dest`), tmpfs (of `size` bytes),
    dir (an empty folder), symlink (`dest` pointing to `src`), proc, dev (a minimal /dev)."""

    op: str
    dest: str
    src: str = ""
    size: int = 0
    mode: int = 0o755


def encode(plan: list[Mount]) -> str:
    """The plan as one command-line argument."""
    return json.dumps([asdict(m) for m in plan], separators=(",", ":"))


def decode(text: str) -> list[Mount]:
    """The plan from `encode`; anything else is refused."""
    plan = [Mount(**item) for item in json.loads(text)]
    for m in plan:
        if m.op not in OPS or not m.dest.startswith("/") or ".." in m.dest.split("/"):
            raise ValueError(f"bad mount in plan: {m}")
    return plan


_libc = ctypes.CDLL(None, use_errno=True)


def _check(result: int, what: str) -> None:
    if result != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")


def _mount(source: str | None, target: str, fstype: str | None, flags: int, data: str | None = None) -> None:
    enc = lambda s: s.encode() if s is not None else None  # noqa: E731
    _check(_libc.mount(enc(source), enc(target), enc(fstype), ctypes.c_ulong(flags), enc(data)), f"mount {target}")


def _pivot_root(new_root: str, put_old: str) -> None:
    number = SYS_PIVOT_ROOT.get(platform.machine())
    if number is None:
        raise OSError(0, f"pivot_root: unsupported machine {platform.machine()}")
    _check(_libc.syscall(ctypes.c_long(number), new_root.encode(), put_old.encode()), "pivot_root")


def _umount(target: str, flags: int) -> None:
    _check(_libc.umount2(target.encode(), ctypes.c_int(flags)), f"umount {target}")


def _make_point(target: str, like_dir: bool) -> None:
    """An empty folder or file to mount on (parents made 0755, root-owned)."""
    os.makedirs(os.path.dirname(target) or "/", mode=0o755, exist_ok=True)
    if like_dir:
        os.makedirs(target, mode=0o755, exist_ok=True)
    elif not os.path.exists(target):
        os.close(os.open(target, os.O_CREAT | os.O_WRONLY, 0o644))


def _bind(src: str, target: str, *, writable: bool, device: bool = False) -> None:
    """Bind `src` (not its submounts) at `target`, then remount `nosuid` and, for a file or folder,
    `nodev` (a device node: `noexec` instead), read-only unless `writable`."""
    _make_point(target, os.path.isdir(src))
    _mount(src, target, None, MS_BIND)
    flags = MS_NOEXEC if device else MS_NODEV
    _mount(None, target, None, MS_REMOUNT | MS_BIND | MS_NOSUID | flags | (0 if writable else MS_RDONLY))


def mount_tmpfs(target: str, size: int, mode: int, inodes: int) -> None:
    """A tmpfs of `size` bytes and at most `inodes` files at the existing folder `target`
    (`nosuid`, `nodev`), in this process's mount namespace: as root, the host's."""
    _mount("tmpfs", target, "tmpfs", MS_NOSUID | MS_NODEV, f"mode={mode:o},size={max(size, 4096)},nr_inodes={inodes}")


def detach(target: str) -> None:
    """Detach the mount at `target` from the file system tree (it is freed once nothing uses it)."""
    _umount(target, MNT_DETACH)


def _tmpfs(target: str, size: int, mode: int) -> None:
    _make_point(target, True)
    _mount("tmpfs", target, "tmpfs", MS_NOSUID | MS_NODEV, f"mode={mode:o},size={max(size, 4096)}")


def _dev(target: str) -> None:
    """A minimal /dev: the harmless character devices, and the usual links."""
    _tmpfs(target, 64 * 1024, 0o755)
    for name in DEVICES:
        if os.path.exists(f"/dev/{name}"):
            _bind(f"/dev/{name}", f"{target}/{name}", writable=True, device=True)
    for name, link in (("fd", "/proc/self/fd"), ("stdin", "/proc/self/fd/0"), ("stdout", "/proc/self/fd/1"), ("stderr", "/proc/self/fd/2")):
        os.symlink(link, f"{target}/{name}")


def enter_root(plan: list[Mount], staging: str) -> None:
    """Make the plan the root of this mount namespace; `staging` is an empty folder to build it in.
    Must run as root, in a mount namespace of its own and (for `/proc`) the run's PID namespace."""
    _mount(None, "/", None, MS_REC | MS_PRIVATE)  # nothing done here reaches the host
    _mount("tmpfs", staging, "tmpfs", MS_NOSUID | MS_NODEV, "mode=755,size=1048576")
    for m in plan:
        target = staging + m.dest
        if m.op in ("ro", "rw", "device"):
            _bind(m.src, target, writable=m.op != "ro", device=m.op == "device")
        elif m.op == "tmpfs":
            _tmpfs(target, m.size, m.mode)
        elif m.op == "dir":
            _make_point(target, True)
            os.chmod(target, m.mode)
        elif m.op == "symlink":
            os.makedirs(os.path.dirname(target), mode=0o755, exist_ok=True)
            os.symlink(m.src, target)
        elif m.op == "proc":
            _make_point(target, True)
            _mount("proc", target, "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
        elif m.op == "dev":
            _dev(target)
    os.chdir(staging)
    _pivot_root(".", ".")  # the host's root is stacked under the new one ...
    _umount(".", MNT_DETACH)  # ... and detached: no path, no file descriptor leads back to it
    os.chdir("/")
    _mount(None, "/", None, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV, "mode=755")
