"""Assignments are data: `assignments/<id>/assignment.toml`, validated once into a typed config."""

from __future__ import annotations

import difflib
import sys
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from grader.errors import ConfigError, UsageError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

KNOWN_CHECKS = (
    "execution",
    "epoch_limit",
    "stop_message",
    "accuracy_threshold",
    "loss_threshold",
    "layer_limit",
    "model_structure",
    "test_accuracy",
    "skeleton_integrity",
)
LANGS = ("en", "zh")
INTEGRITY_MODES = ("off", "warn", "enforce")
DATASETS = ("mnist", "fashion_mnist")
METRICS = ("accuracy", "loss")  # accuracy must go above the threshold, loss below it
THRESHOLD_CHECKS = ("stop_message", "accuracy_threshold", "loss_threshold")

# Every field an assignment file may have, per table: anything else is a mistake, named as such.
TOP_FIELDS = ("id", "title", "title_zh", "dataset", "default_lang", "timeout_s", "entry", "skeleton_integrity",
              "packages", "training", "limits", "structure", "evaluation", "checks", "authoring")
TRAINING_FIELDS = ("max_epochs", "metric", "threshold", "stop_messages")
LIMITS_FIELDS = ("max_conv", "max_pool", "max_dense")
STRUCTURE_FIELDS = ("model_class", "conv", "pool", "dense")
EVALUATION_FIELDS = ("min_test_accuracy",)
AUTHORING_FIELDS = ("reference", "samples", "expected")
# What the course's notebooks import beyond the standard library: an assignment without `packages`.
DEFAULT_PACKAGES = ("tensorflow", "keras", "numpy", "matplotlib")


@dataclass(frozen=True)
class Training:
    max_epochs: int
    threshold: float | None  # the training metric must end strictly past this (None: no such rule)
    stop_messages: tuple[str, ...]  # empty when the assignment has no stop_message check
    metric: str = "accuracy"  # "accuracy": must go above the threshold; "loss": below it

    @property
    def below(self) -> bool:
        """Whether the metric must fall below the threshold (loss) rather than rise above it."""
        return self.metric == "loss"

    def reached(self, value: float | None) -> bool:
        """Whether one epoch's value of the metric is past the threshold (strictly)."""
        if value is None or self.threshold is None:
            return False
        return value < self.threshold if self.below else value > self.threshold


@dataclass(frozen=True)
class Limits:
    """At-most counts of layers (check `layer_limit`)."""

    max_conv: int | None = None
    max_pool: int | None = None
    max_dense: int | None = None


@dataclass(frozen=True)
class Structure:
    """The required model (check `model_structure`): its class name and exact layer counts."""

    model_class: str | None = None
    conv: int | None = None
    pool: int | None = None
    dense: int | None = None


@dataclass(frozen=True)
class Authoring:
    """Where `grader validate` finds the reference solution and the samples meant to fail."""

    reference: Path | None = None  # None: reference/<id>/solution.ipynb (or .py) beside assignments/
    samples: Path | None = None  # None: tests/samples/<id>/ beside assignments/
    expected: Path | None = None  # None: expected.toml in the samples folder's parent


@dataclass(frozen=True)
class Assignment:
    id: str
    title: str
    title_zh: str
    dataset: str
    default_lang: str
    timeout_s: int
    entry: str | None  # a function the grader calls after the cells ran, e.g. "train_mnist"
    training: Training
    limits: Limits
    min_test_accuracy: float | None
    points: dict[str, float]  # enabled checks, in report order, with their points
    integrity: str  # skeleton_integrity mode: off | warn | enforce
    folder: Path
    structure: Structure = Structure()
    authoring: Authoring = Authoring()
    packages: tuple[str, ...] = DEFAULT_PACKAGES  # top-level modules students may import beyond the standard library

    @property
    def skeleton_path(self) -> Path:
        return self.folder / "skeleton.ipynb"

    def title_for(self, lang: str) -> str:
        return self.title_zh if lang == "zh" and self.title_zh else self.title

    def rules_summary(self) -> str:
        """One line for `grader list`: the epoch budget, the training rule, the test bound."""
        t = self.training
        parts = [f"epochs ≤ {t.max_epochs}"]
        if t.threshold is not None:
            parts.append(f"{t.metric} {'<' if t.below else '>'} {t.threshold:g}")
        if self.min_test_accuracy is not None:
            parts.append(f"test accuracy ≥ {self.min_test_accuracy:g}")
        if self.structure.model_class:
            parts.append(f"class {self.structure.model_class}")
        return ", ".join(parts)


def assignments_root() -> Path:
    """The folder of assignments: the source checkout's, or the copy shipped in the wheel."""
    source = Path(__file__).resolve().parent.parent / "assignments"
    if source.is_dir():
        return source
    return Path(str(resources.files("grader") / "assignments"))


def list_assignments(root: Path | None = None) -> list[Assignment]:
    root = root or assignments_root()
    return [load_assignment(p.parent) for p in sorted(root.glob("*/assignment.toml"))]


