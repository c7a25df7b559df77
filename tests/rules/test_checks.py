"""Each check on recordings built in memory: every way to pass and to fail."""

from __future__ import annotations

from dataclasses import replace

import pytest

from grader.assignment import find_assignment
from grader.models import EpochRecord, Evaluation, ExecutionInfo, Recording
from grader.rules.checks import Measured, layer_counts, message_printed, metrics_of, normalise_message, run_checks
from tests.support.recordings import EVALUATED, MESSAGE, OK, epochs, good_recording, layer, recording


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
    evaluation = Evaluation(heldout_accuracy=0.5, heldout_images=10000, test_accuracy=0.5, test_images=10000)
    assert failing(callback_assignment, good_recording(), evaluation=evaluation) == {"test_accuracy"}


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
        ([layer("sep", "conv", "SeparableConv2D"), layer("pool", "pool")], 1, 1, (1, 1)),  # the graph count pairs its two ops
        ([layer("sep", "other", "SeparableConv2D"), layer("pool", "pool")], 3, 1, (3, 1)),  # a record's class names subtract nothing
        ([layer("gap", "pool", "GlobalAveragePooling2D")], 0, 0, (0, 1)),
    ],
)
def test_layer_counts(layers, conv_ops, pool_ops, expected):
    rec = Recording(layers=tuple(layers))
    assert layer_counts(rec, Evaluation(conv_ops=conv_ops, pool_ops=pool_ops)) == expected


def test_layer_limit(conv_assignment):
    rec = recording((20, epochs((0.99, 0.999), {1: "Reached 99.8% accuracy so cancelling training!"}, stop_at=1)),
                    layers=[layer("conv2d", "conv"), layer("c2", "conv"), layer("p", "pool")])
    evaluation = Evaluation(heldout_accuracy=0.99, heldout_images=10000, test_accuracy=0.99, test_images=10000, conv_ops=2, pool_ops=1)
    results = verdicts(conv_assignment, rec, evaluation=evaluation)
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


# ---------------------------------------------------------------------------------------------
# Rules on the training loss (fashion-callback), test-accuracy-only assignments (mnist-cnn), the
# required model structure (lenet5) and Dense-layer limits.

FASHION_MESSAGE = "Reached 60% accuracy so cancelling training!"


def loss_epochs(losses, printed=None, stop_at=None, accuracy=False):
    """Epoch records with the given losses; no accuracy metric unless `accuracy` (the course compiles without one)."""
    printed = printed or {}
    return tuple(
        EpochRecord(
            epoch=i,
            metrics={"loss": v, **({"accuracy": 1 - v / 2} if accuracy else {})},
            accuracy=1 - v / 2 if accuracy else None,
            loss=v,
            stop_training=i == stop_at,
            printed=f"Epoch {i + 1}/5\n" + printed.get(i, ""),
            duration_s=2.0,
        )
        for i, v in enumerate(losses)
    )


@pytest.fixture(scope="module")
def fashion():
    return find_assignment("fashion-callback")


@pytest.fixture(scope="module")
def cnn():
    return find_assignment("mnist-cnn")


@pytest.fixture(scope="module")
def lenet():
    return find_assignment("lenet5")


FASHION_EVAL = Evaluation(heldout_accuracy=0.86, heldout_images=10000, test_accuracy=0.86, test_images=10000)


def test_the_courses_loss_callback_passes(fashion):
    rec = recording((5, loss_epochs((0.48, 0.36), {1: f"\n{FASHION_MESSAGE}\n"}, stop_at=1)))
    results = verdicts(fashion, rec, evaluation=FASHION_EVAL)
    assert all(c.passed for c in results.values()), {k: c.message for k, c in results.items() if not c.passed}
    assert results["stop_message"].message == "The message was printed in epoch 2, where the loss first fell below the threshold, and training stopped there."
    assert results["loss_threshold"].message == "Training loss 0.3600 is below 0.4."
    assert results["stop_message"].required == ("In the epoch where the training loss first goes below 0.4, "
                                                 "print 'Reached 60% accuracy so cancelling training! / 达到60%准确率，所以取消训练！' and stop training.")


def test_a_loss_rule_needs_no_accuracy_metric_and_speaks_chinese(fashion):
    rec = recording((5, loss_epochs((0.48, 0.36), {1: "达到60%准确率，所以取消训练！"}, stop_at=1)))
    results = verdicts(fashion, rec, evaluation=FASHION_EVAL, lang="zh")
    assert results["stop_message"].passed and "损失首次低于阈值" in results["stop_message"].message
    assert "训练损失" in results["loss_threshold"].required and "低于 0.4" in results["loss_threshold"].required


