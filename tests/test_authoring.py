"""The instructor's path: assignment files with the new fields, `grader new`, `grader validate`
(its logic on a stand-in grader, in seconds; for real on all shipped assignments, marked slow),
and docs/authoring.md covering every field and check."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import nbformat
import pytest

from grader import authoring
from grader.assignment import (
    AUTHORING_FIELDS,
    EVALUATION_FIELDS,
    KNOWN_CHECKS,
    LIMITS_FIELDS,
    STRUCTURE_FIELDS,
    TOP_FIELDS,
    TRAINING_FIELDS,
    find_assignment,
    list_assignments,
    load_assignment,
)
from grader.authoring import notebook_from_percent, scaffold, validate
from grader.cli import main
from grader.errors import ConfigError, UsageError
from grader.i18n import catalogue
from grader.models import CheckResult, Evaluation, ExecutionInfo, Finding, GradeResult, Metrics, Recording

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

ROOT = Path(__file__).resolve().parent.parent
SHIPPED = ["fashion-callback", "lenet5", "mnist-callback", "mnist-cnn", "mnist-conv"]

# ---------------------------------------------------------------------------------------------
# assignment files: the new fields, and errors that name the file and the field

BASE = """
id = "demo"
title = "Demo"
dataset = "mnist"
[training]
max_epochs = 5
threshold = 0.9
stop_messages = ["Done!"]
[evaluation]
min_test_accuracy = 0.8
[checks]
execution = 1
epoch_limit = 1
stop_message = 1
accuracy_threshold = 1
test_accuracy = 1
"""


def write(tmp_path: Path, text: str, name: str = "demo") -> Path:
    folder = tmp_path / name
    folder.mkdir()
    (folder / "assignment.toml").write_text(text, encoding="utf-8")
    return folder


def test_the_shipped_assignments_load_with_their_rules():
    assignments = {a.id: a for a in list_assignments()}
    assert sorted(assignments) == SHIPPED
    fashion = assignments["fashion-callback"]
    assert (fashion.dataset, fashion.training.metric, fashion.training.threshold, fashion.training.max_epochs) == ("fashion_mnist", "loss", 0.4, 5)
    assert "Reached 60% accuracy so cancelling training!" in fashion.training.stop_messages
    assert fashion.training.below and fashion.training.reached(0.39) and not fashion.training.reached(0.4)
    cnn = assignments["mnist-cnn"]
    assert (cnn.training.threshold, cnn.training.stop_messages, cnn.min_test_accuracy, cnn.training.max_epochs) == (None, (), 0.99, 5)
    assert set(cnn.points) == {"execution", "epoch_limit", "test_accuracy", "skeleton_integrity"}
    lenet = assignments["lenet5"].structure
    assert (lenet.model_class, lenet.conv, lenet.pool, lenet.dense) == ("LeNet5", 2, 2, 3)
    assert assignments["lenet5"].min_test_accuracy == 0.98
    callback = assignments["mnist-callback"].training  # unchanged files keep their meaning
    assert (callback.metric, callback.threshold, callback.below) == ("accuracy", 0.99, False)


def test_loss_rules_and_structure_parse(tmp_path):
    text = BASE.replace("threshold = 0.9", 'metric = "loss"\nthreshold = 2.5').replace("accuracy_threshold = 1", "loss_threshold = 1")
    text += '\n[structure]\nmodel_class = "Net"\nconv = 2\ndense = 1\n[limits]\nmax_dense = 4\n'
    a = load_assignment(write(tmp_path, text))
    assert (a.training.metric, a.training.threshold) == ("loss", 2.5)
    assert (a.structure.model_class, a.structure.conv, a.structure.pool, a.structure.dense) == ("Net", 2, None, 1)
    assert a.limits.max_dense == 4
    assert a.rules_summary() == "epochs ≤ 5, loss < 2.5, test accuracy ≥ 0.8, class Net"


def test_a_test_accuracy_only_assignment_needs_no_threshold_or_messages(tmp_path):
    text = '''
id = "demo"
title = "Demo"
dataset = "fashion_mnist"
[training]
max_epochs = 3
[evaluation]
min_test_accuracy = 0.5
[checks]
epoch_limit = 1
test_accuracy = 1
'''
    a = load_assignment(write(tmp_path, text))
    assert a.training.threshold is None and a.training.stop_messages == () and a.dataset == "fashion_mnist"


@pytest.mark.parametrize(
    ("edit", "field", "problem"),
    [
        (lambda t: t.replace("max_epochs = 5", "max_epoch = 5"), "training.max_epoch", "did you mean 'max_epochs'"),
        (lambda t: t.replace('title = "Demo"', 'title = "Demo"\ntimeout = 10'), "timeout", "did you mean 'timeout_s'"),
        (lambda t: t + "\n[limit]\nmax_conv = 1\n", "limit", "unknown field"),
        (lambda t: t + "\n[structure]\nconvs = 1\n", "structure.convs", "did you mean 'conv'"),
        (lambda t: t.replace("threshold = 0.9", 'metric = "f1"\nthreshold = 0.9'), "training.metric", "accuracy, loss"),
        (lambda t: t.replace("threshold = 0.9", 'metric = "loss"\nthreshold = -1').replace("accuracy_threshold", "loss_threshold"), "training.threshold", "greater than 0"),
        (lambda t: t.replace("threshold = 0.9", ""), "training.threshold", "check 'stop_message' needs it"),
        (lambda t: t.replace('stop_messages = ["Done!"]', ""), "training.stop_messages", "check 'stop_message' needs it"),
        (lambda t: t.replace("threshold = 0.9", 'metric = "loss"\nthreshold = 0.4'), "checks.accuracy_threshold", "use loss_threshold"),
        (lambda t: t.replace("accuracy_threshold = 1", "loss_threshold = 1"), "checks.loss_threshold", "use accuracy_threshold"),
        (lambda t: t.replace("execution = 1", "model_structure = 1"), "structure", "needs structure.model_class"),
        (lambda t: t + '\n[structure]\nmodel_class = "Le Net"\n', "structure.model_class", "class name"),
        (lambda t: t + "\n[structure]\ndense = -3\n", "structure.dense", "integer >= 0"),
        (lambda t: t.replace("execution = 1", "layer_limit = 1"), "limits", "max_dense"),
        (lambda t: t.replace("execution = 1", "loss_treshold = 1"), "checks.loss_treshold", "did you mean 'loss_threshold'"),
        (lambda t: t.replace('dataset = "mnist"', 'dataset = "fashion-mnist"'), "dataset", "mnist, fashion_mnist"),
        (lambda t: t + '\n[authoring]\nreference = ""\n', "authoring.reference", "non-empty path"),
        (lambda t: t[: t.index("[checks]")] + "[checks]\n", "checks", "at least one check"),
    ],
)
def test_bad_fields_are_named_with_the_file(tmp_path, edit, field, problem):
    folder = write(tmp_path, edit(BASE))
    with pytest.raises(ConfigError) as info:
        load_assignment(folder)
    assert info.value.field == field, str(info.value)
    assert problem in str(info.value) and str(folder / "assignment.toml") in str(info.value)


def test_authoring_paths_are_relative_to_the_file(tmp_path):
    folder = write(tmp_path, BASE + '\n[authoring]\nreference = "../ref/demo.ipynb"\nsamples = "samples"\n')
    a = load_assignment(folder)
    assert a.authoring.reference == (tmp_path / "ref" / "demo.ipynb").resolve()
    lay = authoring.layout(a)
    assert lay.samples == (folder / "samples").resolve() and lay.expected == folder.resolve() / "expected.toml"


# ---------------------------------------------------------------------------------------------
# notebooks from text; grader new


def test_notebook_from_percent():
    nb = notebook_from_percent("# %% [markdown]\n# # Title\n#\n# Text\n\n# %%\nx = 1\n\n# %%\ny = 2\n", "demo")
    assert [c.cell_type for c in nb.cells] == ["markdown", "code", "code"]
    assert nb.cells[0].source == "# Title\n\nText" and nb.cells[2].source == "y = 2"
    assert nb.metadata["grader"] == {"assignment": "demo"}
    nbformat.validate(nb)


def test_new_scaffolds_a_complete_assignment(tmp_path, capsys):
    assert main(["new", "my-exercise", "--root", str(tmp_path), "--title", "My exercise"]) == 0
    out = capsys.readouterr().out
    a = find_assignment(str(tmp_path / "assignments" / "my-exercise"))
    assert (a.id, a.title, a.dataset, a.training.max_epochs) == ("my-exercise", "My exercise", "mnist", 10)
    lay = authoring.layout(a)
    assert lay.reference == tmp_path.resolve() / "reference" / "my-exercise" / "solution.ipynb" and lay.reference.is_file()
    assert (tmp_path / "reference" / "my-exercise" / "solution.py").is_file()
    skeleton = nbformat.read(a.skeleton_path, as_version=4)
    assert skeleton.metadata["grader"]["assignment"] == "my-exercise"
    expected = tomllib.loads(lay.expected.read_text(encoding="utf-8"))
    assert sorted(expected["my-exercise"]) == ["epochs_over", "no_callback"]
    samples, problems = authoring.read_samples(lay, a)
    assert problems == [] and all(s.file.is_file() and not s.spec["passed"] for s in samples)
    assert "grader validate" in out and str(a.skeleton_path) in out
    toml = (a.folder / "assignment.toml").read_text(encoding="utf-8")
    for name in (*TOP_FIELDS, *TRAINING_FIELDS, *LIMITS_FIELDS, *STRUCTURE_FIELDS, *EVALUATION_FIELDS, *AUTHORING_FIELDS):
        assert re.search(rf"^#? ?\[?{name}\]?\b", toml, re.MULTILINE), f"the scaffold does not show field '{name}'"


def test_new_refuses_bad_ids_and_existing_assignments(tmp_path):
    for bad in ("My Exercise", "1st", "a_b", "ex--1", "-x"):
        with pytest.raises(UsageError, match="not a valid assignment id"):
            scaffold(bad, tmp_path, log=lambda _: None)
    scaffold("ex-1", tmp_path, log=lambda _: None)
    with pytest.raises(UsageError, match="already exists"):
        scaffold("ex-1", tmp_path, log=lambda _: None)
    scaffold("ex-2", tmp_path, dataset="fashion_mnist", log=lambda _: None)  # appends to the same expected file
    expected = tomllib.loads((tmp_path / "tests" / "samples" / "expected.toml").read_text(encoding="utf-8"))
    assert sorted(expected) == ["ex-1", "ex-2"]
    assert load_assignment(tmp_path / "assignments" / "ex-2").dataset == "fashion_mnist"
    assert "tf.keras.datasets.fashion_mnist" in (tmp_path / "reference" / "ex-2" / "solution.py").read_text(encoding="utf-8")


# ---------------------------------------------------------------------------------------------
# validate, on a stand-in grader: seconds, and every way an assignment can be unsound


def fake_result(assignment, path: Path, failing: dict[str, str] | None = None, status: str = "ok", stopped_by: str | None = None, findings: tuple = ()) -> GradeResult:
    failing = failing or {}
    checks = tuple(
        CheckResult(id=c, passed=c not in failing, score=0.0 if c in failing else p, max_score=p, message=failing.get(c, "fine"), blocking=c != "skeleton_integrity")
        for c, p in assignment.points.items()
    )
    return GradeResult(
        assignment=assignment.id, submission=path.name, passed=all(c.passed for c in checks if c.blocking),
        score=sum(c.score for c in checks), max_score=sum(c.max_score for c in checks), checks=checks, metrics=Metrics(),
        errors=(), duration_s=0.1, execution=ExecutionInfo(status=status, message="stopped" if status != "ok" else ""),  # type: ignore[arg-type]
        recording=Recording(stopped_by=stopped_by), evaluation=Evaluation(), findings=findings,
    )


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
        "skeleton.ipynb": lambda a, p: fake_result(a, p, {"epoch_limit": "no training", "stop_message": "no training", "accuracy_threshold": "no", "test_accuracy": "no"}),
        "solution.ipynb": lambda a, p: fake_result(a, p),
        "epochs_over.ipynb": lambda a, p: fake_result(a, p, {c: "x" for c in a.points if c not in ("skeleton_integrity",)}, "not_run", findings=static("epoch_limit")),
        "no_callback.ipynb": lambda a, p: fake_result(a, p, {c: "x" for c in a.points if c not in ("skeleton_integrity",)}, "not_run", findings=static("stop_message")),
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
    assert fake_grader[1] == ["skeleton.ipynb", "solution.ipynb", "epochs_over.ipynb", "no_callback.ipynb"]
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
    expected.write_text(text.replace("checks = { epoch_limit = true, stop_message = false", "checks = { epoch_limit = true, stop_message = false"), encoding="utf-8")
    lines: list[str] = []
    report = validate(scaffolded, quick=True, log=lines.append)
    assert report.sound and fake_grader[1] == ["skeleton.ipynb", "epochs_over.ipynb"]
    assert any("– the reference solution passes: skipped" in line for line in lines)
    assert any("– sample no_callback" in line and "--quick" in line for line in lines)


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
# the checks' messages and the guide


def test_every_check_has_messages_in_both_languages():
    en, zh = catalogue("en"), catalogue("zh")
    assert set(en) == set(zh)
    for check in KNOWN_CHECKS:
        assert f"checks.{check}.required" in en and f"checks.{check}.required" in zh


def test_the_guide_documents_every_field_and_check():
    guide = (ROOT / "docs" / "authoring.md").read_text(encoding="utf-8")
    tables = {"": TOP_FIELDS, "training.": TRAINING_FIELDS, "limits.": LIMITS_FIELDS, "structure.": STRUCTURE_FIELDS, "evaluation.": EVALUATION_FIELDS, "authoring.": AUTHORING_FIELDS}
    for prefix, fields in tables.items():
        for name in fields:
            documented = f"`{prefix}{name}`" in guide or f"`{name}`" in guide or f"`[{name}]`" in guide
            assert documented, f"docs/authoring.md does not document `{prefix}{name}`"
    for check in KNOWN_CHECKS:
        assert f"`{check}`" in guide, f"docs/authoring.md does not document check `{check}`"
    for command in ("grader new", "grader validate", "grader data fetch fashion_mnist", "--quick", "--skip-reference"):
        assert command in guide


# ---------------------------------------------------------------------------------------------
# for real: every shipped assignment, and a scaffolded sixth (they train: minutes)


@pytest.mark.slow
@pytest.mark.parametrize("assignment", SHIPPED)
def test_shipped_assignment_is_sound(assignment, mnist_store):
    lines: list[str] = []
    report = validate(assignment, log=lines.append)
    assert report.sound, "\n".join(lines)


@pytest.mark.slow
@pytest.mark.parametrize("dataset", ["mnist", "fashion_mnist"])
def test_a_scaffolded_assignment_is_sound_as_created(tmp_path, dataset, mnist_store):
    scaffold("sixth", tmp_path, dataset=dataset, log=lambda _: None)
    lines: list[str] = []
    report = validate(tmp_path / "assignments" / "sixth", log=lines.append)
    assert report.sound, "\n".join(lines)
    assert json.loads(json.dumps([s.name for s in report.steps]))  # plain data
