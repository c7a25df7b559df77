"""The worker processes of one local executor are its own: stopping it kills those and no other."""

from __future__ import annotations

import sys
import threading
import time
from pathlib import Path

from grader.batch.jobs import Job
from grader.batch.local import LocalExecutor, Workers, run_job


def _job(tmp_path: Path, name: str) -> Job:
    sub = tmp_path / f"{name}.py"
    sub.write_text("print('hi')")
    return Job(student=name, key="k", filename=sub.name, path=str(sub), hard_limit_s=60.0)


def test_stopping_one_set_of_workers_leaves_the_other_running(tmp_path):
    sleep = [sys.executable, "-c", "import time; print('up', flush=True); time.sleep(60)"]
    mine, other = Workers(), Workers()
    outcomes: dict[str, dict] = {}

    def grade(name: str, workers: Workers) -> None:
        outcomes[name] = run_job(_job(tmp_path, name), argv=sleep, workers=workers)

    threads = {name: threading.Thread(target=grade, args=(name, w)) for name, w in (("mine", mine), ("other", other))}
    for t in threads.values():
        t.start()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not (mine._running and other._running):
        time.sleep(0.05)
    time.sleep(0.5)
    started = time.monotonic()
    mine.stop()
    threads["mine"].join(timeout=20)
    assert outcomes["mine"]["kind"] == "signal" and time.monotonic() - started < 20
    assert "other" not in outcomes and threads["other"].is_alive()  # the other executor's worker runs on
    refused = run_job(_job(tmp_path, "late"), argv=sleep, workers=mine)  # a stopped set starts no worker
    assert refused["outcome"] == "crashed" and refused["kind"] == "stopped"
    other.stop()
    threads["other"].join(timeout=20)
    assert outcomes["other"]["kind"] == "signal"


def test_each_executor_has_workers_of_its_own():
    a, b = LocalExecutor(1), LocalExecutor(1)
    assert a.workers is not b.workers
