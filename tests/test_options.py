"""One source for every default: `grader.options.resolve` gives the effective settings, and the
pipeline, the batch key, the batch's jobs and workers, Gradescope and the exports all use them."""

from __future__ import annotations

import dataclasses
import io
import json
import shutil
from pathlib import Path
from typing import Any

import pytest

import grader
from grader.assignment import Assignment, load_assignment
from grader.batch import local
from grader.batch.jobs import DEFAULT_GRACE_S, Job
from grader.batch.keys import assignment_sha256, grading_key, grading_options
from grader.batch.run import run_batch
from grader.batch.worker import job_settings
from grader.cli.main import main
from grader.exports import ExportSettings
from grader.options import DEFAULT_MEMORY_MB, Options, Settings, resolve
from grader.pipeline import grade
from grader.sandbox.limits import Limits
from tests.batch.batch_helpers import FakeRunner, fake_result, make_class, settings

VARIANTS = [
    Options(),
    Options(lang="zh", timeout_s=900, memory_mb=DEFAULT_MEMORY_MB),  # the defaults, named: the same settings
    Options(lang="en", timeout_s=60, seed=3, entry="train", full=True, memory_mb=1024, sandbox="bwrap"),
]


def changed_default(assignment: Assignment, tmp_path: Path, old: str, new: str) -> Assignment:
    """A copy of `assignment` whose assignment.toml says `new` where it said `old`."""
    folder = tmp_path / "assignments" / assignment.id
    shutil.copytree(assignment.folder, folder)
    toml = folder / "assignment.toml"
    assert old in toml.read_text()
    toml.write_text(toml.read_text().replace(old, new))
    return load_assignment(folder)


def test_resolve_fills_in_every_default_once(callback_assignment):
    a = callback_assignment
    s = resolve(a, Options())
    assert (s.lang, s.timeout_s, s.entry, s.memory_mb, s.seed, s.sandbox) == (a.default_lang, float(a.timeout_s), a.entry, 4096, 0, "auto")
    assert Limits().memory_mb == DEFAULT_MEMORY_MB and s.limits() == Limits(memory_mb=4096, timeout_s=float(a.timeout_s))
    asked = resolve(a, VARIANTS[2])
    assert (asked.lang, asked.timeout_s, asked.entry, asked.memory_mb, asked.full, asked.sandbox) == ("en", 60.0, "train", 1024, True, "bwrap")
    for options in VARIANTS:
        settled = resolve(a, options)
        assert resolve(a, settled.options()) == settled  # the effective settings, asked for again, are the same
    assert resolve(a, VARIANTS[1]) == resolve(a, VARIANTS[0])
    assert set(Options.__dataclass_fields__) == set(Settings.__dataclass_fields__)  # nothing asked for is left unresolved


def test_settings_json_round_trip_refuses_unknown_and_missing_fields(callback_assignment, tmp_path):
    s = resolve(callback_assignment, Options(data_dir=tmp_path, kernel_prefix=("strace", "-f"), env={"A": "1"}))
    data = s.to_json()
    assert data["data_dir"] == str(tmp_path) and data["kernel_prefix"] == ["strace", "-f"]
    assert Settings.from_json(data) == s
    with pytest.raises(ValueError, match="unknown"):
        Settings.from_json({**data, "time_limit": 5})
    missing = dict(data)
    del missing["memory_mb"]
    with pytest.raises(ValueError, match="missing"):
        Settings.from_json(missing)

    asked = Options(lang="en", data_dir=tmp_path, kernel_prefix=("strace",), env={"A": "1"})
    assert Options.from_json(json.loads(json.dumps(asked.to_json()))) == asked  # what was asked, kept to be resolved again
    assert Options.from_json({"timeout_s": 60}) == Options(timeout_s=60)  # what is left out takes its default
    with pytest.raises(ValueError, match="unknown"):
        Options.from_json({"timeout": 60})


def test_library_exports_options_and_settings():
    assert grader.Options is Options and grader.Settings is Settings
    from grader.pipeline import Options as FromPipeline

    assert FromPipeline is Options


class JobRecorder(FakeRunner):
    """A fake runner that keeps the jobs it was given."""

    def __init__(self, assignment: Any) -> None:
        super().__init__(assignment)
        self.jobs: list[Job] = []

    def __call__(self, job: Job) -> dict[str, Any]:
        self.jobs.append(job)
        return super().__call__(job)


def batch_job(assignment: Assignment, options: Options, tmp_path: Path) -> Job:
    subs = make_class(tmp_path / "subs", **{"ann.py": "PASS"})
    runner = JobRecorder(assignment)
    run_batch([subs], assignment, options, settings(tmp_path / "out"), runner=runner, out=io.StringIO())
    (job,) = runner.jobs
    return job


def gradescope_job(options: Options, tmp_path: Path, monkeypatch, assignment: Assignment) -> Job:
    """The job `grader gradescope` hands its worker, with the command-line flags for `options`."""
    jobs: list[Job] = []

    def run(job: Job) -> dict[str, Any]:
        jobs.append(job)
        return {"outcome": "graded", "result": fake_result(assignment, job.filename, True).to_dict(), "log_tail": ""}

    monkeypatch.setattr(local, "run_job", run)
    (tmp_path / "submission").mkdir(parents=True)
    (tmp_path / "submission" / "hw.py").write_text("PASS")
    flags = [flag for name, flag in (("lang", "--lang"), ("timeout_s", "--timeout"), ("entry", "--entry"), ("memory_mb", "--memory"))
             if getattr(options, name) is not None for flag in (flag, str(getattr(options, name)))]
    flags += ["--seed", str(options.seed), "--sandbox", "none", *(["--full"] if options.full else [])]
    main(["gradescope", "-a", str(assignment.folder), "--submission-dir", str(tmp_path / "submission"),
          "--results", str(tmp_path / "results.json"), *flags])
    (job,) = jobs
    return job