def test_stopping_on_accuracy_instead_of_loss_fails_both_loss_checks(fashion):
    rec = recording((5, loss_epochs((0.48,), {0: FASHION_MESSAGE}, stop_at=0, accuracy=True)))
    results = verdicts(fashion, rec, evaluation=FASHION_EVAL)
    assert failing(fashion, rec, evaluation=FASHION_EVAL) == {"stop_message", "loss_threshold"}
    assert results["stop_message"].message == "The message was printed in epoch 1, when the training loss was still 0.4800 (it must be below 0.4)."
    assert "logs.get('loss') < 0.4" in results["stop_message"].hint
    assert results["loss_threshold"].message == "Training loss at the last epoch is 0.4800; it must be below 0.4."


def test_the_loss_threshold_is_strict_and_never_reaching_it_is_explained(fashion):
    rec = recording((5, loss_epochs((0.5, 0.45, 0.42, 0.41, 0.4))))
    results = verdicts(fashion, rec, evaluation=FASHION_EVAL)
    assert not results["loss_threshold"].passed
    assert results["stop_message"].message == "The training loss never went below 0.4 (lowest: 0.4000), so the callback never had to stop training."


def test_a_loss_message_printed_without_stopping_or_missing(fashion):
    rec = recording((5, loss_epochs((0.48, 0.36, 0.33, 0.31, 0.3), {i: FASHION_MESSAGE for i in range(1, 5)})))
    assert "did not stop" in verdicts(fashion, rec, evaluation=FASHION_EVAL)["stop_message"].message
    rec = recording((5, loss_epochs((0.48, 0.36), {1: "Reached 99% accuracy so cancelling training!"}, stop_at=1)))
    assert "the loss went below 0.4, but the expected message was not printed" in verdicts(fashion, rec, evaluation=FASHION_EVAL)["stop_message"].message


def test_no_loss_recorded_is_explained(fashion):
    rec = recording((5, tuple(replace(e, loss=None) for e in loss_epochs((0.48,)))))
    results = verdicts(fashion, rec, evaluation=FASHION_EVAL)
    assert "No training loss was recorded" in results["stop_message"].message and "loss=" in results["loss_threshold"].hint


def test_a_test_accuracy_only_assignment(cnn):
    rec = recording((5, epochs((0.95, 0.985, 0.989, 0.991, 0.993))))  # no callback, no message: fine here
    assert failing(cnn, rec, evaluation=Evaluation(heldout_accuracy=0.9886, heldout_images=10000, test_accuracy=0.9886, test_images=10000)) == set()
    assert failing(cnn, rec, evaluation=Evaluation(heldout_accuracy=0.9879, heldout_images=10000, test_accuracy=0.9879, test_images=10000)) == {"test_accuracy"}
    assert verdicts(cnn, rec)["test_accuracy"].required == (
        "The grader measures the final model on held-out test images (test images your code never received): at least 98.80%."
    )


LENET_LAYERS = [
    layer("conv2d", "conv", "Conv2D"), layer("max_pooling2d", "pool", "MaxPooling2D"),
    layer("conv2d_1", "conv", "Conv2D"), layer("max_pooling2d_1", "pool", "MaxPooling2D"),
    layer("flatten"), layer("dense", "dense", "Dense"), layer("dense_1", "dense", "Dense"), layer("dense_2", "dense", "Dense"),
]
LENET_EVAL = Evaluation(heldout_accuracy=0.985, heldout_images=10000, test_accuracy=0.985, test_images=10000, conv_ops=2, pool_ops=2)


def lenet_recording(layers=LENET_LAYERS, model_class="LeNet5"):
    return replace(recording((5, epochs((0.95, 0.98, 0.985, 0.99, 0.991))), layers=layers), model_class=model_class)


def test_the_lenet5_structure_passes(lenet):
    results = verdicts(lenet, lenet_recording(), evaluation=LENET_EVAL)
    assert all(c.passed for c in results.values()), {k: c.message for k, c in results.items() if not c.passed}
    structure = results["model_structure"]
    assert structure.required == (
        "The trained model has this structure: class LeNet5; exactly 2 convolution layer(s); exactly 2 pooling layer(s); exactly 3 Dense layer(s)."
    )
    assert structure.measured == "model class LeNet5; 2 convolution(s), 2 pooling layer(s), 3 Dense layer(s)"


