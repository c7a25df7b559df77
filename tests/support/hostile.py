"""The hostile corpus (tests/hostile/, one file per attack) and what grading an attack leaves:
`attack` grades one for real (a kernel: mark its tests `kernel`), `assert_contained` checks the
host afterwards."""

from __future__ import annotations

import json
import os
import re
import selectors
import socket
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from grader.assignment import find_assignment
from grader.models import GradeResult
from grader.pipeline import Options, grade
from grader.report.outputs import write_json
from grader.report.summary import summary
from grader.sandbox import processes
from tests.support.sandbox import AVAILABLE

HOSTILE = Path(__file__).resolve().parents[1] / "hostile"
TIMEOUT = 40  # the --timeout the attacks run under
GRACE = 20  # kernel start, teardown and evaluation on top of it

# Isolation attacks run in every isolating mode the machine offers; none is skipped for a weaker
# mode (tests/sandbox/test_sandbox.py's test_this_machine_isolates_untrusted_code fails where there is none).
isolating = pytest.mark.parametrize("mode", AVAILABLE)


@dataclass
class Graded:
    result: GradeResult
    elapsed: float
    out: Path
    seen: str  # everything the host shows of the result: result.json, the summary, the report

    @property
    def status(self) -> str:
        return self.result.execution.status

    @property
    def uid(self) -> int | None:
        found = re.search(r"\buid (\d+)", self.result.execution.sandbox)
        return int(found.group(1)) if found else None



def connection_waiting(listener: socket.socket, timeout: float = 0.5) -> bool:
    """Whether a connection reached `listener` (poll-based: no limit on descriptor numbers)."""
    with selectors.DefaultSelector() as selector:
        selector.register(listener, selectors.EVENT_READ)
        return bool(selector.select(timeout))


def attack(
    tmp_path: Path, name: str, *, timeout: float = TIMEOUT, mode: str = "auto", memory_mb: int | None = None, report: bool = False, **values: object
) -> Graded:
    """Grade tests/hostile/NAME (placeholders filled from `values`) and write result.json (and
    the HTML report, with `report`, where this build has one)."""
    out = tmp_path / "out"
    text = (HOSTILE / name).read_text(encoding="utf-8")
    for key, value in {"OUT": out, "SUBMISSIONS": tmp_path, **values}.items():
        text = text.replace("{{" + key + "}}", str(value))
    submission = tmp_path / name
    submission.write_text(text, encoding="utf-8")
    assignment = find_assignment("mnist-callback")
    started = time.monotonic()
    result = grade(submission, assignment, Options(lang="en", timeout_s=timeout, full=True, sandbox=mode, memory_mb=memory_mb))
    elapsed = time.monotonic() - started
    written = [write_json(result, out)]
    if report:
        try:
            from grader.report.html import write_report
        except ModuleNotFoundError:  # the HTML report is not part of this build
            pass
        else:
            written.append(write_report(result, assignment, result.lang, out / "report.html"))
    seen = "\n".join(p.read_text(encoding="utf-8") for p in written) + summary(result, written)
    return Graded(result, elapsed, out, seen)


def assert_contained(g: Graded, timeout: float = TIMEOUT) -> None:
    """What every attack must leave: a failed grade, on time, and no process of the submission."""
    assert not g.result.passed
    assert g.elapsed < timeout + GRACE, f"took {g.elapsed:.0f} s"
    if g.uid is not None:
        assert processes.pids_of_uid(g.uid) == [], "a process of the submission outlived grading"
    assert json.loads((g.out / "result.json").read_text())["passed"] is False


def processes_with(marker: str) -> list[int]:
    found = []
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                zombie = Path(f"/proc/{name}/stat").read_text().rsplit(")", 1)[1].startswith(" Z")
                if marker.encode() in Path(f"/proc/{name}/cmdline").read_bytes() and not zombie:
                    found.append(int(name))
            except OSError:
                pass
    return found


def watch_for(marker: str) -> threading.Event:
    """An event set once a process with `marker` in its command line was seen (polled in a thread)."""
    seen = threading.Event()

    def poll() -> None:
        deadline = time.monotonic() + TIMEOUT + GRACE
        while not seen.is_set() and time.monotonic() < deadline:
            if processes_with(marker):
                seen.set()
            time.sleep(0.05)

    threading.Thread(target=poll, daemon=True).start()
    return seen


def host_ip() -> str:
    """An address of this machine that is not loopback (a route lookup; nothing is sent)."""
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        probe.connect(("10.255.255.255", 1))
        return probe.getsockname()[0]
    except OSError:
        return "127.0.0.2"
    finally:
        probe.close()


def host_still_works() -> None:
    started = time.monotonic()
    subprocess.run(["true"], check=True, timeout=10)
    block = bytearray(256 << 20)
    block[:: 4096] = b"x" * len(block[:: 4096])
    assert time.monotonic() - started < 10
