"""The verdicts on ops the layer count cannot classify (layer_limit, model_structure) and on ops the
graph audit refused (test_accuracy), from recordings and evaluations built in memory."""

from __future__ import annotations

from dataclasses import replace

import pytest

from grader.assignment import find_assignment
from grader.models import Evaluation, Recording
from grader.rules.checks import Measured, run_checks
from tests.support.recordings import EVALUATED, OK, epochs, good_recording, layer, recording


def verdicts(assignment, rec: Recording, evaluation: Evaluation = EVALUATED, lang: str = "en"):
    return {c.id: c for c in run_checks(Measured(assignment, rec, evaluation, OK, None, lang))}


@pytest.mark.parametrize(
    ("evaluation", "expected"),
    [
        (Evaluation(conv_ops=1, pool_ops=1, unclassified_ops=("Conv2D:loop",)), "Conv2D inside a loop"),
        (Evaluation(conv_ops=1, pool_ops=1, unclassified_ops=("Mean:axes", "FFT:unknown")), "Mean over axes that are not constants; FFT"),
        (Evaluation(error="refused", disallowed_ops=("ReadFile",)), "cannot classify as convolution, pooling or neither: ReadFile"),
    ],
)
def test_what_the_layer_count_cannot_classify_fails_layer_limit(conv_assignment, evaluation, expected):
    rec = recording((20, epochs((0.99, 0.999), {1: "Reached 99.8% accuracy so cancelling training!"}, stop_at=1)),
                    layers=[layer("c", "conv"), layer("p", "pool")])
    measured = {k: getattr(evaluation, k) for k in ("conv_ops", "pool_ops", "unclassified_ops", "disallowed_ops", "error")}
    result = verdicts(conv_assignment, rec, replace(EVALUATED, **measured))["layer_limit"]
    assert not result.passed and expected in result.message


def test_unclassified_ops_fail_the_lenet5_structure_too():
    lenet = find_assignment("lenet5")
    rec = recording((5, epochs((0.9, 0.95))), layers=[layer("c1", "conv"), layer("p1", "pool"), layer("c2", "conv"), layer("p2", "pool")])
    rec = replace(rec, model_class="LeNet5")
    result = verdicts(lenet, rec, replace(EVALUATED, conv_ops=2, pool_ops=2, unclassified_ops=("MaxPool:loop",)), lang="zh")["model_structure"]
    assert not result.passed and "循环中的 MaxPool" in result.message


def test_an_assignment_without_a_layer_limit_ignores_unclassified_ops(callback_assignment):
    results = verdicts(callback_assignment, good_recording(), replace(EVALUATED, unclassified_ops=("Conv2D:loop",)))
    assert all(c.passed for c in results.values())


def test_a_graph_the_audit_refused_fails_test_accuracy_naming_the_ops(callback_assignment):
    evaluation = Evaluation(error="disallowed operations in the model's graph: EagerPyFunc, ReadFile", disallowed_ops=("EagerPyFunc", "ReadFile"))
    result = verdicts(callback_assignment, good_recording(), evaluation)["test_accuracy"]
    assert not result.passed and "(EagerPyFunc, ReadFile)" in result.message and "not run" in result.message
