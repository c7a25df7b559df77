"""Batches that really grade (with `grade()`), on the small fixture class: a few seconds a submission.

* killed with SIGKILL halfway and run again: every result exactly once, nothing graded twice;
* hostile submissions (one kills its kernel's parent, one never ends) never stop the others;
* the Dask executor (a LocalCluster of two workers) grades the same results as the local one.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from grader.batch.run import BatchSettings, run_batch
from grader.models import GradeResult
from grader.pipeline import Options

FIXTURES = Path(__file__).parents[1] / "batch_fixtures"
STUDENTS = ["alice", "bob", "carol", "dave"]


@pytest.fixture
def klass(tmp_path) -> Path:
    subs = tmp_path / "class"
    shutil.copytree(FIXTURES / "class", subs)
    return subs


def cli(subs: Path, out: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "grader", "batch", str(subs), "-a", "mnist-callback", "-o", str(out), "--timeout", "120",
            "--lang", "en", "--progress", "plain", *extra]


def env_for(mnist_store: Path, tmpdir: Path) -> dict[str, str]:
    tmpdir.mkdir(exist_ok=True)
    return {**os.environ, "GRADER_DATA_DIR": str(mnist_store.parent), "TMPDIR": str(tmpdir)}


def committed(out: Path) -> dict[str, tuple[str, int, str]]:
    path = out / "gradebook.sqlite"
    if not path.is_file():
        return {}
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10)
    try:
        return {s: (o, g, at) for s, o, g, at in db.execute("SELECT student, outcome, gradings, graded_at FROM results")}
    except sqlite3.OperationalError:  # the schema is not there yet
        return {}
    finally:
        db.close()


def history(out: Path) -> dict[str, int]:
    db = sqlite3.connect(out / "gradebook.sqlite")
    try:
        return dict(db.execute("SELECT student, COUNT(*) FROM history GROUP BY student").fetchall())
    finally:
        db.close()


def processes_mentioning(text: str) -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and int(entry.name) != os.getpid():
            try:
                if text in (entry / "cmdline").read_bytes().decode(errors="replace"):
                    pids.append(int(entry.name))
            except OSError:
                pass
    return pids


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="needs /proc")
@pytest.mark.kernel
def test_killed_halfway_then_run_again_ends_with_every_result_exactly_once(tmp_path, klass, mnist_store):
    out = tmp_path / "out"
    env = env_for(mnist_store, tmp_path / "tmp")
    log = (tmp_path / "first.log").open("w")
    proc = subprocess.Popen(cli(klass, out, "--jobs", "1"), env=env, stdout=log, stderr=subprocess.STDOUT, cwd=tmp_path)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and len(committed(out)) < 2 and proc.poll() is None:
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)  # kill -9: no cleanup, no last commit
    proc.wait()
    log.close()
    before = committed(out)
    assert 2 <= len(before) < len(STUDENTS), (tmp_path / "first.log").read_text()

    # The killed batch's worker notices it is orphaned and stops: nothing grades on unseen.
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and processes_mentioning(str(tmp_path / "tmp")):
        time.sleep(0.2)
    assert processes_mentioning(str(tmp_path / "tmp")) == []

    again = subprocess.run(cli(klass, out, "--jobs", "2"), env=env, capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert again.returncode == 1, again.stdout + again.stderr  # every fixture fails its grade
    assert f"{len(before)} already graded" in again.stderr + again.stdout
    after = committed(out)
    assert sorted(after) == STUDENTS
    assert all(gradings == 1 for _, gradings, _ in after.values())
    assert history(out) == dict.fromkeys(STUDENTS, 1)  # never graded twice
    for student, row in before.items():
        assert after[student] == row  # kept as committed: same graded_at
    for student in STUDENTS:
        result = GradeResult.from_dict(json.loads((out / student / "result.json").read_text()))
        assert result.assignment == "mnist-callback" and not result.passed
    statuses = {s: json.loads((out / s / "result.json").read_text())["execution"]["status"] for s in STUDENTS}
    assert statuses["bob"] == "error" and statuses["carol"] == "invalid" and statuses["dave"] == "error"
    alice = json.loads((out / "alice" / "result.json").read_text())
    assert alice["metrics"]["epochs_run"] == 1  # alice really trained
    assert (out / "summary.html").is_file()

    third = subprocess.run(cli(klass, out), env=env, capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert "all already graded" in third.stderr and committed(out) == after and history(out) == dict.fromkeys(STUDENTS, 1)

    # The exports of this real batch validate too.
    from grader.cli.main import main
    from tests.exports.export_validators import validate_canvas, validate_gradescope, validate_junit, validate_moodle

    assert main(["export", "-o", str(out), "--format", "all"]) == 0
    assert len(validate_canvas((out / "exports" / "canvas.csv").read_text())["students"]) == len(STUDENTS)
    validate_moodle((out / "exports" / "moodle.csv").read_text())
    assert len(validate_junit((out / "exports" / "junit.xml").read_text())) == len(STUDENTS)
    for student in STUDENTS:
        validate_gradescope(json.loads((out / "exports" / "gradescope" / student / "results.json").read_text()))


@pytest.mark.kernel
def test_hostile_submissions_never_stop_the_others(tmp_path, mnist_store, monkeypatch):
    subs = tmp_path / "subs"
    subs.mkdir()
    for name in ("bob.py", "carol.ipynb"):
        shutil.copy(FIXTURES / "class" / name, subs / name)
    for name in ("kills_parent.py", "spins.py"):
        shutil.copy(FIXTURES / "hostile" / name, subs / name)
    monkeypatch.setenv("GRADER_DATA_DIR", str(mnist_store.parent))
    from grader.assignment import find_assignment

    assignment = find_assignment("mnist-callback")
    settings = BatchSettings(outdir=tmp_path / "out", jobs=2, progress="none")
    # 40 s: two kernels starting at once on a loaded 2-core machine took more than 15 s before kills_parent ran
    report = run_batch([subs], assignment, Options(lang="en", timeout_s=40), settings, out=io.StringIO())
    results = {s: GradeResult.from_dict(json.loads((tmp_path / "out" / s / "result.json").read_text()))
               for s in ("bob", "carol", "kills_parent", "spins")}
    assert not any(r.passed for r in results.values()) and report.exit_code == 1, report.output_errors
    assert results["bob"].execution.status == "error" and "ValueError" in results["bob"].execution.message
    assert results["carol"].execution.status == "invalid"
    assert results["spins"].execution.status == "timeout"
    assert results["kills_parent"].execution.status in ("kernel_died", "error")  # the kernel, or the worker, died: a failed result
    assert report.total == 4 and report.graded == 4


def normalised(result: GradeResult) -> dict[str, Any]:
    """What must be equal between two gradings of the same file (no timings, no machine)."""
    return {
        "passed": result.passed,
        "score": result.score,
        "status": result.execution.status,
        "checks": [(c.id, c.passed, c.score) for c in result.checks],
        "epochs": result.metrics.epochs_run,
        "submission": result.submission,
        "errors": [e.split(" (")[0] for e in result.errors],
    }


@pytest.mark.kernel
def test_dask_cluster_grades_the_same_results_as_local_workers(tmp_path, klass, mnist_store, monkeypatch):
    distributed = pytest.importorskip("distributed")
    monkeypatch.setenv("GRADER_DATA_DIR", str(mnist_store.parent))
    from grader.assignment import find_assignment

    assignment = find_assignment("mnist-callback")
    options = Options(lang="en", timeout_s=120)
    local = run_batch([klass], assignment, options, BatchSettings(outdir=tmp_path / "local", jobs=2, progress="none"), out=io.StringIO())
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        remote = run_batch([klass], assignment, options,
                           BatchSettings(outdir=tmp_path / "dask", executor="dask", scheduler=cluster.scheduler_address, progress="none"),
                           out=io.StringIO())
    assert remote.graded == local.graded == len(STUDENTS) and "Dask" in remote.executor
    for student in STUDENTS:
        a = GradeResult.from_dict(json.loads((tmp_path / "local" / student / "result.json").read_text()))
        b = GradeResult.from_dict(json.loads((tmp_path / "dask" / student / "result.json").read_text()))
        assert normalised(a) == normalised(b), student
    # The gradebook stayed here, with the same keys: a local run over the Dask output grades nothing.
    again = run_batch([klass], assignment, options, BatchSettings(outdir=tmp_path / "dask", jobs=2, progress="none"), out=io.StringIO())
    assert again.graded == 0 and again.cached == len(STUDENTS)


def _kill_own_worker(job: Any, slots: dict[str, int]) -> dict[str, Any]:
    """A task that takes its Dask worker down with it (like a segfault in the worker itself)."""
    if job.student == "victim":
        os.kill(os.getpid(), signal.SIGKILL)
    return {"student": job.student, "key": job.key, "outcome": "graded", "result": {"ok": True}, "slots": slots}


def test_a_lost_dask_worker_is_a_crashed_outcome(tmp_path):
    distributed = pytest.importorskip("distributed")
    import dask

    from grader.batch.dask_executor import DaskExecutor
    from grader.batch.jobs import Job

    outcomes: dict[str, dict[str, Any]] = {}
    with (
        dask.config.set({"distributed.scheduler.allowed-failures": 0}),
        distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster,
    ):
        executor = DaskExecutor(cluster.scheduler_address, task=_kill_own_worker)
        executor.connect()
        try:
            jobs = executor.prepare([Job(student=s, key="k", filename="a.py") for s in ("victim", "fine")])
            executor.run(jobs, lambda job, outcome: outcomes.__setitem__(job.student, outcome), lambda running: None)
        finally:
            executor.close()
    assert outcomes["fine"]["outcome"] == "graded" and sum(outcomes["fine"]["slots"].values()) == 2
    assert outcomes["victim"]["outcome"] == "crashed" and outcomes["victim"]["kind"] == "lost"
    assert "KilledWorker" in outcomes["victim"]["message"]


def test_an_unreachable_scheduler_is_a_usage_error(tmp_path, klass, monkeypatch):
    pytest.importorskip("distributed")
    from grader.batch.dask_executor import DaskExecutor
    from grader.cli.main import main

    monkeypatch.setattr(DaskExecutor, "connect_timeout", "1s")
    code = main(["batch", str(klass), "-a", "mnist-callback", "-o", str(tmp_path / "out"), "--executor", "dask",
                 "--scheduler", "tcp://127.0.0.1:9", "--progress", "none"])
    assert code == 2


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="needs /proc")
@pytest.mark.kernel
def test_sigterm_stops_the_workers_and_keeps_what_is_done(tmp_path, klass, mnist_store):
    out = tmp_path / "out"
    proc = subprocess.Popen(cli(klass, out, "--jobs", "1"), env=env_for(mnist_store, tmp_path / "tmp"), stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, cwd=tmp_path)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and not committed(out) and proc.poll() is None:
        time.sleep(0.05)
    proc.send_signal(signal.SIGTERM)
    output, _ = proc.communicate(timeout=120)
    assert proc.returncode == 130, output
    assert "run the same command again" in output
    assert processes_mentioning(str(tmp_path / "tmp")) == []  # the workers were stopped, not left behind
    db = sqlite3.connect(out / "gradebook.sqlite")
    assert db.execute("SELECT state FROM runs").fetchall() == [("interrupted",)]
    db.close()
    assert 1 <= len(committed(out)) < len(STUDENTS)
