"""Batch mechanics without TensorFlow (discovery is in test_discovery.py): keys, the gradebook, crash handling, progress,
the thread rule and exit codes. Grading is replaced by fake runners (in-process) or by tiny
worker scripts (subprocesses that do not import the grader's pipeline)."""

from __future__ import annotations

import dataclasses
import io
import json
import shutil
import sqlite3
from pathlib import Path

import pytest

from grader.batch import local, run
from grader.batch.gradebook import Gradebook
from grader.batch.jobs import Job
from grader.batch.keys import grading_key, grading_options
from grader.batch.local import LocalExecutor
from grader.batch.machine import default_jobs, thread_env, threads_per_grading
from grader.batch.progress import Progress
from grader.batch.results import crash_result
from grader.batch.run import run_batch
from grader.cli.main import main
from grader.errors import (
    EXIT_FAILED,
    EXIT_INTERNAL,
    EXIT_PASSED,
    EXIT_USAGE,
    UsageError,
)
from grader.models import GradeResult
from grader.options import resolve
from grader.pipeline import Options
from tests.batch.batch_helpers import FakeRunner, fake_result, make_class, rows, settings

FIXTURES = Path(__file__).parents[1] / "batch_fixtures"
pytestmark = pytest.mark.usefixtures("no_mnist")



# -------------------------------------------------------------------------------- keys and resume


def test_grades_once_then_keeps_and_regrades_only_a_changed_file(tmp_path, callback_assignment):
    subs = make_class(tmp_path / "subs", **{"ann.py": "PASS", "ben.py": "fail", "cat.py": "PASS"})
    out = tmp_path / "out"
    runner = FakeRunner(callback_assignment)
    report = run_batch([subs], callback_assignment, Options(), settings(out), runner=runner, out=io.StringIO())
    assert sorted(runner.calls) == ["ann", "ben", "cat"] and report.graded == 3 and report.exit_code == EXIT_FAILED
    first = rows(out)
    assert {s: r[1] for s, r in first.items()} == {"ann": 1, "ben": 1, "cat": 1}
    assert json.loads((out / "ann" / "result.json").read_text())["passed"] is True

    runner.calls.clear()
    report = run_batch([subs], callback_assignment, Options(), settings(out), runner=runner, out=io.StringIO())
    assert runner.calls == [] and report.cached == 3 and report.graded == 0
    assert rows(out) == first  # nothing graded twice: same graded_at, same counters

    (subs / "ben.py").write_text("PASS now")
    report = run_batch([subs], callback_assignment, Options(), settings(out), runner=runner, out=io.StringIO())
    assert runner.calls == ["ben"] and report.exit_code == EXIT_PASSED
    after = rows(out)
    assert after["ben"][1] == 2 and after["ann"] == first["ann"] and after["cat"] == first["cat"]
    with Gradebook(out / "gradebook.sqlite") as book:
        assert book.history_counts(callback_assignment.id) == {"ann": 1, "ben": 2, "cat": 1}
        assert [r["state"] for r in book.runs()] == ["finished"] * 3


def test_options_and_assignment_content_are_part_of_the_key(tmp_path, callback_assignment):
    from grader.assignment import load_assignment

    subs = make_class(tmp_path / "subs", **{"ann.py": "PASS"})
    out = tmp_path / "out"
    runner = FakeRunner(callback_assignment)
    run_batch([subs], callback_assignment, Options(), settings(out), runner=runner, out=io.StringIO())
    run_batch([subs], callback_assignment, Options(timeout_s=99), settings(out), runner=runner, out=io.StringIO())
    run_batch([subs], callback_assignment, Options(timeout_s=99, data_dir=tmp_path), settings(out), runner=runner, out=io.StringIO())
    assert runner.calls == ["ann", "ann"]  # a new timeout regrades; where the data lives does not

    folder = tmp_path / "assignments" / callback_assignment.id
    shutil.copytree(callback_assignment.folder, folder)
    (folder / "assignment.toml").write_text((folder / "assignment.toml").read_text().replace("timeout_s = 900", "timeout_s = 901"))
    changed = load_assignment(folder)
    run_batch([subs], changed, Options(timeout_s=99), settings(out), runner=FakeRunner(changed), out=io.StringIO())
    assert rows(out)["ann"][1] == 3


