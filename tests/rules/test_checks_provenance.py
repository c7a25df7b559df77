"""The verdicts on training outside the record (epoch_limit: grader.inside.provenance's signals),
from recordings built in memory."""

from __future__ import annotations

from dataclasses import replace

import pytest

from grader.models import Evaluation, Recording, WeightChange
from grader.rules.checks import Measured, run_checks
from tests.support.recordings import EVALUATED, OK, good_recording


def verdicts(assignment, rec: Recording, evaluation: Evaluation = EVALUATED, lang: str = "en"):
    return {c.id: c for c in run_checks(Measured(assignment, rec, evaluation, OK, None, lang))}


def with_steps(rec: Recording, steps: int = 938, optimizer_steps: int | None = None, **fields) -> Recording:
    """`rec` with `steps` optimizer steps in each epoch (of `steps` batches) and the optimizers'
    total at export (default: exactly what the epochs saw)."""
    fits = tuple(replace(f, steps_per_epoch=steps, epochs=tuple(replace(e, steps=steps) for e in f.epochs)) for f in rec.fits)
    seen = steps * sum(len(f.epochs) for f in fits)
    return replace(rec, fits=fits, optimizer_steps=seen if optimizer_steps is None else optimizer_steps, **fields)


def test_recorded_training_that_accounts_for_every_step_passes(callback_assignment):
    assert verdicts(callback_assignment, with_steps(good_recording()))["epoch_limit"].passed


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"optimizer_steps": 5 * 938 + 8 * 938}, "made 12194 training steps, but the 5 recorded epoch(s) account for 4690"),
        ({"optimizer_steps": 5 * 938 + 30, "train_on_batch": 30}, "train_on_batch was called 30 times"),
        ({"weight_changes": (WeightChange("epoch", fit=1, epoch=1, variables=4),)}, "When epoch 1 of fit call 1 began, 4 weight tensor(s)"),
        ({"weight_changes": (WeightChange("export", variables=2),)}, "After the last recorded epoch, 2 weight tensor(s)"),
        ({"weight_changes": (WeightChange("epoch", fit=1, epoch=1, variables=2, given=2, example="dense/kernel (784, 128)"),)},
         "2 weight tensor(s) of the model (such as dense/kernel (784, 128)) started from values given to them"),
        ({"weight_changes": (WeightChange("export", variables=1, unseen=1, example="Variable:0 (784, 10)"),)},
         "1 variable(s) that the model uses (such as Variable:0 (784, 10)) were created outside Keras' layers"),
    ],
)
def test_training_outside_the_record_fails_epoch_limit(callback_assignment, fields, expected):
    results = verdicts(callback_assignment, with_steps(good_recording(), **fields))
    assert not results["epoch_limit"].passed and expected in results["epoch_limit"].message
    assert "optimizer step(s) in all" in results["epoch_limit"].measured
    assert {k for k, c in results.items() if not c.passed} == {"epoch_limit"}


def test_an_epoch_with_more_steps_than_batches(callback_assignment):
    rec = with_steps(good_recording())
    first = rec.fits[0]
    rec = replace(rec, fits=(replace(first, epochs=(replace(first.epochs[0], steps=2 * 938), *first.epochs[1:])),))
    message = verdicts(callback_assignment, rec, lang="zh")["epoch_limit"].message
    assert "1876" in message and "938" in message and "轮" in message


def test_a_record_without_steps_is_judged_as_before(callback_assignment):
    assert verdicts(callback_assignment, good_recording())["epoch_limit"].passed  # optimizer_steps None: not measured


def test_initial_values_given_are_named_in_chinese_too(callback_assignment):
    change = WeightChange("epoch", fit=1, epoch=1, variables=3, given=2, example="dense/kernel (784, 128)")
    message = verdicts(callback_assignment, with_steps(good_recording(), weight_changes=(change,)), lang="zh")["epoch_limit"].message
    assert "2 个权重张量" in message and "dense/kernel (784, 128)" in message
