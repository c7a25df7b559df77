"""Batch worker processes without TensorFlow: results, errors, signals, hard limits, orphans,
floods of output, and what a job ships to its worker."""

from __future__ import annotations

import dataclasses
import io
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

import grader
from grader.batch.discovery import discover
from grader.batch.jobs import Job
from grader.batch.local import run_job
from grader.batch.results import crash_result, failed_result
from grader.batch.run import run_batch
from grader.batch.worker import worker_main
from grader.errors import UsageError
from grader.models import GradeResult
from grader.options import resolve
from grader.pipeline import Options
from tests.batch.batch_helpers import FakeRunner, fake_result, make_class, settings

pytestmark = pytest.mark.usefixtures("no_mnist")


def job_for(tmp_path: Path, **kw: Any) -> Job:
    sub = tmp_path / "sub.py"
    sub.write_text("print('hi')")
    return Job(student="ann", key="k", filename="sub.py", path=str(sub), **kw)


def script(code: str) -> list[str]:
    return [sys.executable, "-c", code]


def test_worker_result_error_signal_and_exit(tmp_path):
    job = job_for(tmp_path)
    ok = run_job(job, argv=script("import json; json.dump({'x': 1}, open('result.json', 'w'))"))
    assert ok["outcome"] == "graded" and ok["result"] == {"x": 1}
    err = run_job(job, argv=script("import json; json.dump({'kind': 'error', 'error': 'ValueError: no'}, open('error.json', 'w'))"))
    assert err["outcome"] == "crashed" and err["kind"] == "error" and "ValueError" in err["message"]
    killed = run_job(job, argv=script("import os, signal; print('dying'); os.kill(os.getpid(), signal.SIGKILL)"))
    assert killed["kind"] == "signal" and killed["message"] == "SIGKILL" and "dying" in killed["log_tail"]
    exited = run_job(job, argv=script("import sys; sys.exit(7)"))
    assert exited["kind"] == "exit" and exited["message"] == "7"
    broken = run_job(job, argv=script("open('result.json', 'w').write('{half')"))
    assert broken["kind"] == "bad_result"


def test_worker_past_its_hard_limit_is_killed_with_its_children(tmp_path):
    marker = tmp_path / "child.pid"
    code = (f"import subprocess, sys, time; p = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(120)'], start_new_session=True);"
            f" open({str(marker)!r}, 'w').write(str(p.pid)); time.sleep(120)")
    started = time.monotonic()
    outcome = run_job(job_for(tmp_path, hard_limit_s=2.0), argv=script(code))
    assert outcome["kind"] == "timeout" and time.monotonic() - started < 30
    child = int(marker.read_text())
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and _alive(child):
        time.sleep(0.1)
    assert not _alive(child), "a grandchild in a session of its own (like the kernel) must be killed too"


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split()[2] != "Z"
    except OSError:
        return False


def test_shipped_job_carries_the_submission_and_the_assignment(tmp_path, callback_assignment):
    job = Job(student="ann", key="k", filename="sub.py", path=str(tmp_path / "sub.py"), assignment_ref=str(callback_assignment.folder),
              assignment_id=callback_assignment.id)
    (tmp_path / "sub.py").write_text("print('shipped')")
    shipped = Job.from_json(json.loads(json.dumps(job.shipped().to_json())))
    assert shipped.path is None and shipped.payload == b"print('shipped')" and "assignment.toml" in shipped.assignment_files
    check = ("import json, pathlib; j = json.load(open('job.json')); p = pathlib.Path(j['path']);"
             " a = pathlib.Path(j['assignment_ref']) / 'assignment.toml';"
             " json.dump({'text': p.read_text(), 'toml': a.is_file(), 'name': p.name}, open('result.json', 'w'))")
    outcome = run_job(shipped, argv=script(check))
    assert outcome["result"] == {"text": "print('shipped')", "toml": True, "name": "sub.py"}


