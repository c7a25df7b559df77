"""Remembering is not learning, and the record does not choose its cross-check: the attacks of
issue 12 on the grader's measurements, graded for real in every isolating mode, each failing on
the check named for it (tests/hostile/)."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest

from grader.assignment import find_assignment
from grader.i18n import t
from grader.pipeline import Options, grade
from grader.report.outputs import write_json
from grader.report.summary import summary
from tests.support.hostile import HOSTILE, TIMEOUT, Graded, assert_contained
from tests.support.sandbox import AVAILABLE

pytestmark = [pytest.mark.kernel, pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the sandbox is Linux's")]


def attack_on(tmp_path: Path, name: str, assignment_id: str, mode: str, timeout: float = TIMEOUT) -> Graded:
    """Grade tests/hostile/NAME as a submission of `assignment_id`, and write result.json."""
    submission = tmp_path / name
    submission.write_text((HOSTILE / name).read_text(encoding="utf-8"), encoding="utf-8")
    started = time.monotonic()
    result = grade(submission, find_assignment(assignment_id), Options(lang="en", timeout_s=timeout, full=True, sandbox=mode))
    elapsed = time.monotonic() - started
    written = [write_json(result, tmp_path / "out")]
    return Graded(result, elapsed, tmp_path / "out", written[0].read_text(encoding="utf-8") + summary(result, written))


def remembered_line(g: Graded) -> str:
    e = g.result.evaluation
    return t("en", "checks.test_accuracy.remembered", test=f"{e.test_accuracy * 100:.2f}%", accuracy=f"{e.heldout_accuracy * 100:.2f}%", images="5,000")


@pytest.mark.parametrize("mode", AVAILABLE)
def test_lookup_public_test_set(tmp_path, mode):
    """100% on the public test set by lookup; the held-out digits tell."""
    g = attack_on(tmp_path, "lookup_public_test_set.py", "mnist-cnn", mode)
    e = g.result.evaluation
    assert g.status == "ok", g.result.execution
    assert e.test_accuracy > 0.999 and e.heldout_accuracy < 0.95 and e.heldout_images == 5000
    check = g.result.check("test_accuracy")
    assert not check.passed and check.message == remembered_line(g)
    assert check.message in g.seen
    assert_contained(g)


@pytest.mark.parametrize("mode", AVAILABLE)
def test_memorise_600_and_lookup(tmp_path, mode):
    """Keras' honest 100% on 600 remembered images passes the training
    checks; the held-out digits fail it."""
    g = attack_on(tmp_path, "memorise_600_and_lookup.py", "mnist-conv", mode, timeout=120)
    e = g.result.evaluation
    assert g.status == "ok", g.result.execution  # the record is honest: judged on the 600 rows fit got
    assert g.result.recording.all_epochs[-1].accuracy > 0.998 and g.result.check("accuracy_threshold").passed
    assert e.train_images == 600 and e.train_accuracy > 0.99
    assert e.test_accuracy > 0.999 and e.heldout_accuracy < 0.97
    check = g.result.check("test_accuracy")
    assert not check.passed and check.message == remembered_line(g)
    assert_contained(g, timeout=120)


@pytest.mark.parametrize("mode", AVAILABLE)
def test_forge_record_easy_rows(tmp_path, mode):
    """A record naming three rows is not believed; the grader's own
    sample of the training set shows the forgery."""
    g = attack_on(tmp_path, "forge_record_easy_rows.py", "mnist-callback", mode)
    e = g.result.evaluation
    assert g.status == "record_mismatch", g.result.execution
    assert e.train_images == 5000 and e.train_accuracy < 0.9
    assert "training images the grader chose" in g.result.execution.message
    assert not g.result.check("test_accuracy").passed and not g.result.check("execution").passed
    assert_contained(g)
