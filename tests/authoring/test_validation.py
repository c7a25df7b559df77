"""`grader validate`: its logic on a stand-in grader, in seconds (every way an assignment can be
unsound), and for real on every shipped assignment and a scaffolded one (they train: marked slow)."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import nbformat
import pytest

from grader.assignment import find_assignment
from grader.authoring import validation as authoring
from grader.authoring.scaffold import scaffold
from grader.authoring.validation import validate
from grader.cli.main import main
from grader.models import CheckResult, Evaluation, ExecutionInfo, Figure, FigureCell, Finding, GradeResult, Metrics, Recording
from tests.support.repository import BASE, ROOT, SHIPPED

# ---------------------------------------------------------------------------------------------
# validate, on a stand-in grader: seconds, and every way an assignment can be unsound


def fake_result(assignment, path: Path, failing: dict[str, str] | None = None, status: str = "ok", stopped_by: str | None = None,
                findings: tuple = ()) -> GradeResult:
    failing = failing or {}
    checks = tuple(
        CheckResult(id=c, passed=c not in failing, score=0.0 if c in failing else p, max_score=p, message=failing.get(c, "fine"),
                    blocking=c != "skeleton_integrity")
        for c, p in assignment.points.items()
    )
    return GradeResult(
        assignment=assignment.id, submission=path.name, passed=all(c.passed for c in checks if c.blocking),
        score=sum(c.score for c in checks), max_score=sum(c.max_score for c in checks), checks=checks, metrics=Metrics(),
        errors=(), duration_s=0.1, execution=ExecutionInfo(status=status, message="stopped" if status != "ok" else ""),  # type: ignore[arg-type]
        recording=Recording(stopped_by=stopped_by), evaluation=Evaluation(), findings=findings,
    )


def probe_result(assignment, path: Path, status: str = "ok", figures: bool = True, error: str = "") -> GradeResult:
    """What grading the packages probe gives: the packages imported (and a figure came back)."""
    shown = (FigureCell(cell=1, source="plt.show()", figures=(Figure(png="", width=1, height=1),)),) if figures else ()
    result = fake_result(assignment, path, {"epoch_limit": "no training"})
    return replace(result, execution=ExecutionInfo(status=status, figures=shown), errors=(error,) if error else ())  # type: ignore[arg-type]


def static(check: str) -> tuple:
    return (Finding(check=check, certain=True, key="k", cell=1, line=1, message=f"certain {check}"),)


@pytest.fixture
def scaffolded(tmp_path):
    scaffold("ex", tmp_path, log=lambda _: None)
    return tmp_path / "assignments" / "ex"


@pytest.fixture
def fake_grader(monkeypatch):
    """`grader.pipeline.grade` answering per file name; by default a sound assignment's verdicts."""
    verdicts = {
        "skeleton.ipynb": lambda a, p: fake_result(
            a, p, {"epoch_limit": "no training", "stop_message": "no training", "accuracy_threshold": "no", "test_accuracy": "no"}),
        "solution.ipynb": lambda a, p: fake_result(a, p),
        "epochs_over.ipynb": lambda a, p: fake_result(
            a, p, {c: "x" for c in a.points if c not in ("skeleton_integrity",)}, "not_run", findings=static("epoch_limit")),
        "no_callback.ipynb": lambda a, p: fake_result(
            a, p, {c: "x" for c in a.points if c not in ("skeleton_integrity",)}, "not_run", findings=static("stop_message")),
        "packages_probe.py": probe_result,
    }
    graded: list[str] = []

    def grade(path, assignment, options):
        graded.append(Path(path).name)
        return verdicts[Path(path).name](assignment, Path(path))

    monkeypatch.setattr("grader.pipeline.grade", grade)
    return verdicts, graded


def steps(report) -> dict[str, tuple[bool, str]]:
    return {s.name: (s.ok, s.detail) for s in report.steps}


def test_a_sound_assignment_validates(scaffolded, fake_grader):
    lines: list[str] = []
    report = validate(scaffolded, log=lines.append)
    assert report.sound, lines
    assert fake_grader[1] == ["packages_probe.py", "skeleton.ipynb", "solution.ipynb", "epochs_over.ipynb", "no_callback.ipynb"]
    assert lines[0].startswith("validate ex (") and lines[-1].startswith("ex: sound")
    assert steps(report)["sample epochs_over fails on epoch_limit"][1].endswith("(early verdict)")


def test_a_failing_reference_is_unsound_naming_the_check(scaffolded, fake_grader):
    fake_grader[0]["solution.ipynb"] = lambda a, p: fake_result(a, p, {"skeleton_integrity": "changed line 3"})
    report = validate(scaffolded, log=lambda _: None)
    ok, detail = steps(report)["the reference solution passes"]
    assert not report.sound and not ok and "skeleton_integrity: changed line 3" in detail


