"""Red team of issue 12's measurements (white-box): attacks on the held-out measurement, graded for
real, each asserted to fail on the check named for it (tests/hostile/)."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
import pytest

from grader.assignment import find_assignment
from grader.data import heldout
from grader.inside import evaluation
from grader.pipeline import Options, grade
from grader.report.outputs import write_json
from grader.report.summary import summary
from tests.support.hostile import HOSTILE, Graded, assert_contained
from tests.support.sandbox import AVAILABLE

linux = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the sandbox is Linux's")
TIMEOUT = 120


def attack(tmp_path: Path, name: str, *, assignment: str, mode: str, timeout: float = TIMEOUT, **values: object) -> Graded:
    """Grade tests/hostile/NAME as a submission of `assignment` (placeholders filled from `values`)."""
    out = tmp_path / "out"
    text = (HOSTILE / name).read_text(encoding="utf-8")
    for key, value in values.items():
        text = text.replace("{{" + key + "}}", str(value))
    submission = tmp_path / name
    submission.write_text(text, encoding="utf-8")
    started = time.monotonic()
    result = grade(submission, find_assignment(assignment), Options(lang="en", timeout_s=timeout, full=True, sandbox=mode))
    elapsed = time.monotonic() - started
    written = [write_json(result, out)]
    return Graded(result, elapsed, out, written[0].read_text(encoding="utf-8") + summary(result, written))


def test_shuffled_keeps_pairs_and_hides_the_order():
    """Each x/y pair is permuted together, by its own permutation; other arrays are left as they are."""
    x = np.arange(5000)
    arrays = {"x_heldout": x, "y_heldout": x % 10, "x_test": x, "y_test": x % 7, "rows": x}
    out = heldout.shuffled(arrays, np.random.default_rng(1))
    assert (out["y_heldout"] == out["x_heldout"] % 10).all() and (out["y_test"] == out["x_test"] % 7).all()
    assert sorted(out["x_heldout"]) == list(x) and not (out["x_heldout"] == x).all()
    assert not (out["x_heldout"] == out["x_test"]).all()  # not one permutation for all
    assert out["rows"] is x


@linux
@pytest.mark.slow
@pytest.mark.kernel
@pytest.mark.parametrize("mode", AVAILABLE)
def test_heldout_labels_recited_by_batch(tmp_path, mode):
    """The withheld rows' labels are public (seed in the source, same-label duplicates in the kernel's
    copy); fed in row order, a model that recognises which batch it gets recited them (100% held-out
    after 600 training images). Fed in an order only the host knows, it gets its weak guess."""
    values = {"SPLIT_SEED": heldout.SPLIT_SEED, "HELDOUT_ROWS": heldout.HELDOUT_ROWS, "BATCH": evaluation.BATCH}
    g = attack(tmp_path, "heldout_labels_by_batch.py", assignment="mnist-conv", mode=mode, **values)
    e = g.result.evaluation
    assert g.status == "ok", g.result.execution
    assert g.result.check("accuracy_threshold").passed and g.result.check("layer_limit").passed
    assert e.heldout_images == heldout.HELDOUT_ROWS and e.heldout_accuracy < 0.97
    assert not g.result.check("test_accuracy").passed
    assert_contained(g, timeout=TIMEOUT)


@linux
@pytest.mark.slow
@pytest.mark.kernel
@pytest.mark.skipif(not Path("/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz").is_file(), reason="Debian's dataset-fashion-mnist is not installed")
@pytest.mark.parametrize("mode", AVAILABLE)
def test_fashion_test_set_from_usr_share(tmp_path, mode):
    """The held-out Fashion-MNIST images are in /usr/share/datasets on the host: the sandbox covers
    it with an empty tmpfs, so the lookup holds no held-out image (the same table carried in the
    notebook fails on the shifted images instead: tests/test_remembering.py)."""
    g = attack(tmp_path, "fashion_test_set_from_usr_share.py", assignment="fashion-callback", mode=mode)
    e = g.result.evaluation
    assert e.heldout_accuracy < 0.9 and e.shifted_accuracy is not None  # no held-out image was looked up
    assert not g.result.check("test_accuracy").passed
    assert_contained(g, timeout=TIMEOUT)


@linux
@pytest.mark.slow
@pytest.mark.kernel
@pytest.mark.parametrize("mode", AVAILABLE)
def test_pretrained_initial_values(tmp_path, mode):
    """15 epochs of plain variable updates, then a model initialised with their result and fit
    once: the training outside the record must fail epoch_limit."""
    g = attack(tmp_path, "pretrained_initial_values.py", assignment="mnist-callback", mode=mode)
    assert g.status == "ok", g.result.execution
    check = g.result.check("epoch_limit")
    assert not check.passed and "started from values given to them" in check.message, check.message
    assert_contained(g, timeout=TIMEOUT)
