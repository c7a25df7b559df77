"""The sandbox modes this machine offers, skip marks, and running a few lines of Python in a sandbox."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import pytest

from grader.sandbox import core as sb
from grader.sandbox import modes as sandbox_modes
from grader.sandbox.cgroups import Cgroup

linux = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the sandbox is Linux's")
root = pytest.mark.skipif(not sandbox_modes.is_root(), reason="needs root")
needs_bwrap = pytest.mark.skipif(sandbox_modes.bwrap_path() is None, reason="bubblewrap is not usable here")
AVAILABLE = [m for m in sandbox_modes.ISOLATING if (sandbox_modes.bwrap_path() if m == "bwrap" else sandbox_modes.unshare_path())]
"""The isolating modes this machine offers: every isolation test runs in each of them."""


def run_in(
    sandbox: sb.Sandbox, code: str, *, timeout: float = 60, readable: Sequence[Path] = (), writable: Sequence[Path] = ()
) -> tuple[subprocess.CompletedProcess, sb.Run]:
    """Run `code` with this Python in a new run of `sandbox` (in its folder work/)."""
    run = sandbox.new_run("test")
    cwd = sandbox.root / "work"
    cwd.mkdir(exist_ok=True)
    sandbox.give(cwd)
    cmd = sandbox.command(run, [sys.executable, "-c", code], cwd=cwd, readable=readable, writable=writable)
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=timeout, check=False)
    return proc, run


class NoMemoryCgroup(Cgroup):
    """A machine where no memory cgroup can be written: the pids group stays, memory is not limited."""

    def _limit(self, memory_bytes: int, tasks: int) -> None:
        super()._limit(memory_bytes, tasks)
        self.memory = None
        for d in self.dirs:
            for name in ("memory.max", "memory.memsw.limit_in_bytes", "memory.limit_in_bytes"):  # v1: memsw first
                if (d / name).exists():  # undo: nothing but RLIMIT_DATA may stop the test
                    (d / name).write_text("max" if name == "memory.max" else "-1")