def test_a_passing_skeleton_is_unsound(scaffolded, fake_grader):
    fake_grader[0]["skeleton.ipynb"] = lambda a, p: fake_result(a, p)
    report = validate(scaffolded, log=lambda _: None)
    assert not report.sound and "it must fail" in steps(report)["the skeleton as shipped fails"][1]


def test_a_sample_failing_elsewhere_or_not_at_all_is_unsound(scaffolded, fake_grader):
    fake_grader[0]["epochs_over.ipynb"] = lambda a, p: fake_result(a, p, {"test_accuracy": "low"})
    fake_grader[0]["no_callback.ipynb"] = lambda a, p: fake_result(a, p)
    report = validate(scaffolded, log=lambda _: None)
    found = steps(report)
    assert "passes epoch_limit; it must fail there (failed: test_accuracy)" in found["sample epochs_over fails on epoch_limit"][1]
    assert "passed every blocking check" in found["sample no_callback fails on stop_message"][1]
    assert not report.sound


def test_a_named_check_that_failed_only_because_the_run_stopped_is_unsound(scaffolded, fake_grader):
    def everything(a):
        return {c: "x" for c in a.points if c != "skeleton_integrity"}

    fake_grader[0]["no_callback.ipynb"] = lambda a, p: fake_result(a, p, everything(a), "stopped", stopped_by="epoch_limit")
    fake_grader[0]["epochs_over.ipynb"] = lambda a, p: fake_result(a, p, everything(a), "not_run", findings=static("stop_message"))
    report = validate(scaffolded, log=lambda _: None)
    found = steps(report)
    assert "stop_message failed only because the run stopped early" in found["sample no_callback fails on stop_message"][1]
    assert "epoch_limit failed only because the run stopped early" in found["sample epochs_over fails on epoch_limit"][1]


def test_missing_files_and_badly_described_samples_are_named(scaffolded, fake_grader):
    root = scaffolded.parent.parent
    (root / "reference" / "ex" / "solution.ipynb").unlink()
    (root / "reference" / "ex" / "solution.py").unlink()
    (root / "tests" / "samples" / "ex" / "stray.ipynb").write_text("{}", encoding="utf-8")
    expected = root / "tests" / "samples" / "expected.toml"
    expected.write_text(expected.read_text(encoding="utf-8").replace('early = "stop_message"', 'early = "layer_limit"'), encoding="utf-8")
    report = validate(scaffolded, log=lambda _: None)
    found = steps(report)
    assert "solution.ipynb does not exist" in found["the reference solution passes"][1]
    described = found["samples are described"][1]
    assert "stray.ipynb: not described in" in described and "names check(s) layer_limit that the assignment does not enable" in described
    assert not report.sound


def test_no_sample_meant_to_fail_is_unsound(scaffolded, fake_grader):
    root = scaffolded.parent.parent
    (root / "tests" / "samples" / "expected.toml").write_text("", encoding="utf-8")
    for p in (root / "tests" / "samples" / "ex").iterdir():
        p.unlink()
    report = validate(scaffolded, log=lambda _: None)
    assert not report.sound and "no sample meant to fail" in steps(report)["samples are described"][1]


def test_skeleton_problems_are_named(scaffolded, fake_grader):
    skeleton = scaffolded / "skeleton.ipynb"
    nb = nbformat.read(skeleton, as_version=4)
    nb.metadata["grader"]["assignment"] = "other"
    nbformat.write(nb, skeleton)
    report = validate(scaffolded, log=lambda _: None)
    assert "names assignment 'other', not 'ex'" in steps(report)["the skeleton is a notebook"][1]
    nb.metadata.pop("grader")
    for cell in nb.cells:
        cell.source = cell.source.replace("# YOUR CODE ENDS HERE", "")
    nbformat.write(nb, skeleton)
    report = validate(scaffolded, log=lambda _: None)
    assert "unbalanced" in steps(report)["the skeleton is a notebook"][1] and not report.sound


def test_quick_grades_no_reference_and_no_full_training(scaffolded, fake_grader):
    expected = scaffolded.parent.parent / "tests" / "samples" / "expected.toml"
    text = expected.read_text(encoding="utf-8")
    text = text.replace('slow = false\nearly = "stop_message"', "slow = true")  # no_callback now needs full training
    expected.write_text(text, encoding="utf-8")
    lines: list[str] = []
    report = validate(scaffolded, quick=True, log=lines.append)
    assert report.sound and fake_grader[1] == ["packages_probe.py", "skeleton.ipynb", "epochs_over.ipynb"]
    assert any("– the reference solution passes: skipped" in line for line in lines)
    assert any("– sample no_callback" in line and "--quick" in line for line in lines)


