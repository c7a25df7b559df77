"""Where the trained model's weights came from: training that the recorded epochs do not account for.

The recorder sees `fit`. A student can also train by `train_on_batch`, a `GradientTape` loop, the
original `fit` taken from the grader's wrapper, a second model whose weights are copied over, or by
assigning to the variables. Two signals, independent of `fit`, find that:

* **optimizer steps.** Every Keras optimizer created in the session is kept (deleting one does not
  hide its steps). The grader reads the fitted model's optimizer step counter where each recorded
  epoch's batches begin and end; at export, the steps of all optimizers together must not exceed
  the steps seen inside recorded epochs.
* **weights.** Each trainable variable's value is digested when Keras creates it and at the end
  of every recorded epoch. At the start of each recorded epoch and at export, every trainable
  variable of the model must hold its initial value or a value that a recorded epoch left.
  (Non-trainable variables are not followed: `Normalization.adapt` and moving statistics change
  them without training.)

Both run in the student's process, like the recorder: a student who rewrites this module's state
defeats them (docs/security.md says what remains).
"""

from __future__ import annotations

import hashlib
from typing import Any, Callable

Patch = Callable[[Any, str, Any], None]


class Provenance:
    """The optimizers and the variables' known values of one kernel session."""

    def __init__(self) -> None:
        self.optimizers: list[Any] = []
        self.values: dict[int, tuple[Any, set[bytes]]] = {}  # id(variable) → (variable, digests it may hold)

    def install(self, patch: Patch = setattr) -> None:
        """Follow optimizer and variable creation (Keras 3 on TensorFlow)."""
        from keras.src.backend.tensorflow.core import Variable
        from keras.src.optimizers.base_optimizer import BaseOptimizer

        provenance = self
        original_init, original_initialize = BaseOptimizer.__init__, Variable._initialize

        def __init__(optimizer: Any, *args: Any, **kwargs: Any) -> None:
            original_init(optimizer, *args, **kwargs)
            provenance.optimizers.append(optimizer)

        def _initialize(variable: Any, value: Any) -> None:
            original_initialize(variable, value)
            if getattr(variable, "trainable", False):
                provenance.remember(variable)

        patch(BaseOptimizer, "__init__", __init__)
        patch(Variable, "_initialize", _initialize)

    def remember(self, variable: Any) -> None:
        found = _digest(variable)
        if found is not None:
            self.values[id(variable)] = (variable, {found})

    def unexplained(self, model: Any) -> int:
        """How many trainable variables of `model` hold a value that is neither their initial one
        nor one that a recorded epoch left."""
        count = 0
        for variable in _weights(model):
            known = self.values.get(id(variable))
            if known is None or known[0] is not variable:
                continue  # created out of sight: nothing to compare with
            found = _digest(variable)
            if found is not None and found not in known[1]:
                count += 1
        return count

    def epoch_ended(self, model: Any) -> None:
        """The values a recorded epoch left are values the model may hold from now on."""
        for variable in _weights(model):
            known = self.values.get(id(variable))
            found = _digest(variable)
            if known is not None and known[0] is variable and found is not None:
                known[1].add(found)

    def total_steps(self) -> int | None:
        """Steps of every optimizer of the session (a loss-scaling wrapper counts through its inner
        optimizer, which is counted itself)."""
        steps = [optimizer_steps(o) for o in self.optimizers if not hasattr(o, "inner_optimizer")]
        return sum(s for s in steps if s is not None) if self.optimizers else 0


def optimizer_steps(optimizer: Any) -> int | None:
    try:
        return int(optimizer.iterations.numpy())
    except Exception:  # noqa: BLE001 - an optimizer that is not built or not Keras'
        return None


def _weights(model: Any) -> list[Any]:
    try:
        return list(model.weights)
    except Exception:  # noqa: BLE001 - a broken model has nothing to compare
        return []


def _digest(variable: Any) -> bytes | None:
    try:
        import numpy as np
        import tensorflow as tf

        with tf.init_scope():
            array = np.ascontiguousarray(np.asarray(variable.numpy()))
    except Exception:  # noqa: BLE001 - a value that cannot be read is not compared
        return None
    digest = hashlib.blake2b(f"{array.dtype.str}{array.shape}".encode(), digest_size=16)
    digest.update(array.reshape(-1).view("uint8"))
    return digest.digest()
