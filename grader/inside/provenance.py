"""Where the trained model's weights came from: training that the recorded epochs do not account for.

The recorder sees `fit`. A student can also train by `train_on_batch`, a `GradientTape` loop, the
original `fit` taken from the grader's wrapper, a second model whose weights are copied over, or by
assigning to the variables. Two signals, independent of `fit`, find that:

* **optimizer steps.** Every Keras optimizer created in the session is kept (deleting one does not
  hide its steps). The grader reads the fitted model's optimizer step counter where each recorded
  epoch's batches begin and end; at export, the steps of all optimizers together must not exceed
  the steps seen inside recorded epochs.
* **weights.** Each variable's value is digested when Keras creates it, with whether its initial
  value is *drawn*: made by one of Keras' own random, zeros or ones initializers (their classes
  and `__call__` as they were when the hooks were installed). A value given to it instead (a
  `Constant`, an array, a function returning one, a `tf.Variable`) explains nothing when the
  variable has more than `FEW` elements that are not all equal: weights trained outside the record
  come in that way. The values explained are the drawn initial values and the values that a
  recorded epoch left, of any variable. At the start of each recorded epoch and at export, every
  trainable variable of the model must hold an explained value; a variable the grader did not see
  created (a raw `tf.Variable` reachable from the model) explains nothing. (Non-trainable variables
  are only checked for their initial value: `Normalization.adapt` and moving statistics change
  them without training.)

Both run in the student's process, like the recorder: a student who rewrites this module's state
defeats them (docs/security.md says what remains).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

Patch = Callable[[Any, str, Any], None]


FEW = 64  # a variable with at most this many elements explains itself (a scale, a small bias)
DRAWN = ("Zeros", "Ones", "RandomNormal", "RandomUniform", "TruncatedNormal", "VarianceScaling", "GlorotUniform",
         "GlorotNormal", "HeUniform", "HeNormal", "LecunUniform", "LecunNormal", "Orthogonal", "Identity")


@dataclass
class Unexplained:
    """Weight tensors of a model that hold values no drawn initializer and no recorded epoch made."""

    changed: int = 0  # drawn by Keras, then changed outside the recorded epochs
    given: int = 0  # started from a value given to them (Constant, array, function, tf.Variable)
    unseen: int = 0  # created out of the grader's sight (a raw tf.Variable)
    example: str = ""  # one of them, by path and shape

    @property
    def total(self) -> int:
        return self.changed + self.given + self.unseen

    def add(self, kind: str, variable: Any) -> None:
        setattr(self, kind, getattr(self, kind) + 1)
        if not self.example:
            self.example = f"{getattr(variable, 'path', None) or getattr(variable, 'name', '?')} {tuple(variable.shape)}"[:120]

    def as_record(self) -> dict[str, Any]:
        return {"variables": self.total, "given": self.given, "unseen": self.unseen, "example": self.example}


class Provenance:
    """The optimizers and the variables' known values of one kernel session."""

    def __init__(self) -> None:
        self.optimizers: list[Any] = []
        self.created: dict[int, tuple[Any, bool]] = {}  # id(variable) → (variable, whether its initial value is explained)
        self.explained: set[bytes] = set()  # digests of drawn initial values and of values recorded epochs left
        self.drawers: dict[type, Any] = {}  # Keras' own initializer classes → their __call__ at install
        self.pending: dict[int, Any] = {}  # id(variable) → the initializer Keras is calling for it

    def install(self, patch: Patch = setattr) -> None:
        """Follow optimizer and variable creation (Keras 3 on TensorFlow)."""
        from keras.src.backend.tensorflow.core import Variable
        from keras.src.initializers import constant_initializers, random_initializers
        from keras.src.optimizers.base_optimizer import BaseOptimizer

        for module in (constant_initializers, random_initializers):
            for name in DRAWN:
                if isinstance(getattr(module, name, None), type):
                    cls = getattr(module, name)
                    self.drawers[cls] = cls.__call__
        provenance = self
        original_init = BaseOptimizer.__init__
        original_initialize, original_with = Variable._initialize, Variable._initialize_with_initializer

        def __init__(optimizer: Any, *args: Any, **kwargs: Any) -> None:
            original_init(optimizer, *args, **kwargs)
            provenance.optimizers.append(optimizer)

        def _initialize_with_initializer(variable: Any, initializer: Any) -> None:
            provenance.pending[id(variable)] = initializer
            try:
                original_with(variable, initializer)
            finally:
                provenance.pending.pop(id(variable), None)

        def _initialize(variable: Any, value: Any) -> None:
            original_initialize(variable, value)
            initializer = provenance.pending.get(id(variable)) if callable(value) else None
            provenance.remember(variable, provenance.drawn(initializer))

        patch(BaseOptimizer, "__init__", __init__)
        patch(Variable, "_initialize_with_initializer", _initialize_with_initializer)
        patch(Variable, "_initialize", _initialize)

    def drawn(self, initializer: Any) -> bool:
        """Whether `initializer` is one of Keras' own random/zeros/ones initializers, unchanged."""
        cls = type(initializer)
        return cls in self.drawers and cls.__call__ is self.drawers[cls]

    def remember(self, variable: Any, drawn: bool) -> None:
        found, plain = _digest(variable)
        explained = found is not None and (drawn or plain)
        self.created[id(variable)] = (variable, explained)
        if explained:
            self.explained.add(found)  # type: ignore[arg-type]

    def unexplained(self, model: Any) -> Unexplained:
        """The trainable variables of `model` that hold a value neither drawn by a Keras
        initializer nor left by a recorded epoch, non-trainable ones that started from a value
        given to them, and raw `tf.Variable`s reachable from the model."""
        found = Unexplained()
        for variable in _weights(model):
            known = self.created.get(id(variable))
            trainable = bool(getattr(variable, "trainable", True))
            if known is None or known[0] is not variable:
                if trainable:
                    found.add("unseen", variable)
                continue
            if not trainable and known[1]:
                continue  # followed no further: adapt() and moving statistics change it honestly
            if _digest(variable)[0] not in self.explained:
                found.add("changed" if known[1] else "given", variable)
        for variable in _raw_variables(model):
            if not _digest(variable)[1]:
                found.add("unseen", variable)
        return found

    def epoch_ended(self, model: Any) -> None:
        """The values a recorded epoch left are values any variable may hold from now on."""
        for variable in _weights(model):
            found = _digest(variable)[0]
            if found is not None and id(variable) in self.created:
                self.explained.add(found)

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


def _raw_variables(model: Any) -> list[Any]:
    """`tf.Variable`s reachable from the model that are not Keras' (Keras' own are not `tf.Variable`s)."""
    try:
        import tensorflow as tf

        return [o for o in tf.train.TrackableView(model).descendants() if isinstance(o, tf.Variable)]
    except Exception:  # noqa: BLE001 - a model that cannot be walked has none to show
        return []


def _digest(variable: Any) -> tuple[bytes | None, bool]:
    """The digest of the variable's value (None when it cannot be read) and whether the value
    explains itself: at most `FEW` elements, or all elements equal (zeros, a constant bias)."""
    try:
        import numpy as np
        import tensorflow as tf

        with tf.init_scope():
            array = np.ascontiguousarray(np.asarray(variable.numpy()))
    except Exception:  # noqa: BLE001 - a value that cannot be read is not compared
        return None, False
    digest = hashlib.sha256(f"{array.dtype.str}{array.shape}".encode())  # SHA-256: hardware-accelerated on common CPUs
    digest.update(array.reshape(-1).view("uint8").data)
    flat = array.reshape(-1)
    plain = flat.size <= FEW or bool((flat == flat[0]).all())
    return digest.digest(), plain
