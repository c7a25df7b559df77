"""The one typed result model. Every output (terminal, JSON, HTML, CSV, JUnit, Gradescope) renders it.

All classes are frozen dataclasses that round-trip through plain JSON (`to_dict` / `from_dict`).
Nothing here comes from the submission's own claims: a `Recording` is what the grader's
instrumentation saw inside the kernel, an `Evaluation` is what a separate process measured.
"""

from __future__ import annotations

import dataclasses
import functools
import types
import typing
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, TypeVar

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

SCHEMA_VERSION = 1

LayerKind = Literal["conv", "pool", "dense", "other"]
ExecutionStatus = Literal[
    "ok",  # every cell ran
    "error",  # a cell raised
    "timeout",  # the wall-clock limit was reached
    "kernel_died",  # the kernel process exited (os._exit, sys.exit in a subprocess, crash)
    "out_of_memory",  # the kernel was killed for memory
    "too_many_processes",  # the process limit was hit
    "out_of_cpu_time",  # a process used its CPU time limit and was killed
    "invalid",  # the file could not be read as a notebook / module
    "not_run",  # execution was skipped (e.g. a certain static verdict)
    "stopped",  # the grader stopped the run early: a rule was already broken
    "record_mismatch",  # the recorded training claims more than the exported model achieves
]
ExecutionCause = Literal[
    "",  # the status says it all
    # what the grader saw end the run
    "disk_limit",  # the files written passed the disk limit
    "output_flood",  # the kernel sent more at once than the host's memory guard allows
    "malformed_message",  # the kernel sent a message the grader could not read
    "kernel_not_ready",  # the kernel stopped, or stopped answering, before any cell ran
    # what the student's exception was, by its type (or its errno)
    "memory_error",  # MemoryError
    "system_exit",  # SystemExit: sys.exit() or exit()
    "no_more_tasks",  # no process or thread could be started (EAGAIN)
    "file_too_large",  # a file passed the size limit (EFBIG)
]


@dataclass(frozen=True)
class EpochRecord:
    """One epoch of one `fit` call, as recorded by the grader's callback inside the kernel."""

    epoch: int  # Keras' epoch index (counts from `initial_epoch`)
    metrics: dict[str, float]  # the logs Keras computed, copied before any student callback ran
    accuracy: float | None  # value of the built-in accuracy metric, if the model has one
    loss: float | None
    stop_training: bool  # `model.stop_training` after every callback of this epoch ran
    printed: str  # text the submission printed during this epoch (progress bars excluded), truncated
    duration_s: float
    terminal: str = ""  # everything written during the epoch as a terminal shows it (\r, ANSI resolved)
    steps: int | None = None  # optimizer steps the grader saw during this epoch's batches (None: not measured)


@dataclass(frozen=True)
class FitRecord:
    """One call of `Model.fit`."""

    epochs_requested: int  # the `epochs` argument
    initial_epoch: int
    accuracy_metric: str | None  # the log key of the built-in accuracy metric (e.g. 'acc')
    epochs: tuple[EpochRecord, ...] = ()
    completed: bool = False  # `fit` returned (False: raised or the kernel stopped inside it)
    steps_per_epoch: int | None = None  # batches per epoch, as Keras planned them (None: unknown)

    @property
    def epochs_run(self) -> int:
        return len(self.epochs)

    @property
    def stopped_at(self) -> int | None:
        """Index in `epochs` of the first epoch after which `stop_training` was set."""
        return next((i for i, e in enumerate(self.epochs) if e.stop_training), None)


@dataclass(frozen=True)
class LayerInfo:
    """A layer of the trained model, flattened through nested models."""

    name: str
    class_name: str
    output_shape: str
    params: int
    kind: LayerKind
    depth: int = 0  # nesting depth (0: a layer of the top-level model)


