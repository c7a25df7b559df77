"""`kill_tree`: the one way the grader ends a process and everything it started."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from grader.sandbox.processes import is_alive, kill_tree

SLEEP = "import time; time.sleep(120)"


def _gone(pids: list[int], timeout: float = 10) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not any(is_alive(p) for p in pids):
            return True
        time.sleep(0.05)
    return False


def _tree(tmp_path: Path) -> tuple[subprocess.Popen[bytes], list[int]]:
    """A root in a session of its own with three children: one in its session, one in a session of
    its own (like the kernel), and a grandchild of that one."""
    marker = tmp_path / "pids"
    code = (
        "import subprocess, sys, os\n"
        f"a = subprocess.Popen([sys.executable, '-c', {SLEEP!r}])\n"
        f"grand = {('import subprocess, sys, time; subprocess.Popen([sys.executable, ' + repr('-c') + ', ' + repr(SLEEP) + ']); time.sleep(120)')!r}\n"
        "b = subprocess.Popen([sys.executable, '-c', grand], start_new_session=True)\n"
        f"open({str(marker)!r}, 'w').write(f'{{a.pid}} {{b.pid}}')\n"
        "import time; time.sleep(120)\n"
    )
    root = subprocess.Popen([sys.executable, "-c", code], start_new_session=True)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not (marker.is_file() and len(marker.read_text().split()) == 2):
        time.sleep(0.05)
    children = [int(p) for p in marker.read_text().split()]
    return root, children


def test_kill_tree_ends_the_root_its_session_and_every_descendant(tmp_path):
    root, children = _tree(tmp_path)
    time.sleep(0.5)  # the grandchild starts
    found = kill_tree(root.pid)
    assert set(children) <= set(found) and root.pid not in found and os.getpid() not in found
    assert root.wait(timeout=10) == -9
    assert _gone(found), "every process of the tree must be killed"


def test_without_the_root_it_is_left_alone(tmp_path):
    child = subprocess.Popen([sys.executable, "-c", SLEEP], start_new_session=True)
    try:
        assert kill_tree(child.pid, root_too=False) == []
        time.sleep(0.2)
        assert child.poll() is None
    finally:
        child.kill()
        child.wait()


def test_it_never_kills_the_caller():
    assert os.getpid() not in kill_tree(os.getpid(), root_too=False)
