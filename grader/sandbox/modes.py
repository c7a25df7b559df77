"""The sandbox modes, and which of them this machine can run.

* `bwrap`: bubblewrap, if installed and able to create the namespaces we need here;
* `unshare`: as root without bubblewrap, the same isolation built by the grader itself: util-linux
  `unshare` makes the namespaces, `grader.sandbox.root` the file system, the launcher drops to a
  dedicated uid (available only where a probe run of this Python in it succeeds);
* `none`: the limits and nothing else, for trusted code only; never chosen by `auto`;
* `auto`: `bwrap`, else `unshare`; where neither works, grading is refused (fail closed).
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from grader.errors import UsageError
from grader.sandbox.launcher import launcher_command
from grader.sandbox.mounts import mount_plan
from grader.sandbox.processes import free_uid
from grader.sandbox.root import encode

MODES = ("auto", "bwrap", "unshare", "none")
ISOLATING = ("bwrap", "unshare")
UNSHARE_FLAGS = ("--mount", "--propagation", "private", "--net", "--pid", "--ipc", "--uts", "--cgroup", "--fork", "--kill-child")
PROBE = ("-I", "-c", "import grader.inside.setup, numpy")
INSTALL_ADVICE = (
    "install bubblewrap (Debian/Ubuntu: apt-get install bubblewrap; Fedora: dnf install bubblewrap), "
    "or run the grader as root where util-linux 'unshare' works; "
    "only for code you trust: --sandbox none"
)


class SandboxError(UsageError):
    """The sandbox asked for cannot be set up on this machine."""


def is_root() -> bool:
    """Whether the grader runs as root (it then runs the sandboxed code as a uid of its own)."""
    return hasattr(os, "geteuid") and os.geteuid() == 0


@functools.cache
def bwrap_path() -> str | None:
    """bubblewrap, if it is installed and can create the namespaces we need here."""
    path = shutil.which("bwrap")
    if not path or not sys.platform.startswith("linux"):
        return None
    probe = [path, *(["--unshare-user"] if not is_root() else []), "--unshare-net", "--unshare-pid", "--unshare-ipc", "--die-with-parent",
             "--ro-bind", "/", "/", "--proc", "/proc", "--", "true"]
    return path if _succeeds(probe) else None


@functools.cache
def unshare_path() -> str | None:
    """util-linux `unshare`, if the grader's own namespace sandbox works here: as root, a probe
    run of this Python, as a dedicated uid inside the built root, imports the grader."""
    path = shutil.which("unshare")
    if not path or not is_root() or not sys.platform.startswith("linux"):
        return None
    with tempfile.TemporaryDirectory(prefix="grader-probe-") as tmp:
        cwd, staging = Path(tmp) / "work", Path(tmp) / "root"
        cwd.mkdir()
        staging.mkdir(mode=0o700)
        os.chmod(tmp, 0o711)
        return path if _succeeds(unshare_command(path, cwd, staging, ["--uid", str(free_uid())], [sys.executable, *PROBE])) else None


def unshare_command(unshare: str, cwd: Path, staging: Path, drop_options: list[str], argv: list[str], *, readable: tuple[Path, ...] = (),
                    writable: tuple[Path, ...] = (), private_cwd: bool = True, disk_bytes: int = 64 << 20) -> list[str]:
    """`argv` in the `unshare` mode: new namespaces, the plan's root built in `staging`, then the launcher's drop."""
    plan = mount_plan(cwd, readable=readable, writable=writable, private_cwd=private_cwd, disk_bytes=disk_bytes)
    root = ["--root", encode(plan), "--staging", str(staging), "--chdir", str(cwd)]
    return [unshare, *UNSHARE_FLAGS, "--", *launcher_command("drop", *root, *drop_options, "--init", "--"), *argv]


@functools.cache
def unprivileged_can_run_python() -> bool:
    """Whether a uid with no rights can start this Python and import the grader, with no sandbox
    around it (the `none` mode: else that mode runs the code as root)."""
    if not is_root():
        return False
    return _succeeds(launcher_command("drop", "--uid", str(free_uid()), "--", sys.executable, *PROBE), cwd="/")


def _succeeds(cmd: list[str], cwd: str | None = None) -> bool:
    try:
        quiet = subprocess.DEVNULL
        return subprocess.run(cmd, stdin=quiet, stdout=quiet, stderr=quiet, timeout=60, cwd=cwd, check=False).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def resolve_mode(mode: str) -> str:
    """The concrete mode for `mode` ("auto": the strongest this machine offers; none: refused)."""
    if mode not in MODES:
        raise SandboxError(f"unknown sandbox mode '{mode}' (known: {', '.join(MODES)})")
    if mode == "auto":
        if bwrap_path():
            return "bwrap"
        if unshare_path():
            return "unshare"
        raise SandboxError(f"no safe sandbox can be set up on this machine, so nothing is graded: {INSTALL_ADVICE}")
    if mode == "bwrap" and not bwrap_path():
        raise SandboxError("bubblewrap (bwrap) is not installed or cannot create namespaces here; "
                           "install the 'bubblewrap' package, or choose another --sandbox")
    if mode == "unshare" and not unshare_path():
        raise SandboxError("the 'unshare' sandbox needs root, util-linux unshare, and a Python that runs in it; choose another --sandbox")
    return mode
