"""The sandbox modes, and which of them this machine can run.

* `bwrap`: bubblewrap, if installed and able to create the namespaces we need here;
* `unshare`: util-linux `unshare`, as root;
* `rlimits`: the limits and nothing else; `off`: no sandbox;
* `auto`: the strongest of the first three that this machine offers.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys

from grader.errors import UsageError
from grader.processes import free_uid
from grader.sandbox_launcher import launcher_command

MODES = ("auto", "bwrap", "unshare", "rlimits", "off")


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
    probe = [path, *(["--unshare-user"] if not is_root() else []), "--unshare-net", "--unshare-pid", "--unshare-ipc", "--die-with-parent", "--ro-bind", "/", "/", "--proc", "/proc", "--", "true"]
    return path if _succeeds(probe) else None


@functools.cache
def unshare_path() -> str | None:
    """util-linux `unshare`, usable as root for network and PID namespaces."""
    path = shutil.which("unshare")
    if not path or not is_root():
        return None
    return path if _succeeds([path, "--net", "--pid", "--ipc", "--uts", "--fork", "--kill-child", "--", "true"]) else None


@functools.cache
def unprivileged_can_run_python() -> bool:
    """Whether a uid with no rights can start this Python and import the grader (outside bubblewrap)."""
    if not is_root():
        return False
    cmd = launcher_command("drop", "--uid", str(free_uid()), "--", sys.executable, "-I", "-c", "import grader.kernel.setup, numpy")
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
