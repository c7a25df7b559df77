"""Training similarity: pairs whose recorded training agrees epoch by epoch.

The record is the grader's own (`grader.models.Recording`): every epoch's loss and accuracy as
Keras computed them in the kernel. Two trainings that agree in every epoch's loss and accuracy
within a tiny tolerance ran the same computation. Every grading of a batch is seeded alike, so
that is expected of two submissions that build and train exactly the same model the same way;
it is a reason to look when their code differs. A training is compared only when every epoch
has a finite loss (a diverged run's constant chance accuracy says nothing).

Pairs are found by sorting the trainings by epoch count and first loss and comparing only
neighbours within the tolerance, never every pair.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

from grader.models import GradeResult
from grader.similar.model import Epoch, TrainingMatch


def curve(result: GradeResult) -> tuple[Epoch, ...]:
    """The recorded epochs, every fit in order; empty when they cannot be compared."""
    epochs: list[Epoch] = []
    for e in result.recording.all_epochs:
        loss = e.loss
        if not isinstance(loss, (int, float)) or isinstance(loss, bool) or not math.isfinite(loss):
            return ()
        accuracy = e.accuracy if isinstance(e.accuracy, (int, float)) and math.isfinite(e.accuracy) else None
        epochs.append(Epoch(accuracy=accuracy, loss=float(loss)))
    return tuple(epochs)


def difference(a: tuple[Epoch, ...], b: tuple[Epoch, ...]) -> float | None:
    """The largest difference of loss and accuracy over the epochs; None when the lengths differ
    or an accuracy is recorded in one and not the other."""
    if len(a) != len(b):
        return None
    largest = 0.0
    for x, y in zip(a, b, strict=True):
        if (x.accuracy is None) != (y.accuracy is None):
            return None
        largest = max(largest, abs(x.loss - y.loss))
        if x.accuracy is not None and y.accuracy is not None:
            largest = max(largest, abs(x.accuracy - y.accuracy))
    return largest


def matching_trainings(curves: Mapping[str, tuple[Epoch, ...]], tolerance: float, min_epochs: int) -> dict[tuple[str, str], TrainingMatch]:
    """(a, b) with a < b → how their trainings agree, for every pair within the tolerance."""
    ordered = sorted(((len(c), c[0].loss, student) for student, c in curves.items() if len(c) >= min_epochs))
    found: dict[tuple[str, str], TrainingMatch] = {}
    for x, (length, first, student) in enumerate(ordered):
        for other_length, other_first, other in ordered[x + 1:]:
            if other_length != length or other_first - first > tolerance:
                break
            largest = difference(curves[student], curves[other])
            if largest is not None and largest <= tolerance:
                found[(min(student, other), max(student, other))] = TrainingMatch(epochs=length, largest_difference=largest)
    return found
