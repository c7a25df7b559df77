"""Assignment files: both shipped ones load; a bad file names the file and the field."""

from __future__ import annotations

import pytest

from grader.assignment import find_assignment, list_assignments, load_assignment
from grader.errors import ConfigError, UsageError

VALID = """
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
epoch_limit = 1
test_accuracy = 2
"""


def write(tmp_path, text, name="demo"):
    folder = tmp_path / name
    folder.mkdir()
    (folder / "assignment.toml").write_text(text, encoding="utf-8")
    return folder


def test_shipped_assignments():
    ids = [a.id for a in list_assignments()]
    assert ids == sorted(ids) and {"mnist-callback", "mnist-conv"} <= set(ids)
    conv = find_assignment("mnist-conv")
    assert (conv.training.max_epochs, conv.training.threshold, conv.limits.max_conv, conv.limits.max_pool) == (20, 0.998, 1, 1)
    callback = find_assignment("mnist-callback")
    assert callback.training.stop_messages == ("达到99%准确率，所以取消训练！", "Reached 99% accuracy so cancelling training!")
    assert "layer_limit" not in callback.points and "layer_limit" in conv.points


def test_a_valid_file_and_defaults(tmp_path):
    a = load_assignment(write(tmp_path, VALID))
    assert a.points == {"epoch_limit": 1.0, "test_accuracy": 2.0}
    assert (a.default_lang, a.integrity, a.entry, a.timeout_s) == ("en", "warn", None, 900)
    assert find_assignment(str(tmp_path / "demo")).id == "demo"


@pytest.mark.parametrize(
    ("edit", "field"),
    [
        (lambda t: t.replace("max_epochs = 5", "max_epochs = 0"), "training.max_epochs"),
        (lambda t: t.replace("threshold = 0.9", "threshold = 99"), "training.threshold"),
        (lambda t: t.replace('stop_messages = ["Done!"]', "stop_messages = []"), "training.stop_messages"),
        (lambda t: t.replace("epoch_limit = 1", "epoch_limits = 1"), "checks.epoch_limits"),
        (lambda t: t.replace('dataset = "mnist"', 'dataset = "cifar"'), "dataset"),
        (lambda t: t.replace('id = "demo"', 'id = "other"'), "id"),
        (lambda t: t.replace("min_test_accuracy = 0.8", ""), "evaluation.min_test_accuracy"),
        (lambda t: t + "\n[limits]\nmax_conv = -1\n", "limits.max_conv"),
        (lambda t: t.replace('title = "Demo"', ""), "title"),
        (lambda t: "entry = 'not a name'\n" + t, "entry"),
        (lambda t: t.replace("[training]", "[training\n"), "-"),
    ],
)
def test_bad_fields_are_named(tmp_path, edit, field):
    folder = write(tmp_path, edit(VALID))
    with pytest.raises(ConfigError) as info:
        load_assignment(folder)
    assert info.value.field == field and str(folder / "assignment.toml") in str(info.value)


def test_unknown_assignment_lists_the_known_ones():
    with pytest.raises(UsageError, match=r"known: .*mnist-callback.*mnist-conv"):
        find_assignment("mnist-nope")
