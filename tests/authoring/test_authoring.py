"""The instructor's path: assignment files with the new fields, `grader new`, and docs/authoring.md
covering every field and check (`grader validate` is tested in test_validation.py)."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import nbformat
import pytest

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
from grader.authoring import validation as authoring
from grader.authoring.percent_notebook import notebook_from_percent
from grader.authoring.scaffold import scaffold
from grader.cli.main import main
from grader.errors import ConfigError, UsageError
from grader.i18n import catalogue
from tests.support.repository import BASE, ROOT, SHIPPED

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

# ---------------------------------------------------------------------------------------------
# assignment files: the new fields, and errors that name the file and the field


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
    assert (cnn.training.threshold, cnn.training.stop_messages, cnn.min_test_accuracy, cnn.training.max_epochs) == (None, (), 0.988, 5)
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
        (lambda t: t.replace("threshold = 0.9", 'metric = "loss"\nthreshold = -1').replace("accuracy_threshold", "loss_threshold"),
         "training.threshold", "greater than 0"),
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
# the checks' messages and the guide


def test_every_check_has_messages_in_both_languages():
    en, zh = catalogue("en"), catalogue("zh")
    assert set(en) == set(zh)
    for check in KNOWN_CHECKS:
        assert f"checks.{check}.required" in en and f"checks.{check}.required" in zh


def test_the_guide_documents_every_field_and_check():
    guide = (ROOT / "docs" / "authoring.md").read_text(encoding="utf-8")
    tables = {"": TOP_FIELDS, "training.": TRAINING_FIELDS, "limits.": LIMITS_FIELDS, "structure.": STRUCTURE_FIELDS,
              "evaluation.": EVALUATION_FIELDS, "authoring.": AUTHORING_FIELDS}
    for prefix, fields in tables.items():
        for name in fields:
            documented = f"`{prefix}{name}`" in guide or f"`{name}`" in guide or f"`[{name}]`" in guide
            assert documented, f"docs/authoring.md does not document `{prefix}{name}`"
    for check in KNOWN_CHECKS:
        assert f"`{check}`" in guide, f"docs/authoring.md does not document check `{check}`"
    for command in ("grader new", "grader validate", "grader data fetch fashion_mnist", "--quick", "--skip-reference"):
        assert command in guide
