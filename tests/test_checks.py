"""Each check on recordings built in memory: every way to pass and to fail."""

from __future__ import annotations

from dataclasses import replace

import pytest
from conftest import EVALUATED, MESSAGE, OK, epochs, good_recording, layer, recording

from grader.checks import Measured, layer_counts, message_printed, metrics_of, normalise_message, run_checks
from grader.models import Evaluation, ExecutionInfo, Recording


def verdicts(assignment, rec: Recording, evaluation: Evaluation = EVALUATED, info: ExecutionInfo = OK, lang: str = "en"):
    checks = run_checks(Measured(assignment, rec, evaluation, info, None, lang))
    return {c.id: c for c in checks}


def failing(assignment, rec: Recording, **kwargs) -> set[str]:
    return {cid for cid, c in verdicts(assignment, rec, **kwargs).items() if not c.passed}


@pytest.mark.parametrize(
    "printed",
    [
        "Reached 99% accuracy so cancelling training!",
        "\n  Reached 99% accuracy so cancelling training!  \n",
        "Reached 99% accuracy so cancelling training！",
        "达到99%准确率，所以取消训练！",
        "达到99%准确率,所以取消训练!",
        "progress 1/10\rReached 99% accuracy so cancelling training!\r\n",
    ],
)
def test_message_matching_tolerates_whitespace_and_full_width_punctuation(callback_assignment, printed):
    assert message_printed(printed, callback_assignment.training.stop_messages)


@pytest.mark.parametrize(
    "printed",
    [
        "Reached 99% accuracy so cancelling training",  # no punctuation
        "reached 99% accuracy so cancelling training!",  # case
        "Reached 99%  accuracy so cancelling training!",  # inner whitespace
        "Reached 99.8% accuracy so cancelling training!",  # the other exercise's text
        "Epoch 5: Reached 99% accuracy so cancelling training!",  # more on the line
        "达到99%准确率，所以取消训练",
    ],
)
def test_message_matching_is_nothing_looser(callback_assignment, printed):
    assert not message_printed(printed, callback_assignment.training.stop_messages)


def test_normalise_message():
    assert normalise_message("  达到99%准确率，所以取消训练！\n") == "达到99%准确率,所以取消训练!"


def test_a_correct_recording_passes_every_check(callback_assignment):
    results = verdicts(callback_assignment, good_recording())
    assert all(c.passed for c in results.values()), {k: c.message for k, c in results.items() if not c.passed}
    assert results["stop_message"].message.startswith("The message was printed in epoch 5")


def test_chinese_message_passes_and_messages_are_in_chinese(callback_assignment):
    results = verdicts(callback_assignment, good_recording("达到99%准确率，所以取消训练！"), lang="zh")
    assert results["stop_message"].passed
    assert "第 5 轮" in results["stop_message"].message


def test_epoch_argument_over_the_limit_fails_only_epoch_limit(callback_assignment):
    rec = recording((30, epochs((0.94, 0.975, 0.983, 0.988, 0.9912), {4: MESSAGE}, stop_at=4)))
    assert failing(callback_assignment, rec) == {"epoch_limit"}
    check = verdicts(callback_assignment, rec)["epoch_limit"]
    assert "epochs=30" in check.message and "epochs=10" in check.hint


def test_two_fit_calls_over_the_total_fail_epoch_limit(callback_assignment):
    first = epochs([0.9 + i * 0.01 for i in range(6)])
    second = epochs([0.96 + i * 0.001 for i in range(6)])
    rec = recording((6, first), (6, second))
    result = verdicts(callback_assignment, rec)["epoch_limit"]
    assert not result.passed and "12 epochs ran across 2 fit calls" in result.message


def test_exactly_the_limit_passes(callback_assignment):
    accs = [0.9 + i * 0.01 for i in range(9)] + [0.995]
    rec = recording((10, epochs(accs, {9: MESSAGE}, stop_at=9)))
    assert failing(callback_assignment, rec) == set()


def test_no_training_fails_training_checks(callback_assignment):
    assert failing(callback_assignment, Recording(), evaluation=Evaluation(error="no exported model")) == {
        "epoch_limit",
        "stop_message",
        "accuracy_threshold",
        "test_accuracy",
    }


def test_wrong_message_text(callback_assignment):
    rec = good_recording("Reached 99% accuracy, cancelling training!")
    result = verdicts(callback_assignment, rec)["stop_message"]
    assert not result.passed and "not printed" in result.message
    assert failing(callback_assignment, rec) == {"stop_message"}


def test_message_printed_but_training_not_stopped(callback_assignment):
    accs = (0.94, 0.975, 0.983, 0.988, 0.9912, 0.993, 0.994, 0.995, 0.996, 0.997)
    rec = recording((10, epochs(accs, {i: MESSAGE for i in range(4, 10)})))
    result = verdicts(callback_assignment, rec)["stop_message"]
    assert not result.passed and "did not stop" in result.message
    assert failing(callback_assignment, rec) == {"stop_message"}


