"""Gradescope autograder mode and the autograder zip."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest
import tomllib

from grader import __version__
from grader.batch import local
from grader.cli.main import main
from grader.errors import EXIT_FAILED, EXIT_PASSED, EXIT_USAGE
from grader.exports.autograder_zip import make_autograder
from grader.models import CheckResult, ExecutionInfo, GradeResult, Metrics

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = Path(__file__).parents[1] / "batch_fixtures"
from tests.exports.export_validators import validate_gradescope  # noqa: E402


def graded(assignment: Any, filename: str, passed: bool) -> dict[str, Any]:
    checks = tuple(CheckResult(id=c, passed=passed, score=p if passed else 0.0, max_score=p, message="m") for c, p in assignment.points.items())
    result = GradeResult(assignment=assignment.id, submission=filename, passed=passed, score=sum(c.score for c in checks),
                         max_score=sum(c.max_score for c in checks), checks=checks, metrics=Metrics(), errors=(), duration_s=2.0,
                         execution=ExecutionInfo(status="ok"), lang="en", grader_version=__version__)
    return {"outcome": "graded", "result": result.to_dict(), "kind": "", "message": "", "log_tail": ""}


@pytest.fixture
def fake_worker(monkeypatch, callback_assignment):
    calls: list[Any] = []

    def run(job):
        calls.append(job)
        text = Path(job.path).read_text()
        if "KILL" in text:
            return {"outcome": "crashed", "kind": "signal", "message": "SIGKILL", "result": None, "log_tail": "segfault", "wall_s": 1.0}
        return graded(callback_assignment, job.filename, "PASS" in text)

    monkeypatch.setattr(local, "run_job", run)
    monkeypatch.setattr("grader.data.datasets.ensure_mnist", lambda *a, **k: Path("/nonexistent"))
    return calls


def gradescope(tmp_path: Path, *extra: str) -> tuple[int, Path]:
    results = tmp_path / "results" / "results.json"
    code = main(["gradescope", "-a", "mnist-callback", "--submission-dir", str(tmp_path / "submission"), "--results", str(results), *extra])
    return code, results


def test_grades_the_one_notebook_in_the_submission(tmp_path, fake_worker, capsys):
    (tmp_path / "submission" / "sub").mkdir(parents=True)
    (tmp_path / "submission" / "sub" / "hw.py").write_text("PASS")
    (tmp_path / "submission" / "readme.txt").write_text("hi")
    code, results = gradescope(tmp_path, "--visibility", "after_published", "--timeout", "30")
    assert code == EXIT_PASSED
    data = json.loads(results.read_text())
    validate_gradescope(data)
    assert data["score"] == 5 and len(data["tests"]) == 6 and {t["visibility"] for t in data["tests"]} == {"after_published"}
    job = fake_worker[0]
    assert job.filename == "hw.py" and job.options["timeout_s"] == 30 and job.threads >= 1
    assert str(results) in capsys.readouterr().out


def test_a_failing_or_crashing_submission_still_gets_results(tmp_path, fake_worker):
    (tmp_path / "submission").mkdir()
    (tmp_path / "submission" / "hw.py").write_text("KILL")
    code, results = gradescope(tmp_path, "--lang", "en")
    assert code == EXIT_FAILED
    data = json.loads(results.read_text())
    validate_gradescope(data)
    assert data["score"] == 0 and "SIGKILL" in data["tests"][0]["output"] and data["extra_data"]["execution_status"] == "kernel_died"


@pytest.mark.parametrize(("files", "words"), [({}, "No notebook"), ({"a.ipynb": "{}", "b.ipynb": "{}"}, "several")])
def test_no_or_several_files(tmp_path, fake_worker, files, words):
    (tmp_path / "submission").mkdir()
    for name, text in files.items():
        (tmp_path / "submission" / name).write_text(text)
    code, results = gradescope(tmp_path, "--lang", "en")
    data = json.loads(results.read_text())
    validate_gradescope(data)
    assert code == EXIT_FAILED and data["score"] == 0 and words in data["output"] and fake_worker == []


def test_a_fault_of_the_grader_still_writes_results(tmp_path, fake_worker):
    (tmp_path / "submission").mkdir()
    results = tmp_path / "results.json"
    code = main(["gradescope", "-a", "no-such-assignment", "--submission-dir", str(tmp_path / "submission"), "--results", str(results)])
    assert code == EXIT_USAGE
    data = json.loads(results.read_text())
    validate_gradescope(data)
    assert data["score"] == 0 and "autograder failed" in data["output"]


# ------------------------------------------------------------------------------- the autograder zip


def test_make_autograder_zip(tmp_path, callback_assignment):
    out = tmp_path / "ag.zip"
    assert main(["make-autograder", "-a", "mnist-callback", "-o", str(out), "--timeout", "600", "--lang", "en"]) == EXIT_PASSED
    with zipfile.ZipFile(out) as z:
        names = set(z.namelist())
        assert {"setup.sh", "run_autograder", "assignment/mnist-callback/assignment.toml", "grader_src/pyproject.toml",
                "grader_src/grader/__init__.py", "grader_src/grader/batch/__init__.py", "grader_src/grader/batch/__main__.py",
                "grader_src/grader/locales/en/summary.toml",
                "grader_src/templates/summary.html.j2"} <= names
        assert not any("__pycache__" in n for n in names)
        for script in ("setup.sh", "run_autograder"):
            mode = z.getinfo(script).external_attr >> 16
            assert stat.S_ISREG(mode) and mode & 0o111 == 0o111, f"{script} must be executable"
        z.extractall(tmp_path / "source")
    run = (tmp_path / "source" / "run_autograder").read_text()
    assert "gradescope -a \"$ROOT/source/assignment/mnist-callback\"" in run and "--timeout 600 --lang en" in run
    assert "pip install -e /autograder/source/grader_src" in (tmp_path / "source" / "setup.sh").read_text()
    for script in ("setup.sh", "run_autograder"):
        assert subprocess.run(["bash", "-n", str(tmp_path / "source" / script)]).returncode == 0
    project = tomllib.loads((tmp_path / "source" / "grader_src" / "pyproject.toml").read_text())
    ours = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["project"]["version"] == __version__ and project["project"]["scripts"] == ours["scripts"]
    assert any(d.startswith("tomli") for d in project["project"]["dependencies"])
    # The bundle is the grader: it imports and finds its assignment and templates from there.
    probe = ("import grader, grader.batch, grader.common.templates as s; from grader.assignment import find_assignment;"
             " print(grader.__file__); print(s.templates_dir()); print(find_assignment('mnist-callback').folder)")
    proc = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PYTHONPATH": str(tmp_path / "source" / "grader_src")}, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert all(str(tmp_path / "source" / "grader_src") in line for line in proc.stdout.splitlines())


def test_make_autograder_with_a_package_requirement(tmp_path, callback_assignment):
    out = make_autograder(callback_assignment, tmp_path / "ag.zip", package="grader==0.1.0", visibility="after_due_date")
    with zipfile.ZipFile(out) as z:
        assert not any(n.startswith("grader_src/") for n in z.namelist())
        assert "pip install 'grader==0.1.0'" in z.read("setup.sh").decode()
        assert "--visibility after_due_date" in z.read("run_autograder").decode()


def test_make_autograder_usage_errors(tmp_path):
    assert main(["make-autograder", "-a", "nope", "-o", str(tmp_path / "x.zip")]) == EXIT_USAGE
    assert main(["make-autograder", "-a", "mnist-callback", "--timeout", "-1", "-o", str(tmp_path / "x.zip")]) == EXIT_USAGE


@pytest.mark.kernel
def test_run_autograder_end_to_end(tmp_path, callback_assignment, mnist_store):
    """The zip's run_autograder, pointed at a fake /autograder, with this grader: a real (failing) grading."""
    make_autograder(callback_assignment, tmp_path / "ag.zip", timeout=60, lang="en")
    root = tmp_path / "autograder"
    with zipfile.ZipFile(tmp_path / "ag.zip") as z:
        z.extractall(root / "source")
    (root / "submission").mkdir()
    (root / "submission" / "bob.py").write_bytes((FIXTURES / "class" / "bob.py").read_bytes())
    grader_bin = Path(sys.executable).with_name("grader")
    if not grader_bin.is_file():
        pytest.skip("the grader script is not installed beside this Python")
    env = {**os.environ, "GRADER_AUTOGRADER_ROOT": str(root), "GRADER_BIN": str(grader_bin), "GRADER_DATA_DIR": str(mnist_store.parent)}
    proc = subprocess.run(["bash", str(root / "source" / "run_autograder")], capture_output=True, text=True, env=env, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    data = json.loads((root / "results" / "results.json").read_text())
    validate_gradescope(data)
    assert data["score"] == 0 and data["tests"][0]["status"] == "failed" and "ValueError" in data["output"]
    assert data["extra_data"]["execution_status"] == "error"


@pytest.mark.parametrize(("lang", "labels"), [
    ("en", ("Required: ≥ 99%", "Measured: 97.5%", "Hint: h", "(advisory")),
    ("zh", ("要求：≥ 99%", "实测：97.5%", "提示：h", "（仅供参考")),
])
def test_test_output_is_labelled_in_the_results_language(lang, labels):
    from grader.exports.gradescope import check_output

    failed = CheckResult(id="accuracy_threshold", passed=False, score=0.0, max_score=1.0, message="m", required="≥ 99%", measured="97.5%", hint="h",
                         blocking=False)
    lines = check_output(failed, lang).splitlines()
    assert lines[0] == "m" and all(any(line.startswith(label) for line in lines) for label in labels)
    passed = CheckResult(id="x", passed=True, score=1.0, max_score=1.0, message="m", hint="h")
    assert not any("Hint" in line or "提示" in line for line in check_output(passed, lang).splitlines())
