"""The bubblewrap command line of a sandboxed run: its namespaces, and the mount plan of
`grader.sandbox.mounts` in bubblewrap's words."""

from __future__ import annotations

from pathlib import Path

from grader.sandbox.modes import bwrap_path
from grader.sandbox.root import Mount


def bwrap_command(cwd: Path, plan: list[Mount], *, user_namespace: bool) -> list[str]:
    """bubblewrap's arguments up to the command: the code sees `plan` and starts in `cwd`;
    `user_namespace` where the grader is not root."""
    args = [bwrap_path() or "bwrap"]
    if user_namespace:
        args += ["--unshare-user"]
    args += ["--unshare-net", "--unshare-pid", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try", "--hostname", "sandbox"]
    args += ["--die-with-parent", "--new-session"]
    for m in plan:
        args += _arguments(m)
    return [*args, "--chdir", str(cwd)]


def _arguments(m: Mount) -> list[str]:
    """One step of the plan as bubblewrap arguments."""
    if m.op in ("ro", "rw", "device"):
        return [{"ro": "--ro-bind", "rw": "--bind", "device": "--dev-bind"}[m.op], m.src, m.dest]
    if m.op == "tmpfs":
        return ["--perms", f"{m.mode:04o}", "--size", str(m.size), "--tmpfs", m.dest]
    if m.op == "dir":
        return ["--perms", f"{m.mode:04o}", "--dir", m.dest]
    if m.op == "symlink":
        return ["--symlink", m.src, m.dest]
    return [f"--{m.op}", m.dest]  # proc, dev