def test_stop_flag_without_message_fails(callback_assignment):
    rec = recording((10, epochs((0.95, 0.992), stop_at=1)))
    assert failing(callback_assignment, rec) == {"stop_message"}


def test_stopping_too_early_fails_threshold_and_message(callback_assignment):
    rec = recording((10, epochs((0.93, 0.955), {1: MESSAGE}, stop_at=1)))
    results = verdicts(callback_assignment, rec)
    assert failing(callback_assignment, rec) == {"stop_message", "accuracy_threshold"}
    assert "95.50%" in results["stop_message"].message


def test_training_on_after_the_stop_fails(callback_assignment):
    first = epochs((0.95, 0.992), {1: MESSAGE}, stop_at=1)
    rec = recording((10, first), (1, epochs((0.995,))))
    result = verdicts(callback_assignment, rec)["stop_message"]
    assert not result.passed and "went on" in result.message


def test_threshold_is_strict(callback_assignment):
    rec = recording((10, epochs((0.95, 0.99), {1: MESSAGE}, stop_at=1)))
    assert {"accuracy_threshold", "stop_message"} <= failing(callback_assignment, rec)


def test_no_accuracy_metric_is_explained(callback_assignment):
    rec = recording((10, tuple(replace(e, accuracy=None) for e in epochs((0.95,)))))
    result = verdicts(callback_assignment, rec)["accuracy_threshold"]
    assert not result.passed and "metrics=['accuracy']" in result.hint


def test_low_test_accuracy_fails_only_test_accuracy(callback_assignment):
    assert failing(callback_assignment, good_recording(), evaluation=Evaluation(test_accuracy=0.5, test_images=10000)) == {"test_accuracy"}


def test_execution_error_is_reported_with_cell_and_line(callback_assignment):
    info = ExecutionInfo(status="error", message="Cell 4 raised KeyError", cell=4, line=7, exception="KeyError: 'acc'")
    result = verdicts(callback_assignment, good_recording(), info=info)["execution"]
    assert not result.passed and "(cell 4, line 7)" in result.message and "KeyError: 'acc'" in result.message


def test_timeout_names_the_limit(callback_assignment):
    result = verdicts(callback_assignment, Recording(), info=ExecutionInfo(status="timeout"))["execution"]
    assert f"{callback_assignment.timeout_s} seconds" in result.message


@pytest.mark.parametrize(
    ("layers", "conv_ops", "pool_ops", "expected"),
    [
        ([layer("conv2d", "conv"), layer("max_pooling2d", "pool")], 1, 1, (1, 1)),
        ([layer("conv2d", "conv"), layer("conv2d_1", "conv"), layer("max_pooling2d", "pool")], 2, 1, (2, 1)),
        ([layer("custom"), layer("conv2d", "conv"), layer("pool", "pool")], 2, 1, (2, 1)),  # tf.nn.conv2d in a custom layer
        ([layer("sep", "conv", "SeparableConv2D"), layer("pool", "pool")], 2, 1, (1, 1)),
        ([layer("gap", "pool", "GlobalAveragePooling2D")], 0, 0, (0, 1)),
    ],
)
def test_layer_counts(layers, conv_ops, pool_ops, expected):
    rec = Recording(layers=tuple(layers))
    assert layer_counts(rec, Evaluation(conv_ops=conv_ops, pool_ops=pool_ops)) == expected


def test_layer_limit(conv_assignment):
    rec = recording((20, epochs((0.99, 0.999), {1: "Reached 99.8% accuracy so cancelling training!"}, stop_at=1)), layers=[layer("conv2d", "conv"), layer("c2", "conv"), layer("p", "pool")])
    results = verdicts(conv_assignment, rec, evaluation=Evaluation(test_accuracy=0.99, test_images=10000, conv_ops=2, pool_ops=1))
    assert not results["layer_limit"].passed and "2 convolution layers" in results["layer_limit"].message
    assert {k for k, c in results.items() if not c.passed} == {"layer_limit"}


def test_metrics_come_from_the_record(callback_assignment):
    m = metrics_of(good_recording(), EVALUATED)
    assert (m.epochs_run, m.epochs_requested, m.train_accuracy, m.test_accuracy) == (5, 10, 0.9912, 0.981)
    assert m.seconds_per_epoch == 2.0


def test_points_follow_the_assignment(callback_assignment):
    results = verdicts(callback_assignment, good_recording())
    assert [c.id for c in results.values()] == list(callback_assignment.points)
    assert all(c.score == c.max_score == callback_assignment.points[c.id] for c in results.values())