@pytest.mark.parametrize(
    ("layers", "model_class", "evaluation", "expected"),
    [
        (LENET_LAYERS, "Sequential", LENET_EVAL, "The trained model is of class Sequential; it must be an instance of your class LeNet5"),
        (LENET_LAYERS[:-1], "LeNet5", LENET_EVAL, "The model has 2 Dense layer(s); exactly 3 required"),
        ([*LENET_LAYERS[:4], layer("c5", "conv", "Conv2D"), *LENET_LAYERS[4:-1]], "LeNet5", replace(LENET_EVAL, conv_ops=3),
         "The model has 3 convolution layer(s); exactly 2 required; The model has 2 Dense layer(s); exactly 3 required"),
        ([layer("custom"), *LENET_LAYERS[1:]], "LeNet5", LENET_EVAL, None),  # tf.nn.conv2d in a custom layer: the graph counts it
        (LENET_LAYERS, "LeNet5", replace(LENET_EVAL, pool_ops=3), "The model has 3 pooling layer(s); exactly 2 required"),  # a tf.nn.max_pool2d in call()
    ],
)
def test_the_lenet5_structure_fails_on_any_difference(lenet, layers, model_class, evaluation, expected):
    result = verdicts(lenet, lenet_recording(layers, model_class), evaluation=evaluation)["model_structure"]
    if expected is None:
        assert result.passed, result.message
    else:
        assert not result.passed and result.message == expected
        assert "class LeNet5" in result.hint


def test_no_model_means_no_structure(lenet):
    results = verdicts(lenet, Recording(), evaluation=Evaluation(error="no exported model"))
    assert not results["model_structure"].passed and "Model.fit was never called" in results["model_structure"].message
    assert "类 LeNet5" in verdicts(lenet, lenet_recording(LENET_LAYERS, "Net"), evaluation=LENET_EVAL, lang="zh")["model_structure"].message


def test_dense_limits(conv_assignment):
    limited = replace(conv_assignment, limits=replace(conv_assignment.limits, max_dense=1))
    rec = recording((20, epochs((0.99, 0.999), {1: "Reached 99.8% accuracy so cancelling training!"}, stop_at=1)),
                    layers=[layer("c", "conv"), layer("p", "pool"), layer("d1", "dense"), layer("d2", "dense")])
    evaluation = Evaluation(heldout_accuracy=0.99, heldout_images=10000, test_accuracy=0.99, test_images=10000, conv_ops=1, pool_ops=1)
    result = verdicts(limited, rec, evaluation=evaluation)["layer_limit"]
    assert not result.passed and result.message == "The model has 2 Dense layers; at most 1 allowed"
    assert result.required.endswith("At most 1 Dense layer(s).") and ", 2 Dense layer(s)" in result.measured
    assert verdicts(conv_assignment, rec, evaluation=evaluation)["layer_limit"].passed


def test_dense_layers_are_recorded_as_their_own_kind():
    from grader.run.record import parse_recording

    rec = parse_recording({"layers": [{"name": "d", "class_name": "Dense", "kind": "dense"}, {"name": "x", "kind": "bogus"}]})
    assert [layer.kind for layer in rec.layers] == ["dense", "other"]


@pytest.mark.kernel  # Keras in this process
def test_the_census_tells_dense_from_other_layers():
    import keras

    from grader.inside.census import layer_kind

    class MyDense(keras.layers.Dense):
        pass

    layers = (keras.layers.Dense(3), MyDense(2), keras.layers.Conv2D(1, 3), keras.layers.MaxPooling2D(), keras.layers.EinsumDense("ab,bc->ac", 3),
              keras.layers.Flatten())
    kinds = [layer_kind(x) for x in layers]
    assert kinds == ["dense", "dense", "conv", "pool", "other", "other"]


def test_a_run_stopped_before_the_epoch_over_the_limit_fails_epoch_limit(cnn):
    """Two fit(epochs=3): the kernel stops the run as epoch 6 is about to start, so only 5 ran."""
    rec = replace(recording((3, epochs((0.9, 0.95, 0.97))), (3, epochs((0.975, 0.98)))), stopped_by="epoch_limit")
    info = ExecutionInfo(status="stopped", message="epoch 6 was about to start; the limit is 5")
    result = verdicts(cnn, rec, info=info)["epoch_limit"]
    assert not result.passed
    assert result.message == ("5 epochs ran in 2 fit call(s) and training was about to go on with epoch 6; "
                              "at most 5 are allowed in all, so the grader stopped the run there.")
    assert verdicts(cnn, rec)["epoch_limit"].passed  # the same epochs, not stopped: within the limit