def test_the_packages_must_import_in_the_sandbox(scaffolded, fake_grader):
    report = validate(scaffolded, log=lambda _: None)
    assert steps(report)["the packages import in the sandbox"] == (True, "tensorflow, keras, numpy, matplotlib")
    def lacking(a, p):
        result = probe_result(a, p, status="error", error="Your code imports sklearn (cell 1, line 5), …")
        return replace(result, execution=replace(result.execution, exception="ModuleNotFoundError: No module named 'sklearn'"))

    fake_grader[0]["packages_probe.py"] = lacking
    report = validate(scaffolded, log=lambda _: None)
    ok, detail = steps(report)["the packages import in the sandbox"]
    assert not ok and not report.sound and detail.startswith("sklearn is listed in packages but does not import in the sandbox")
    fake_grader[0]["packages_probe.py"] = lambda a, p: probe_result(a, p, status="timeout", error="Your code did not finish within the time limit")
    assert steps(validate(scaffolded, log=lambda _: None))["the packages import in the sandbox"] == (False, "Your code did not finish within the time limit")
    fake_grader[0]["packages_probe.py"] = lambda a, p: probe_result(a, p, figures=False)
    ok, detail = steps(validate(scaffolded, log=lambda _: None))["the packages import in the sandbox"]
    assert not ok and "did not come back" in detail


def test_cli_validate_exit_codes(scaffolded, fake_grader, capsys):
    assert main(["validate", str(scaffolded), "--skip-reference"]) == 0
    assert "solution.ipynb" not in fake_grader[1]
    fake_grader[0]["skeleton.ipynb"] = lambda a, p: fake_result(a, p)
    assert main(["validate", str(scaffolded)]) == 1
    (scaffolded / "assignment.toml").write_text(BASE.replace('"demo"', '"ex"').replace("max_epochs = 5", 'max_epochs = "five"'), encoding="utf-8")
    assert main(["validate", str(scaffolded)]) == 2
    err = capsys.readouterr().err
    assert str(scaffolded / "assignment.toml") in err and "field 'training.max_epochs'" in err


def test_reference_and_samples_can_be_given(scaffolded, fake_grader, tmp_path):
    elsewhere = tmp_path / "mine.ipynb"
    elsewhere.write_text((scaffolded.parent.parent / "reference" / "ex" / "solution.ipynb").read_text(encoding="utf-8"), encoding="utf-8")
    fake_grader[0]["mine.ipynb"] = lambda a, p: fake_result(a, p)
    report = validate(scaffolded, reference=elsewhere, log=lambda _: None)
    assert report.sound and "mine.ipynb" in fake_grader[1]


def test_validate_by_id_finds_the_repository_layout():
    lay = authoring.layout(find_assignment("lenet5"))
    assert lay.reference == ROOT / "reference" / "lenet5" / "solution.ipynb"
    assert lay.samples == ROOT / "tests" / "samples" / "lenet5" and lay.expected == ROOT / "tests" / "samples" / "expected.toml"


@pytest.mark.parametrize("assignment", SHIPPED)
def test_shipped_assignments_are_described_and_their_skeletons_sound(assignment):
    """The fast part of `validate` for each shipped assignment: no grading."""
    a = find_assignment(assignment)
    lay = authoring.layout(a)
    samples, problems = authoring.read_samples(lay, a)
    assert problems == [] and any(not s.spec["passed"] for s in samples)
    report = authoring.Validation(a.id, lay.toml)
    step = authoring.check_skeleton(a, report)
    assert step.ok and report.warnings == [], step.detail
    assert lay.reference.is_file() and (lay.reference.parent / "solution.py").is_file()
    reference = nbformat.read(lay.reference, as_version=4)
    assert reference.metadata["grader"]["assignment"] == assignment


# ---------------------------------------------------------------------------------------------
# for real: every shipped assignment, and a scaffolded sixth (they train: minutes)


@pytest.mark.slow
@pytest.mark.parametrize("assignment", SHIPPED)
@pytest.mark.kernel
def test_shipped_assignment_is_sound(assignment, gradings, monkeypatch):
    """Through the session's gradings: the reference solution is tests/test_reference.py's run, and
    a sample graded as tests/test_samples.py grades it (the early verdicts) is graded once."""
    monkeypatch.setattr("grader.pipeline.grade", gradings.grade)
    lines: list[str] = []
    report = validate(assignment, log=lines.append)
    assert report.sound, "\n".join(lines)


@pytest.mark.slow
@pytest.mark.parametrize("dataset", ["mnist", "fashion_mnist"])
@pytest.mark.kernel
def test_a_scaffolded_assignment_is_sound_as_created(tmp_path, dataset, mnist_store):
    # Its own gradings: the scaffold's reference and samples are its own files, graded by no other test.
    scaffold("sixth", tmp_path, dataset=dataset, log=lambda _: None)
    lines: list[str] = []
    report = validate(tmp_path / "assignments" / "sixth", log=lines.append)
    assert report.sound, "\n".join(lines)
    assert json.loads(json.dumps([s.name for s in report.steps]))  # plain data