def test_worker_main_grades_with_the_library_api(tmp_path, callback_assignment, monkeypatch):
    seen = {}

    def fake_grade(path, assignment, options):
        seen.update(path=path, assignment=assignment.id, options=options)
        return fake_result(assignment, path.name, True)

    monkeypatch.setattr("grader.pipeline.grade", fake_grade)
    jobdir = tmp_path / "job"
    jobdir.mkdir()
    asked = resolve(callback_assignment, Options(lang="en", timeout_s=5.0, data_dir=tmp_path))
    job = job_for(tmp_path, assignment_ref=str(callback_assignment.folder), assignment_id=callback_assignment.id, threads=3,
                  options=asked.to_json())
    (jobdir / "job.json").write_text(json.dumps(job.to_json()))
    assert worker_main(jobdir) == 0
    assert GradeResult.from_dict(json.loads((jobdir / "result.json").read_text())).passed
    options = seen["options"]
    assert options.timeout_s == 5.0 and options.data_dir == tmp_path and options.env["TF_NUM_INTRAOP_THREADS"] == "3"
    assert resolve(callback_assignment, options) == dataclasses.replace(asked, env=options.env)

    (jobdir / "job.json").write_text(json.dumps({**job.to_json(), "options": {**asked.to_json(), "time_limit": 5}}))
    assert worker_main(jobdir) == 1  # settings the worker does not know are refused, never dropped
    assert "time_limit" in json.loads((jobdir / "error.json").read_text())["error"]

    (jobdir / "job.json").write_text(json.dumps({**job.to_json(), "grader_version": "0.0.0-other"}))
    assert worker_main(jobdir) == 1
    assert json.loads((jobdir / "error.json").read_text())["kind"] == "version"

    monkeypatch.setattr("grader.pipeline.grade", lambda *a: 1 / 0)
    (jobdir / "job.json").write_text(json.dumps(job.to_json()))
    assert worker_main(jobdir) == 1
    assert "ZeroDivisionError" in json.loads((jobdir / "error.json").read_text())["error"]


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="needs /proc")
def test_an_orphaned_worker_stops_itself(tmp_path):
    """When the batch dies (kill -9), its workers notice and stop: no orphan grades on."""
    jobdir = tmp_path / "job"
    jobdir.mkdir()
    root = str(Path(grader.__file__).resolve().parent.parent)
    worker = (f"import sys, time, pathlib; sys.path.insert(0, {root!r}); from grader.batch.worker import stop_when_orphaned;"
              f" stop_when_orphaned(pathlib.Path({str(jobdir)!r})); time.sleep(120)")
    middle = f"import subprocess, sys; p = subprocess.Popen([sys.executable, '-c', {worker!r}]); print(p.pid, flush=True); import time; time.sleep(1.5)"
    out = subprocess.run([sys.executable, "-c", middle], capture_output=True, text=True, timeout=60)
    pid = int(out.stdout.split()[0])
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and _alive(pid):
        time.sleep(0.1)
    assert not _alive(pid) and not jobdir.exists()


def test_worker_module_entry_point_refuses_other_use():
    proc = subprocess.run([sys.executable, "-m", "grader.batch"], capture_output=True, text=True, timeout=60,
                          env={**os.environ, "PYTHONPATH": str(Path(grader.__file__).resolve().parent.parent)})
    assert proc.returncode == 2 and "internal" in proc.stderr


def test_a_truncated_result_file_is_written_again(tmp_path, callback_assignment):
    subs = make_class(tmp_path / "subs", **{"ann.py": "PASS"})
    out = tmp_path / "out"
    runner = FakeRunner(callback_assignment)
    run_batch([subs], callback_assignment, Options(), settings(out), runner=runner, out=io.StringIO())
    (out / "ann" / "result.json").write_text("")  # what a power cut can leave
    run_batch([subs], callback_assignment, Options(), settings(out), runner=runner, out=io.StringIO())
    assert runner.calls == ["ann"] and json.loads((out / "ann" / "result.json").read_text())["passed"] is True


def test_results_made_without_a_grading_follow_the_result_schema(callback_assignment):
    jsonschema = pytest.importorskip("jsonschema")
    schema = json.loads((Path(grader.__file__).parent / "schema" / "result.schema.json").read_text())
    for kind in ("timeout", "signal", "exit", "error", "lost", "version", "bad_result", "stopped", "result_too_large", "unreadable_error", "wrong_assignment"):
        jsonschema.validate(crash_result(callback_assignment, "a.py", "zh", {"kind": kind, "message": "x"}).to_dict(), schema)
    jsonschema.validate(failed_result(callback_assignment, "dir", "en", "invalid", "no notebook").to_dict(), schema)


def test_ids_that_differ_only_in_case_are_refused(tmp_path):
    subs = make_class(tmp_path / "subs", **{"Ann.py": "x", "ann.ipynb": "{}"})
    with pytest.raises(UsageError, match="would share the output folder"):
        discover([subs])


def test_a_flood_of_worker_output_keeps_only_its_end(tmp_path):
    flood = "import sys; [sys.stdout.write('x' * 1000 + '\\n') for _ in range(20000)]; print('THE END'); sys.exit(3)"
    outcome = run_job(job_for(tmp_path), argv=script(flood))
    assert outcome["kind"] == "exit" and outcome["log_tail"].rstrip().endswith("THE END") and len(outcome["log_tail"]) <= 4000