def find_assignment(name_or_path: str, root: Path | None = None) -> Assignment:
    """An assignment by id (from the assignments folder) or by a path to its folder or TOML file."""
    path = Path(name_or_path)
    if path.suffix == ".toml" and path.is_file():
        return load_assignment(path.parent)
    if (path / "assignment.toml").is_file() and (path.is_absolute() or path.parts[0] in (".", "..") or len(path.parts) > 1):
        return load_assignment(path)
    folder = (root or assignments_root()) / name_or_path
    if not (folder / "assignment.toml").is_file():
        known = ", ".join(a.id for a in list_assignments(root)) or "none"
        raise UsageError(f"unknown assignment '{name_or_path}' (known: {known}; or give a path to an assignment folder)")
    return load_assignment(folder)


def load_assignment(folder: Path) -> Assignment:
    path = folder / "assignment.toml"
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(path, "-", f"cannot read: {exc}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(path, "-", f"not valid TOML: {exc}") from exc
    return parse_assignment(data, path)


def parse_assignment(data: dict[str, Any], path: Path) -> Assignment:
    f = _Fields(data, path)
    f.only(TOP_FIELDS)
    tf = _Fields(f.table("training"), path, "training.")
    lf = _Fields(f.table("limits", required=False), path, "limits.")
    sf = _Fields(f.table("structure", required=False), path, "structure.")
    ef = _Fields(f.table("evaluation", required=False), path, "evaluation.")
    af = _Fields(f.table("authoring", required=False), path, "authoring.")
    for sub, fields in ((tf, TRAINING_FIELDS), (lf, LIMITS_FIELDS), (sf, STRUCTURE_FIELDS), (ef, EVALUATION_FIELDS), (af, AUTHORING_FIELDS)):
        sub.only(fields)
    points = f.table("checks")
    if not points:
        raise ConfigError(path, "checks", f"enable at least one check (known: {', '.join(KNOWN_CHECKS)})")
    for check_id, value in points.items():
        if check_id not in KNOWN_CHECKS:
            raise ConfigError(path, f"checks.{check_id}", f"unknown check{_did_you_mean(check_id, KNOWN_CHECKS)} (known: {', '.join(KNOWN_CHECKS)})")
        if not isinstance(value, (int, float)) or isinstance(value, bool) or value < 0:
            raise ConfigError(path, f"checks.{check_id}", "points must be a number >= 0")
    metric = tf.choice("metric", METRICS, default="accuracy")
    needs_threshold = [c for c in THRESHOLD_CHECKS if c in points]
    threshold = tf.fraction("threshold", default=None) if metric == "accuracy" else tf.positive("threshold", default=None)
    if needs_threshold and threshold is None:
        raise ConfigError(path, "training.threshold", f"missing (check '{needs_threshold[0]}' needs it)")
    if "stop_message" in points and "stop_messages" not in tf.data:
        raise ConfigError(path, "training.stop_messages", "missing (check 'stop_message' needs it)")
    if "stop_messages" in tf.data:
        stop_messages = tuple(tf.str_list("stop_messages"))
    else:
        stop_messages = ()
    assignment = Assignment(
        id=f.str("id"),
        title=f.str("title"),
        title_zh=f.str("title_zh", default=""),
        dataset=f.choice("dataset", DATASETS),
        default_lang=f.choice("default_lang", LANGS, default="en"),
        timeout_s=f.int("timeout_s", default=900, minimum=1),
        entry=f.str("entry", default="") or None,
        training=Training(
            max_epochs=tf.int("max_epochs", minimum=1),
            threshold=threshold,
            stop_messages=stop_messages,
            metric=metric,
        ),
        limits=Limits(
            max_conv=lf.int("max_conv", default=None, minimum=0),
            max_pool=lf.int("max_pool", default=None, minimum=0),
            max_dense=lf.int("max_dense", default=None, minimum=0),
        ),
        min_test_accuracy=ef.fraction("min_test_accuracy", default=None),
        points={k: float(v) for k, v in points.items()},
        integrity=f.choice("skeleton_integrity", INTEGRITY_MODES, default="warn"),
        folder=path.parent,
        structure=Structure(
            model_class=sf.str("model_class", default=None),
            conv=sf.int("conv", default=None, minimum=0),
            pool=sf.int("pool", default=None, minimum=0),
            dense=sf.int("dense", default=None, minimum=0),
        ),
        authoring=Authoring(
            reference=af.relpath("reference"),
            samples=af.relpath("samples"),
            expected=af.relpath("expected"),
        ),
        packages=f.packages("packages"),
    )
    if assignment.entry is not None and not assignment.entry.isidentifier():
        raise ConfigError(path, "entry", "must be the name of a Python function, e.g. train_mnist")
    if assignment.id != path.parent.name:
        raise ConfigError(path, "id", f"'{assignment.id}' must equal the folder name '{path.parent.name}'")
    if "layer_limit" in points and assignment.limits == Limits():
        raise ConfigError(path, "limits", "check 'layer_limit' needs limits.max_conv, limits.max_pool or limits.max_dense")
    if "model_structure" in points and assignment.structure == Structure():
        raise ConfigError(path, "structure", "check 'model_structure' needs structure.model_class or a layer count (conv, pool, dense)")
    if assignment.structure.model_class is not None and not assignment.structure.model_class.isidentifier():
        raise ConfigError(path, "structure.model_class", "must be a Python class name, e.g. LeNet5")
    if "test_accuracy" in points and assignment.min_test_accuracy is None:
        raise ConfigError(path, "evaluation.min_test_accuracy", "check 'test_accuracy' needs it")
    if "accuracy_threshold" in points and metric != "accuracy":
        raise ConfigError(path, "checks.accuracy_threshold", "needs training.metric = \"accuracy\"; with a loss rule use loss_threshold")
    if "loss_threshold" in points and metric != "loss":
        raise ConfigError(path, "checks.loss_threshold", "needs training.metric = \"loss\"; with an accuracy rule use accuracy_threshold")
    return assignment


def _did_you_mean(name: str, known: tuple[str, ...]) -> str:
    close = difflib.get_close_matches(name, known, n=1)
    return f" (did you mean '{close[0]}'?)" if close else ""


class _Fields:
    """Typed access to one TOML table, raising ConfigError(path, field) on bad values."""

    _MISSING = object()

    def __init__(self, data: dict[str, Any], path: Path, prefix: str = "") -> None:
        self.data, self.path, self.prefix = data, path, prefix

    def _get(self, key: str, default: Any) -> Any:
        if key in self.data:
            return self.data[key]
        if default is self._MISSING:
            raise ConfigError(self.path, self.prefix + key, "missing")
        return default

    def _bad(self, key: str, problem: str) -> ConfigError:
        return ConfigError(self.path, self.prefix + key, problem)

    def only(self, known: tuple[str, ...]) -> None:
        """Every key of the table is a known field (a misspelt one is not silently ignored)."""
        for key in self.data:
            if key not in known:
                raise self._bad(key, f"unknown field{_did_you_mean(key, known)} (known here: {', '.join(known)})")

    def table(self, key: str, required: bool = True) -> dict[str, Any]:
        value = self._get(key, self._MISSING if required else {})
        if not isinstance(value, dict):
            raise self._bad(key, "must be a table")
        return value

    def str(self, key: str, default: Any = _MISSING) -> Any:
        value = self._get(key, default)
        if value is not default and not isinstance(value, str):
            raise self._bad(key, "must be a string")
        return value

    def choice(self, key: str, options: tuple[str, ...], default: Any = _MISSING) -> str:
        value = self._get(key, default)
        if value not in options:
            raise self._bad(key, f"must be one of {', '.join(options)}")
        return value

    def int(self, key: str, default: Any = _MISSING, minimum: int = 0) -> Any:
        value = self._get(key, default)
        if value is default and default is None:
            return None
        if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
            raise self._bad(key, f"must be an integer >= {minimum}")
        return value

    def fraction(self, key: str, default: Any = _MISSING) -> Any:
        value = self._get(key, default)
        if value is default and default is None:
            return None
        if not isinstance(value, (int, float)) or isinstance(value, bool) or not 0 <= value <= 1:
            raise self._bad(key, "must be a number between 0 and 1")
        return float(value)

    def positive(self, key: str, default: Any = _MISSING) -> Any:
        value = self._get(key, default)
        if value is default and default is None:
            return None
        if not isinstance(value, (int, float)) or isinstance(value, bool) or not 0 < value < float("inf"):
            raise self._bad(key, "must be a number greater than 0")
        return float(value)

    def relpath(self, key: str) -> Path | None:
        """A path relative to the assignment file's folder (absolute ones are kept)."""
        value = self.str(key, default=None)
        if value is None:
            return None
        if not value.strip():
            raise self._bad(key, "must be a non-empty path")
        return (self.path.parent / value).resolve() if not Path(value).is_absolute() else Path(value)

    def packages(self, key: str) -> tuple[str, ...]:
        """Top-level module names, each once; none of the standard library (always importable)."""
        value = self._get(key, list(DEFAULT_PACKAGES))
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise self._bad(key, 'must be a list of module names, e.g. ["tensorflow", "keras", "numpy", "matplotlib"]')
        for name in value:
            if not name.isidentifier():
                raise self._bad(key, f"'{name}' is not a top-level module name (write what students import: 'sklearn', not 'scikit-learn'; 'tensorflow', not 'tensorflow.keras')")
            if name in sys.stdlib_module_names:
                raise self._bad(key, f"'{name}' is part of Python's standard library, which students may always import: leave it out")
        duplicates = sorted({n for n in value if value.count(n) > 1})
        if duplicates:
            raise self._bad(key, f"'{duplicates[0]}' is listed twice")
        if not {"tensorflow", "keras"} & set(value):
            raise self._bad(key, "must include 'tensorflow' or 'keras': the exercises train Keras models")
        return tuple(value)

    def str_list(self, key: str) -> list[str]:
        value = self._get(key, self._MISSING)
        if not isinstance(value, list) or not value or not all(isinstance(v, str) and v.strip() for v in value):
            raise self._bad(key, "must be a non-empty list of non-empty strings")
        return value
