"""Assignments are data: `assignments/<id>/assignment.toml`, validated once into a typed config."""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from grader import schema
from grader.common.files import TomlError, load_toml
from grader.errors import ConfigError, UsageError

SCHEMA_FILE = "assignment.schema.json"  # in grader/schema/, beside result.schema.json; ships in the wheel
SCHEMA: dict[str, Any] = schema.load(SCHEMA_FILE)  # every field, its type, range and default; read once, a constant
_TOP = SCHEMA["properties"]


def _fields(table: str | None = None) -> tuple[str, ...]:
    return tuple((_TOP[table] if table else SCHEMA)["properties"])


# Every name below comes from the schema: a field, check or choice is declared there once.
KNOWN_CHECKS = _fields("checks")
LANGS = tuple(_TOP["default_lang"]["enum"])
INTEGRITY_MODES = tuple(_TOP["skeleton_integrity"]["enum"])
DATASETS = tuple(_TOP["dataset"]["enum"])
METRICS = tuple(_TOP["training"]["properties"]["metric"]["enum"])  # accuracy must go above the threshold, loss below it
DEFAULT_METRIC: str = _TOP["training"]["properties"]["metric"]["default"]
TOP_FIELDS = _fields()
TRAINING_FIELDS = _fields("training")
LIMITS_FIELDS = _fields("limits")
STRUCTURE_FIELDS = _fields("structure")
EVALUATION_FIELDS = _fields("evaluation")
AUTHORING_FIELDS = _fields("authoring")
# What the course's notebooks import beyond the standard library: an assignment without `packages`.
DEFAULT_PACKAGES = tuple(_TOP["packages"]["default"])
THRESHOLD_CHECKS = ("stop_message", "accuracy_threshold", "loss_threshold")  # the checks that need training.threshold


@dataclass(frozen=True)
class Training:
    max_epochs: int
    threshold: float | None  # the training metric must end strictly past this (None: no such rule)
    stop_messages: tuple[str, ...]  # empty when the assignment has no stop_message check
    metric: str = DEFAULT_METRIC  # "accuracy": must go above the threshold; "loss": below it

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
        data = load_toml(path)
    except TomlError as exc:
        raise ConfigError(path, "-", exc.problem) from exc
    return parse_assignment(data, path)


def parse_assignment(data: dict[str, Any], path: Path) -> Assignment:
    """The typed assignment: `data` validated against the schema, then the rules that join two fields."""
    schema.validate(data, SCHEMA, path, ids=("checks",))
    t, points = data["training"], data["checks"]
    metric = t.get("metric", DEFAULT_METRIC)
    threshold = float(t["threshold"]) if "threshold" in t else None
    if threshold is not None and metric == "accuracy" and not 0 <= threshold <= 1:
        raise ConfigError(path, "training.threshold", "must be a number between 0 and 1")
    if threshold is not None and metric == "loss" and not threshold > 0:
        raise ConfigError(path, "training.threshold", "must be a number greater than 0")
    needs_threshold = [c for c in THRESHOLD_CHECKS if c in points]
    if needs_threshold and threshold is None:
        raise ConfigError(path, "training.threshold", f"missing (check '{needs_threshold[0]}' needs it)")
    if "stop_message" in points and "stop_messages" not in t:
        raise ConfigError(path, "training.stop_messages", "missing (check 'stop_message' needs it)")
    evaluation = data.get("evaluation", {})
    assignment = Assignment(
        id=data["id"],
        title=data["title"],
        title_zh=_value(data, "title_zh"),
        dataset=data["dataset"],
        default_lang=_value(data, "default_lang"),
        timeout_s=_value(data, "timeout_s"),
        entry=data.get("entry"),
        training=Training(max_epochs=t["max_epochs"], threshold=threshold, stop_messages=tuple(t.get("stop_messages", ())), metric=metric),
        limits=Limits(**data.get("limits", {})),
        min_test_accuracy=float(evaluation["min_test_accuracy"]) if "min_test_accuracy" in evaluation else None,
        points={k: float(v) for k, v in points.items()},
        integrity=_value(data, "skeleton_integrity"),
        folder=path.parent,
        structure=Structure(**data.get("structure", {})),
        authoring=Authoring(**{k: _relpath(v, path) for k, v in data.get("authoring", {}).items()}),
        packages=tuple(_value(data, "packages")),
    )
    if assignment.id != path.parent.name:
        raise ConfigError(path, "id", f"'{assignment.id}' must equal the folder name '{path.parent.name}'")
    if "layer_limit" in points and assignment.limits == Limits():
        raise ConfigError(path, "limits", "check 'layer_limit' needs limits.max_conv, limits.max_pool or limits.max_dense")
    if "model_structure" in points and assignment.structure == Structure():
        raise ConfigError(path, "structure", "check 'model_structure' needs structure.model_class or a layer count (conv, pool, dense)")
    if "test_accuracy" in points and assignment.min_test_accuracy is None:
        raise ConfigError(path, "evaluation.min_test_accuracy", "check 'test_accuracy' needs it")
    if "accuracy_threshold" in points and metric != "accuracy":
        raise ConfigError(path, "checks.accuracy_threshold", "needs training.metric = \"accuracy\"; with a loss rule use loss_threshold")
    if "loss_threshold" in points and metric != "loss":
        raise ConfigError(path, "checks.loss_threshold", "needs training.metric = \"loss\"; with an accuracy rule use accuracy_threshold")
    return assignment


def _value(data: dict[str, Any], key: str) -> Any:
    """A top-level field's value, or the default the schema declares for it."""
    return data[key] if key in data else _TOP[key]["default"]


def _relpath(value: str, path: Path) -> Path:
    """A path relative to the assignment file's folder (absolute ones are kept)."""
    return Path(value) if Path(value).is_absolute() else (path.parent / value).resolve()