def test_key_is_stable_and_covers_every_part():
    options = {"lang": "en", "timeout_s": 900.0, "seed": 0, "entry": None}
    key = grading_key("ann", "a" * 64, "mnist-callback", "b" * 64, options)
    assert key == grading_key("ann", "a" * 64, "mnist-callback", "b" * 64, dict(options))
    variants = [("bob", "a" * 64, "mnist-callback", "b" * 64, options), ("ann", "c" * 64, "mnist-callback", "b" * 64, options),
                ("ann", "a" * 64, "mnist-conv", "b" * 64, options), ("ann", "a" * 64, "mnist-callback", "d" * 64, options),
                ("ann", "a" * 64, "mnist-callback", "b" * 64, {**options, "seed": 1})]
    assert len({key, *(grading_key(*v) for v in variants)}) == 6


def test_every_option_field_counts_except_data_dir_and_env(callback_assignment):
    values = grading_options(resolve(callback_assignment, Options(data_dir=Path("/x"), env={"A": "1"})))
    assert "data_dir" not in values and "env" not in values
    assert values["lang"] == "zh" and values["timeout_s"] == 900.0 and values["memory_mb"] == 4096  # the defaults, filled in
    assert set(values) == {f.name for f in dataclasses.fields(Options)} - {"data_dir", "env"}


# ------------------------------------------------------------------------------ failures are data


def test_a_crashed_worker_is_a_failed_result_and_the_batch_goes_on(tmp_path, callback_assignment):
    subs = make_class(tmp_path / "subs", **{"ann.py": "PASS", "ben.py": "CRASH", "cat.py": "GARBAGE", "dan__x.txt": ""})
    out = tmp_path / "out"
    runner = FakeRunner(callback_assignment)
    report = run_batch([subs], callback_assignment, Options(lang="en"), settings(out), runner=runner, out=io.StringIO())
    assert sorted(runner.calls) == ["ann", "ben", "cat"]  # dan's folder has nothing to grade: no worker
    assert sorted(report.crashed) == ["ben", "cat"] and report.exit_code == EXIT_FAILED
    ben = GradeResult.from_dict(json.loads((out / "ben" / "result.json").read_text()))
    assert not ben.passed and ben.score == 0 and ben.execution.status == "kernel_died" and "SIGKILL" in ben.execution.message
    assert [c.id for c in ben.checks] == list(callback_assignment.points) and ben.max_score == sum(callback_assignment.points.values())
    assert (out / "ben" / "worker.log").read_text() == "worker output"
    cat = GradeResult.from_dict(json.loads((out / "cat" / "result.json").read_text()))
    assert cat.execution.status == "not_run" and "unusable result" in cat.execution.message
    dan = GradeResult.from_dict(json.loads((out / "dan" / "result.json").read_text()))
    assert dan.execution.status == "invalid" and "no notebook" in dan.errors[0]
    assert {s: r[0] for s, r in rows(out).items()} == {"ann": "graded", "ben": "crashed", "cat": "crashed", "dan": "graded"}

    runner.calls.clear()
    run_batch([subs], callback_assignment, Options(lang="en"), settings(out), runner=runner, out=io.StringIO())
    assert runner.calls == []  # a crash is a result: kept, unless asked
    run_batch([subs], callback_assignment, Options(lang="en"), settings(out, retry_crashed=True), runner=runner, out=io.StringIO())
    assert sorted(runner.calls) == ["ben", "cat"]


def test_crash_messages_are_localised(callback_assignment):
    outcome = {"kind": "timeout", "message": "1380", "wall_s": 1380.0}
    zh = crash_result(callback_assignment, "a.py", "zh", outcome)
    en = crash_result(callback_assignment, "a.py", "en", outcome)
    assert "1380" in zh.execution.message and "秒" in zh.execution.message and "seconds" in en.execution.message
    assert en.execution.status == "timeout" and en.duration_s == 1380.0


