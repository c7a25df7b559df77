"""The file system a sandboxed run sees, as data: an empty root with the system read-only, the
Python runtime and the grader package, what the run may read or write, private tmpfs folders.

One plan, two executors: `grader.sandbox.bubblewrap` turns it into bubblewrap's arguments, and
`grader.sandbox.root` builds it itself in a mount namespace where bubblewrap is missing.
"""

from __future__ import annotations

import functools
import glob
import json
import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from grader.sandbox.limits import MiB
from grader.sandbox.root import Mount

SYSTEM_MOUNTS = tuple(Path(p) for p in ("/usr", "/etc", "/proc", "/dev"))
SYSTEM_TREES = tuple(Path(p) for p in ("/usr", "/etc", "/bin", "/lib", "/lib64", "/sbin"))
SHM_BYTES = 256 * MiB
HIDDEN_SYSTEM_DIRS = ("/usr/share/datasets",)  # Debian's data set packages: the public test sets, held-out rows included


def mount_plan(cwd: Path, *, readable: Sequence[Path], writable: Sequence[Path], private_cwd: bool, disk_bytes: int) -> list[Mount]:
    """What the run sees, in mount order: the code starts in `cwd`, a private tmpfs of `disk_bytes`
    unless `private_cwd` is false; `readable` read-only, `writable` read-write, nothing else of the host."""
    plan = [Mount("ro", "/usr", "/usr")]
    plan += [Mount("tmpfs", d, size=4096, mode=0o555) for d in HIDDEN_SYSTEM_DIRS if Path(d).is_dir()]  # empty: no public test set
    for top in ("bin", "sbin", "lib", "lib32", "lib64", "libx32"):
        path = Path("/") / top
        if path.is_symlink():
            plan.append(Mount("symlink", str(path), os.readlink(path)))
        elif path.is_dir():
            plan.append(Mount("ro", str(path), str(path)))
    plan += [Mount("ro", "/etc", "/etc"), Mount("proc", "/proc"), Mount("dev", "/dev")]
    plan += [Mount("device", d, d) for d in sorted(glob.glob("/dev/nvidia*"))]  # a GPU, where the machine has one
    plan += [Mount("tmpfs", "/tmp", size=disk_bytes, mode=0o1777), Mount("tmpfs", "/dev/shm", size=SHM_BYTES, mode=0o1777)]
    ro = _outermost([p for p in [*runtime_paths(), *readable] if p.exists()])
    rw = [p for p in writable if p.exists()]
    mounts = sorted({*ro, *rw, *([cwd] if private_cwd else [])}, key=lambda p: len(p.parts))
    for parent in sorted({a for p in mounts for a in p.parents if a not in (Path("/"), Path("/tmp"))}, key=lambda p: len(p.parts)):
        if parent not in mounts and not _within(parent, SYSTEM_MOUNTS):
            plan.append(Mount("dir", str(parent), mode=0o755))
    for path in mounts:
        if path in rw:
            plan.append(Mount("rw", str(path), str(path)))
        elif path in ro:
            plan.append(Mount("ro", str(path), str(path)))
        else:
            plan.append(Mount("tmpfs", str(path), size=disk_bytes, mode=0o777))
    return plan


def _within(path: Path, trees: Sequence[Path]) -> bool:
    """Whether `path` is one of `trees` or inside one."""
    return any(path == t or t in path.parents for t in trees)


def _outermost(paths: list[Path]) -> list[Path]:
    """Drop paths inside another path of the list (a mount over a mount of the same tree)."""
    kept: list[Path] = []
    for p in sorted(dict.fromkeys(paths), key=lambda p: len(p.parts)):
        if not _within(p, kept):
            kept.append(p)
    return kept


@functools.cache
def runtime_paths() -> tuple[Path, ...]:
    """What a sandboxed Python needs to read: its installation, its virtual environment, its
    import path (as a fresh, isolated interpreter sees it) and the grader package itself."""
    probe = subprocess.run([sys.executable, "-I", "-c", "import sys, json; print(json.dumps(sys.path))"], capture_output=True, text=True, check=True, cwd="/")
    package = Path(__file__).resolve().parents[1]
    checkout = package.parent if any((package.parent / n).exists() for n in ("pyproject.toml", ".git")) else None
    paths = [Path(sys.prefix), Path(sys.base_prefix), Path(sys.executable).resolve().parent.parent, package]
    for entry in json.loads(probe.stdout):
        # a source checkout on the path (a legacy editable install) is mounted as its package only:
        # its reference solutions, tests and .git stay invisible
        if entry and Path(entry).is_absolute() and Path(entry).resolve() != checkout:
            paths.append(Path(entry))
    resolved = []
    for p in paths:
        p = p.resolve() if p.exists() else p
        if p.exists() and p != Path("/") and not _within(p, SYSTEM_TREES):
            resolved.append(p)
    return tuple(_outermost(resolved))