@dataclass(frozen=True)
class WeightChange:
    """Where the weights of the trained model were not what recorded training left them."""

    where: Literal["epoch", "export"]  # at the start of a recorded epoch, or when the model was exported
    fit: int = 0  # 1-based `fit` call of that epoch ("epoch" only)
    epoch: int = 0  # 1-based epoch within that call ("epoch" only)
    variables: int = 0  # how many weight tensors of the model differ
    given: int = 0  # of them: started from a value given to them, not drawn by a Keras initializer
    unseen: int = 0  # of them: created out of the grader's sight (a raw tf.Variable)
    example: str = ""  # one of them, by path and shape


@dataclass(frozen=True)
class Recording:
    """Everything the grader's instrumentation recorded in the kernel."""

    fits: tuple[FitRecord, ...] = ()
    layers: tuple[LayerInfo, ...] = ()
    model_class: str | None = None
    input_transform: dict[str, Any] = field(default_factory=dict)  # how `fit`'s x maps to raw MNIST
    export_error: str | None = None
    versions: dict[str, str] = field(default_factory=dict)
    device: str = "CPU"
    seed: int | None = None
    stopped_by: str | None = None  # the check whose rule was broken when the grader stopped the run
    optimizer_steps: int | None = None  # steps of every Keras optimizer of the session, at export
    train_on_batch: int = 0  # calls of `train_on_batch`
    weight_changes: tuple[WeightChange, ...] = ()  # weights changed outside the recorded epochs
    data_files: tuple[str, ...] = ()  # paths the submission loaded the data set from, served the kernel's copy

    @property
    def all_epochs(self) -> tuple[EpochRecord, ...]:
        return tuple(e for fit in self.fits for e in fit.epochs)


@dataclass(frozen=True)
class Evaluation:
    """What the separate evaluation process measured on the exported model."""

    test_accuracy: float | None = None  # on the public test set, which the submission had: for information
    test_images: int = 0
    conv_ops: int = 0  # convolution ops in one forward pass of the exported graph
    pool_ops: int = 0  # pooling ops likewise
    disallowed_ops: tuple[str, ...] = ()  # op types the graph audit refused (`grader.inside.graph_audit`): the model was not run
    unclassified_ops: tuple[str, ...] = ()  # "Op:reason" the layer count could not classify
    duration_s: float = 0.0
    error: str | None = None
    train_accuracy: float | None = None  # on training images the grader chose: a check of the recorded accuracy
    heldout_accuracy: float | None = None  # on the half of the test images withheld from the kernel: what `test_accuracy` judges
    heldout_images: int = 0
    shifted_accuracy: float | None = None  # on the held-out images each shifted a pixel at this grading: far below, they were remembered
    train_loss: float | None = None  # cross-entropy on the same training images: a check of the recorded loss
    train_images: int = 0


@dataclass(frozen=True)
class Figure:
    """An image the notebook displayed: a PNG the grader decoded and checked (`grader.run.figures`)."""

    png: str  # base64 of the PNG's bytes, as the grader re-encoded them
    width: int
    height: int


@dataclass(frozen=True)
class FigureCell:
    """The figures one cell displayed (matplotlib's inline figures, `IPython.display.Image`)."""

    cell: int | None  # 1-based among the submission's code cells; None: the grader's call of the entry function
    source: str  # the cell's first lines, to show beside its figures
    figures: tuple[Figure, ...] = ()


@dataclass(frozen=True)
class ExecutionInfo:
    """How running the submission went. A student's exception is data, not a grader error."""

    status: ExecutionStatus
    message: str = ""  # one sentence for the student
    cell: int | None = None  # 1-based index among the submission's own code cells
    line: int | None = None  # 1-based line within that cell
    source: str = ""  # the failing cell's source (truncated)
    exception: str = ""  # "ValueError: ..." (truncated)
    traceback: str = ""  # frames of the student's own code only, ANSI removed (truncated)
    output_truncated: bool = False
    duration_s: float = 0.0
    timings: dict[str, float] = field(default_factory=dict)  # seconds per phase: kernel_start, setup, student_cells, finish…
    timeout_s: float | None = None  # the wall-clock limit the run had (the assignment's, or --timeout)
    sandbox: str = ""  # which isolation was in force (grader.sandbox.core.Sandbox.describe)
    figures: tuple[FigureCell, ...] = ()  # what the notebook displayed, by cell (capped: grader.run.figures)
    figures_left_out: int = 0  # images not kept: over the caps, not a valid PNG, or another format
    cause: ExecutionCause = ""  # what the status alone does not say, as a code (never read from text)

    @property
    def unsafe(self) -> bool:
        """Whether the code ran with no isolation (`--sandbox none`): every output says so."""
        return self.sandbox.startswith("UNSAFE")


