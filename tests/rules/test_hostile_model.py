"""Attacks on what the grader counts and measures of the model itself (tests/hostile/), graded for
real: layers the count used to miss (mnist-conv: one convolution, one pooling), a graph that reads
a file, and training the record never saw (mnist-callback: 10 epochs). Each trains a small model on
a few hundred images, but a grading starts a kernel and an evaluation: tens of seconds each."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest

from grader.assignment import find_assignment
from grader.pipeline import Options, grade
from grader.report.outputs import write_json
from grader.report.summary import summary
from tests.support.hostile import HOSTILE, Graded, assert_contained

pytestmark = [pytest.mark.slow, pytest.mark.kernel, pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the sandbox is Linux's")]
TIMEOUT = 150  # a kernel, a TensorFlow import and a little training on a busy machine


def attack(tmp_path: Path, name: str, assignment_id: str) -> Graded:
    submission = tmp_path / name
    submission.write_text((HOSTILE / name).read_text(encoding="utf-8"), encoding="utf-8")
    started = time.monotonic()
    result = grade(submission, find_assignment(assignment_id), Options(lang="en", timeout_s=TIMEOUT, full=True))
    elapsed = time.monotonic() - started
    written = [write_json(result, tmp_path / "out")]
    return Graded(result, elapsed, tmp_path / "out", (tmp_path / "out" / "result.json").read_text() + summary(result, written))


# -- layers in disguise ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("extract_patches_conv.py", ["The model has 2 convolution layers"]),
        ("cond_else_branch_conv.py", ["The model has 2 convolution layers"]),
        ("max_pool_with_argmax.py", ["The model has 2 pooling layers"]),
        ("custom_layers_three_convs.py", ["The model has 3 convolution layers", "The model has 2 pooling layers"]),
    ],
)
def test_layers_the_count_used_to_miss_fail_layer_limit(tmp_path, name, expected):
    g = attack(tmp_path, name, "mnist-conv")
    assert g.status == "ok", g.result.execution
    check = g.result.check("layer_limit")
    assert not check.passed and all(e in check.message for e in expected), check.message
    assert g.result.evaluation.unclassified_ops == () and g.result.evaluation.test_images == 10000
    assert_contained(g, TIMEOUT)


# -- a graph that reads a file --------------------------------------------------------------------


def test_a_graph_that_reads_the_data_set_file_is_not_run(tmp_path):
    g = attack(tmp_path, "graph_reads_dataset.py", "mnist-callback")
    assert g.status == "ok", g.result.execution
    assert "ReadFile" in g.result.evaluation.disallowed_ops and g.result.evaluation.test_accuracy is None
    check = g.result.check("test_accuracy")
    assert not check.passed and "does not allow" in check.message and "ReadFile" in check.message
    assert "ReadFile" in g.seen
    assert_contained(g, TIMEOUT)


# -- training the record never saw ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("fit_wrapped_original.py", "the model was also trained outside fit"),
        ("train_on_batch_extra.py", "train_on_batch was called 176 times"),
        ("gradient_tape_loop.py", "the model was also trained outside fit"),
        ("second_model_weights.py", "When epoch 1 of fit call 1 began"),
    ],
)
def test_training_outside_the_record_fails_epoch_limit(tmp_path, name, expected):
    g = attack(tmp_path, name, "mnist-callback")
    assert g.status == "ok", g.result.execution
    check = g.result.check("epoch_limit")
    assert not check.passed and expected in check.message, check.message
    assert g.result.metrics.epochs_run <= 5  # what the record saw is within the limit: only the new signals catch it
    assert_contained(g, TIMEOUT)