@pytest.mark.parametrize("options", VARIANTS, ids=["defaults", "defaults-named", "asked"])
def test_batch_key_worker_pipeline_gradescope_and_exports_agree(options, callback_assignment, tmp_path, monkeypatch):
    monkeypatch.setattr("grader.data.datasets.ensure_mnist", lambda *a, **k: Path("/nonexistent/mnist.npz"))
    a = callback_assignment
    options = dataclasses.replace(options, sandbox="none")  # `grader gradescope` checks that the mode works here: none always does
    expected = resolve(a, options)

    job = batch_job(a, options, tmp_path / "batch")
    assert Settings.from_json(job.options) == dataclasses.replace(expected, env={})
    assert job.hard_limit_s == expected.timeout_s + DEFAULT_GRACE_S
    sub = tmp_path / "batch" / "subs" / "ann.py"
    from grader.batch.discovery import file_sha256

    assert job.key == grading_key("ann", file_sha256(sub), a.id, assignment_sha256(a), grading_options(expected))
    worker = job_settings(dataclasses.replace(job, threads=2))
    assert resolve(a, worker.options()) == dataclasses.replace(expected, env=worker.env)  # what the worker grades with

    scope = gradescope_job(options, tmp_path / "gradescope", monkeypatch, a)
    assert Settings.from_json(scope.options) == Settings.from_json(job.options) and scope.hard_limit_s == job.hard_limit_s

    assert ExportSettings.for_assignment(a, lang=options.lang).lang == expected.lang

    broken = tmp_path / "broken.ipynb"
    broken.write_text("{")
    result = grade(broken, a, options)  # not a notebook: an invalid result, graded without a kernel
    assert result.lang == expected.lang and result.execution.timeout_s == expected.timeout_s
    assert f"{expected.timeout_s:g} " in result.check("execution").required  # the limit the student had, in the report


def test_a_result_graded_without_a_run_states_the_effective_time_limit(callback_assignment, tmp_path):
    from grader.batch.autograder import grade_submission
    from grader.batch.results import crash_result

    outcome = {"outcome": "crashed", "kind": "timeout", "message": "99", "result": None}
    assert "60 " in crash_result(callback_assignment, "a.py", "en", outcome, timeout_s=60.0).check("execution").required
    assert "900 " in crash_result(callback_assignment, "a.py", "en", outcome).check("execution").required  # none given: the assignment's
    (tmp_path / "empty").mkdir()
    empty = grade_submission(tmp_path / "empty", callback_assignment, Options(lang="en", timeout_s=60))  # no file: graded without a run
    assert empty.execution.timeout_s == 60.0 and "60 " in empty.check("execution").required
    subs = make_class(tmp_path / "subs", **{"ann.py": "CRASH", "ben__a.py": "x", "ben__b.py": "y"})
    run_batch([subs], callback_assignment, Options(lang="en", timeout_s=60), settings(tmp_path / "out"), runner=FakeRunner(callback_assignment),
              out=io.StringIO())
    from grader.batch.gradebook import Gradebook

    with Gradebook(tmp_path / "out" / "gradebook.sqlite") as book:
        results = {r.student: r.result for r in book.results(callback_assignment.id)}
    assert {s: r.execution.timeout_s for s, r in results.items()} == {"ann": 60.0, "ben": 60.0}  # crashed; two files: not gradable


def test_named_default_keeps_the_result_and_a_changed_default_regrades(callback_assignment, tmp_path):
    subs = make_class(tmp_path / "subs", **{"ann.py": "PASS"})
    out = tmp_path / "out"
    runner = FakeRunner(callback_assignment)
    timeout = float(callback_assignment.timeout_s)
    run_batch([subs], callback_assignment, Options(), settings(out), runner=runner, out=io.StringIO())
    run_batch([subs], callback_assignment, Options(timeout_s=timeout, memory_mb=DEFAULT_MEMORY_MB), settings(out), runner=runner, out=io.StringIO())
    assert runner.calls == ["ann"]  # `--timeout 900 --memory 4096` where those are the defaults: the same grading

    changed = changed_default(callback_assignment, tmp_path, "timeout_s = 900", "timeout_s = 600")
    assert grading_options(resolve(changed, Options()))["timeout_s"] == 600.0
    assert grading_options(resolve(changed, Options())) != grading_options(resolve(callback_assignment, Options()))
    assert grading_options(resolve(changed, Options(timeout_s=timeout))) == grading_options(resolve(callback_assignment, Options()))
    changed_runner = JobRecorder(changed)
    run_batch([subs], changed, Options(), settings(out), runner=changed_runner, out=io.StringIO())
    assert changed_runner.calls == ["ann"] and changed_runner.jobs[0].hard_limit_s == 600.0 + DEFAULT_GRACE_S


def test_a_changed_default_language_changes_the_key_and_the_exports(callback_assignment, tmp_path):
    lang = callback_assignment.default_lang
    other = "en" if lang == "zh" else "zh"
    changed = changed_default(callback_assignment, tmp_path, f'default_lang = "{lang}"', f'default_lang = "{other}"')
    assert resolve(changed, Options()).lang == other == ExportSettings.for_assignment(changed).lang
    assert grading_options(resolve(changed, Options()))["lang"] == other
    assert grading_options(resolve(changed, Options(lang=lang))) == grading_options(resolve(callback_assignment, Options()))