def test_outputs_missing_after_a_crash_are_written_again_from_the_gradebook(tmp_path, callback_assignment):
    subs = make_class(tmp_path / "subs", **{"ann.py": "PASS"})
    out = tmp_path / "out"
    runner = FakeRunner(callback_assignment)
    run_batch([subs], callback_assignment, Options(), settings(out), runner=runner, out=io.StringIO())
    before = (out / "ann" / "result.json").read_text()
    (out / "ann" / "result.json").unlink()
    run_batch([subs], callback_assignment, Options(), settings(out), runner=runner, out=io.StringIO())
    assert runner.calls == ["ann"] and (out / "ann" / "result.json").read_text() == before


def test_an_output_that_cannot_be_written_is_exit_3_but_the_result_is_kept(tmp_path, callback_assignment, monkeypatch):
    subs = make_class(tmp_path / "subs", **{"ann.py": "PASS"})
    out = tmp_path / "out"

    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(run, "write_outputs", broken)
    report = run_batch([subs], callback_assignment, Options(), settings(out), runner=FakeRunner(callback_assignment), out=io.StringIO())
    assert report.exit_code == EXIT_INTERNAL and "disk full" in report.output_errors[0]
    assert rows(out)["ann"][0] == "graded"


def test_one_output_folder_holds_one_assignment(tmp_path, callback_assignment, conv_assignment):
    subs = make_class(tmp_path / "subs", **{"ann.py": "PASS"})
    run_batch([subs], callback_assignment, Options(), settings(tmp_path / "out"), runner=FakeRunner(callback_assignment), out=io.StringIO())
    with pytest.raises(UsageError, match="holds the results of assignment 'mnist-callback'"):
        run_batch([subs], conv_assignment, Options(), settings(tmp_path / "out"), runner=FakeRunner(conv_assignment), out=io.StringIO())


def test_a_second_batch_on_the_same_folder_is_refused(tmp_path, callback_assignment):
    import fcntl

    subs = make_class(tmp_path / "subs", **{"ann.py": "PASS"})
    out = tmp_path / "out"
    out.mkdir()
    with (out / ".grader-batch.lock").open("a+") as held:
        fcntl.flock(held.fileno(), fcntl.LOCK_EX)
        with pytest.raises(UsageError, match="another batch is running"):
            run_batch([subs], callback_assignment, Options(), settings(out), runner=FakeRunner(callback_assignment), out=io.StringIO())


# --------------------------------------------------------------------------------- command line


def test_cli_exit_codes(tmp_path, monkeypatch, callback_assignment, capsys):
    runner = FakeRunner(callback_assignment)
    monkeypatch.setattr(local, "run_job", runner)
    passing = make_class(tmp_path / "pass", **{"ann.py": "PASS"})
    failing = make_class(tmp_path / "fail", **{"ann.py": "PASS", "ben.py": "no"})
    base = ["batch", "-a", "mnist-callback", "--progress", "plain", "--no-summary"]
    assert main([*base, str(passing), "-o", str(tmp_path / "o1")]) == EXIT_PASSED
    assert main([*base, str(failing), "-o", str(tmp_path / "o2"), "--jobs", "2"]) == EXIT_FAILED
    err = capsys.readouterr().err
    assert "[1/2]" in err and "[2/2]" in err and "ben: failed 0/5" in err
    assert main(["batch", str(passing), "-o", str(tmp_path / "o3")]) == EXIT_USAGE  # no -a
    assert main([*base, str(passing), "-o", str(tmp_path / "o4"), "--jobs", "0"]) == EXIT_USAGE
    assert main([*base, str(tmp_path / "nothing-here"), "-o", str(tmp_path / "o5")]) == EXIT_USAGE
    assert main([*base, str(passing), "-o", str(tmp_path / "o6"), "--scheduler", "tcp://x:1"]) == EXIT_USAGE
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main([*base, str(empty), "-o", str(tmp_path / "o7")]) == EXIT_USAGE


def test_an_internal_fault_of_the_batch_is_exit_3(tmp_path, monkeypatch, callback_assignment):
    monkeypatch.setattr(local, "run_job", FakeRunner(callback_assignment))

    def broken_record(*args, **kwargs):
        raise RuntimeError("database on fire")

    monkeypatch.setattr(Gradebook, "record", broken_record)
    subs = make_class(tmp_path / "subs", **{"ann.py": "PASS"})
    assert main(["batch", str(subs), "-a", "mnist-callback", "-o", str(tmp_path / "out"), "--progress", "none"]) == EXIT_INTERNAL


