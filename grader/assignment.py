"""Assignments are data: `assignments/<id>/assignment.toml`, validated once into a typed config."""

from __future__ import annotations

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
    "layer_limit",
    "test_accuracy",
    "skeleton_integrity",
)
LANGS = ("en", "zh")
INTEGRITY_MODES = ("off", "warn", "enforce")


@dataclass(frozen=True)
class Training:
    max_epochs: int
    threshold: float  # training accuracy must end strictly above this
    stop_messages: tuple[str, ...]


@dataclass(frozen=True)
class Limits:
    max_conv: int | None = None
    max_pool: int | None = None


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

    @property
    def skeleton_path(self) -> Path:
        return self.folder / "skeleton.ipynb"

    def title_for(self, lang: str) -> str:
        return self.title_zh if lang == "zh" and self.title_zh else self.title


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
    training = f.table("training")
    limits = f.table("limits", required=False)
    evaluation = f.table("evaluation", required=False)
    points = f.table("checks")
    tf = _Fields(training, path, "training.")
    lf = _Fields(limits, path, "limits.")
    ef = _Fields(evaluation, path, "evaluation.")
    for check_id, value in points.items():
        if check_id not in KNOWN_CHECKS:
            raise ConfigError(path, f"checks.{check_id}", f"unknown check (known: {', '.join(KNOWN_CHECKS)})")
        if not isinstance(value, (int, float)) or isinstance(value, bool) or value < 0:
            raise ConfigError(path, f"checks.{check_id}", "points must be a number >= 0")
    assignment = Assignment(
        id=f.str("id"),
        title=f.str("title"),
        title_zh=f.str("title_zh", default=""),
        dataset=f.choice("dataset", ("mnist",)),
        default_lang=f.choice("default_lang", LANGS, default="en"),
        timeout_s=f.int("timeout_s", default=900, minimum=1),
        entry=f.str("entry", default="") or None,
        training=Training(
            max_epochs=tf.int("max_epochs", minimum=1),
            threshold=tf.fraction("threshold"),
            stop_messages=tuple(tf.str_list("stop_messages")),
        ),
        limits=Limits(max_conv=lf.int("max_conv", default=None, minimum=0), max_pool=lf.int("max_pool", default=None, minimum=0)),
        min_test_accuracy=ef.fraction("min_test_accuracy", default=None),
        points={k: float(v) for k, v in points.items()},
        integrity=f.choice("skeleton_integrity", INTEGRITY_MODES, default="warn"),
        folder=path.parent,
    )
    if assignment.entry is not None and not assignment.entry.isidentifier():
        raise ConfigError(path, "entry", "must be the name of a Python function, e.g. train_mnist")
    if assignment.id != path.parent.name:
        raise ConfigError(path, "id", f"'{assignment.id}' must equal the folder name '{path.parent.name}'")
    if "layer_limit" in points and assignment.limits == Limits():
        raise ConfigError(path, "limits", "check 'layer_limit' needs limits.max_conv or limits.max_pool")
    if "test_accuracy" in points and assignment.min_test_accuracy is None:
        raise ConfigError(path, "evaluation.min_test_accuracy", "check 'test_accuracy' needs it")
    return assignment


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

    def str_list(self, key: str) -> list[str]:
        value = self._get(key, self._MISSING)
        if not isinstance(value, list) or not value or not all(isinstance(v, str) and v.strip() for v in value):
            raise self._bad(key, "must be a non-empty list of non-empty strings")
        return value