@dataclass(frozen=True)
class Finding:
    """What the static pre-check read in the code, before running it."""

    check: str  # the check it concerns
    certain: bool  # certain to break the rule (else only suspected; execution decides)
    key: str  # message key under `precheck.` in the catalogue
    cell: int  # 1-based among the code cells
    line: int
    values: dict[str, str] = field(default_factory=dict)
    message: str = ""  # the finding in the result's language


@dataclass(frozen=True)
class CheckResult:
    id: str
    passed: bool
    score: float
    max_score: float
    message: str  # one line: why it passed or failed
    required: str = ""  # what the assignment requires
    measured: str = ""  # what the grader measured
    hint: str = ""  # a concrete next step, for a failure
    blocking: bool = True  # False: reported, but does not decide `passed` (e.g. warn-only checks)


@dataclass(frozen=True)
class Metrics:
    epochs_run: int = 0
    epochs_requested: int = 0
    train_accuracy: float | None = None
    train_loss: float | None = None
    test_accuracy: float | None = None  # the public test set, for information
    conv_layers: int = 0
    pooling_layers: int = 0
    seconds_per_epoch: float | None = None
    heldout_accuracy: float | None = None  # the held-out digits: what the `test_accuracy` check judges


@dataclass(frozen=True)
class GradeResult:
    assignment: str
    submission: str
    passed: bool
    score: float
    max_score: float
    checks: tuple[CheckResult, ...]
    metrics: Metrics
    errors: tuple[str, ...]  # messages for the student
    duration_s: float
    execution: ExecutionInfo
    recording: Recording = field(default_factory=Recording)
    evaluation: Evaluation = field(default_factory=Evaluation)
    findings: tuple[Finding, ...] = ()
    lang: str = "en"
    grader_version: str = ""
    schema_version: int = SCHEMA_VERSION

    def check(self, check_id: str) -> CheckResult | None:
        return next((c for c in self.checks if c.id == check_id), None)

    def to_dict(self) -> dict[str, Any]:
        return to_dict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> GradeResult:
        return from_dict(cls, data)


def to_dict(obj: Any) -> Any:
    """A dataclass tree as plain JSON-ready values (tuples become lists)."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: to_dict(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, (list, tuple)):
        return [to_dict(v) for v in obj]
    if isinstance(obj, dict):
        return {str(k): to_dict(v) for k, v in obj.items()}
    return obj


T = TypeVar("T", bound="DataclassInstance")


@functools.cache
def _hints(cls: type) -> dict[str, Any]:
    """The field types of a dataclass of this module, evaluated once (they are strings here)."""
    return typing.get_type_hints(cls)


def from_dict(cls: type[T], data: dict[str, Any]) -> T:
    """Rebuild a dataclass from `to_dict` output; unknown keys are ignored, missing ones defaulted."""
    hints = _hints(cls)
    kwargs = {}
    for f in dataclasses.fields(cls):
        if f.name in data:
            kwargs[f.name] = _convert(hints[f.name], data[f.name])
    return cls(**kwargs)


def _convert(tp: Any, value: Any) -> Any:
    if value is None:
        return None
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin in (typing.Union, types.UnionType):
        inner = [a for a in args if a is not type(None)]
        return _convert(inner[0], value) if len(inner) == 1 else value
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        return from_dict(tp, value)
    if origin is tuple:
        return tuple(_convert(args[0], v) for v in value)
    if origin is dict:
        return {k: _convert(args[1], v) for k, v in value.items()}
    return value