# ------------------------------------------------------------------------------------ the gradebook


def test_gradebook_is_wal_and_one_row_per_student(tmp_path, callback_assignment):
    with Gradebook(tmp_path / "g.sqlite") as book:
        assert book.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert book.db.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
        for passed in (False, True):
            stored = book.record(student="ann", key=f"k{passed}", content_sha256="0" * 64, source="s", folder="ann",
                                 result=fake_result(callback_assignment, "ann.py", passed))
        assert stored.gradings == 2 and stored.result.passed and stored.key == "kTrue"
        assert len(book.results()) == 1 and book.history_counts(callback_assignment.id) == {"ann": 2}
    db = sqlite3.connect(tmp_path / "g.sqlite")
    db.execute("PRAGMA user_version = 99")
    db.commit()
    db.close()
    with pytest.raises(UsageError, match="newer grader"):
        Gradebook(tmp_path / "g.sqlite")
    (tmp_path / "junk.sqlite").write_bytes(b"not a database at all" * 100)
    with pytest.raises(UsageError, match="not a usable gradebook"):
        Gradebook(tmp_path / "junk.sqlite")


# -------------------------------------------------------------------------------- threads and jobs


def test_thread_rule(monkeypatch):
    assert threads_per_grading(8, 3) == 2 and threads_per_grading(2, 4) == 1 and threads_per_grading(16, 1) == 16
    env = thread_env(3)
    assert env["TF_NUM_INTRAOP_THREADS"] == env["TF_NUM_INTEROP_THREADS"] == env["OMP_NUM_THREADS"] == "3"
    assert default_jobs(cores=8, memory=64 * 2**30) == 8
    assert default_jobs(cores=8, memory=10 * 2**30) == 3  # 3 GiB a grading
    assert default_jobs(cores=1, memory=1) == 1
    monkeypatch.setattr(local, "usable_cores", lambda: 8)
    jobs = [Job(student=s, key="k", filename="a.py") for s in "abc"]
    assert {j.threads for j in LocalExecutor(4).prepare(jobs)} == {2}
    assert {j.threads for j in LocalExecutor(4).prepare(jobs[:1])} == {8}  # one grading left: all cores


def test_runner_receives_the_thread_share(tmp_path, callback_assignment, monkeypatch):
    monkeypatch.setattr(local, "usable_cores", lambda: 6)
    subs = make_class(tmp_path / "subs", **{"a.py": "PASS", "b.py": "PASS", "c.py": "PASS"})
    runner = FakeRunner(callback_assignment)
    run_batch([subs], callback_assignment, Options(), settings(tmp_path / "out", jobs=3), runner=runner, out=io.StringIO())
    assert runner.threads == [2, 2, 2]


# ---------------------------------------------------------------------------------------- progress


class Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_plain_lines_with_eta(callback_assignment):
    stream = io.StringIO()
    progress = Progress(total=3, todo=2, mode="auto", stream=stream)
    assert progress.mode == "plain"
    progress.result("ann", fake_result(callback_assignment, "a.py", True), crashed=False)
    progress.result("ben", fake_result(callback_assignment, "b.py", False), crashed=True)
    lines = stream.getvalue().splitlines()
    assert lines[0].startswith("[2/3] ann: passed 5/5") and "eta" in lines[0]
    assert lines[1].startswith("[3/3] ben: CRASHED 0/5 [error]") and "eta" not in lines[1]
    assert "\r" not in stream.getvalue()


def test_progress_bar_on_a_terminal(callback_assignment, monkeypatch):
    monkeypatch.setenv("TERM", "xterm")
    stream = Tty()
    progress = Progress(total=4, todo=4, mode="auto", stream=stream)
    assert progress.mode == "bar"
    progress.tick(2)
    progress.result("ann", fake_result(callback_assignment, "a.py", True), crashed=False)
    progress.result("ben", fake_result(callback_assignment, "b.py", False), crashed=False)
    progress.close()
    text = stream.getvalue()
    assert "\r[" in text and "2/4 ✓1 ✗1" in text and "ETA" in text and "2 running" in text  # tqdm's bar, redrawn in place
    assert "ben: failed" in text and "ann: passed" not in text  # on a terminal only failures get a line
