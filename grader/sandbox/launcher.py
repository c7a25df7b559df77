"""The launcher every sandboxed command starts with:
`python -I -m grader.sandbox.launcher enter|drop [OPTIONS] -- COMMAND`.

* `enter` (host side, before any namespace): join the run's cgroups (`--cgroup FILE`), die with the
  grader, exec the command.
* `drop` (inside the namespaces): with `--root PLAN --staging DIR [--chdir DIR]` it first builds the
  plan's root file system (`grader.sandbox.root`, the `unshare` mode); then rlimits
  (`--rlimit NAME=VALUE`), a new session, the unprivileged uid (`--uid UID`, with no capabilities),
  `no_new_privs`, the seccomp filter (`grader.sandbox.seccomp`: no kernel keyrings), death with the
  parent; with `--init` it stays as the parent that reaps orphans and, when the command exits,
  kills every process left.

It runs as a fresh, isolated interpreter, so it imports the standard library only.
"""

from __future__ import annotations

import ctypes
import errno
import os
import signal
import sys
import time

from grader.sandbox.processes import session_and_descendants, sigkill, visible_pids
from grader.sandbox.root import decode, enter_root
from grader.sandbox.seccomp import install as install_seccomp

MODULE = "grader.sandbox.launcher"
PR_SET_PDEATHSIG, PR_SET_NO_NEW_PRIVS, PR_CAPBSET_DROP, PR_SET_CHILD_SUBREAPER = 1, 38, 24, 36
RLIMITS = ("fsize", "core", "nproc", "data", "nofile", "cpu")


def launcher_command(stage: str, *args: str) -> list[str]:
    """The argv that runs `stage` ("enter" or "drop") with `args`; the caller appends `--` and the command."""
    return [sys.executable, "-I", "-m", MODULE, stage, *args]


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

    uid, init, plan, staging, chdir = None, False, None, None, None
    i = 0
    while i < len(args):
        if args[i] == "--rlimit":
            name, _, value = args[i + 1].partition("=")
            which = getattr(resource, f"RLIMIT_{name.upper()}") if name in RLIMITS else None
            if which is None:
                raise SystemExit(f"{MODULE}: unknown limit {name}")
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
        elif args[i] in ("--root", "--staging", "--chdir"):
            value = args[i + 1]
            if args[i] == "--root":
                plan = decode(value)
            elif args[i] == "--staging":
                staging = value
            else:
                chdir = value
            i += 2
        else:
            raise SystemExit(f"{MODULE}: unknown option {args[i]}")
    if plan is not None:
        if staging is None:
            raise SystemExit(f"{MODULE}: --root needs --staging")
        enter_root(plan, staging)
    if chdir is not None:
        os.chdir(chdir)
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
    install_seccomp()  # the keyrings, which no namespace isolates: the grader's session keys among them
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
        left = session_and_descendants(os.getpid()) if os.getpid() != 1 else [p for p in visible_pids() if p != 1]
        if not left:
            break
        sigkill(left)
        try:
            while os.waitpid(-1, os.WNOHANG)[0]:
                pass
        except ChildProcessError:
            pass
        time.sleep(0.01)
    os._exit(status if status >= 0 else 128 - status)


def main(argv: list[str]) -> None:
    """Run the stage named in `argv` (as `sys.argv`); an OS error exits 125 (126: out of tasks)."""
    if len(argv) < 3 or "--" not in argv:
        raise SystemExit(f"usage: python -m {MODULE} enter|drop [OPTIONS] -- COMMAND")
    stage, rest = argv[1], argv[2:]
    split = rest.index("--")
    args, command = rest[:split], rest[split + 1 :]
    try:
        (_enter if stage == "enter" else _drop)(args, command)
    except (OSError, ValueError, TypeError) as exc:
        print(f"{MODULE}: {stage}: {exc}", file=sys.stderr)
        os._exit(126 if getattr(exc, "errno", None) == errno.EAGAIN else 125)


if __name__ == "__main__":
    main(sys.argv)
