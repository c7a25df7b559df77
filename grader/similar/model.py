"""The typed result of a similarity search: thresholds, the submissions compared, ranked pairs, skips."""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from pathlib import Path

from grader.errors import UsageError
from grader.i18n import t


class SimilarUsageError(UsageError):
    """Bad usage of `grader similar`; `localised(lang)` is the message (`similar.error.<key>`)."""

    def __init__(self, key: str, **values: object) -> None:
        self.key, self.values = key, values
        super().__init__(self.localised("en"))

    def localised(self, lang: str) -> str:
        return t(lang, f"similar.error.{self.key}", **self.values)


@dataclass(frozen=True)
class Thresholds:
    """What makes a pair worth a look, and how code is fingerprinted. Every field is an option."""

    code: float = 0.5  # flag a pair when this share of either submission's fingerprints is shared
    min_shared: int = 8  # fingerprints a pair must share before its shares count at all
    common: float = 0.05  # a fingerprint in more than this share of the class is common code, ignored...
    common_min: int = 4  # ...but never one found in this many submissions or fewer
    kgram: int = 12  # tokens per k-gram: shorter runs never match
    window: int = 6  # winnowing window: runs of kgram + window - 1 tokens always match
    training_tolerance: float = 1e-4  # per epoch, the largest difference of loss and of accuracy
    training_min_epochs: int = 1  # epochs a recorded training needs before it is compared

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value):
                raise SimilarUsageError("not_a_number", name=f.name, value=repr(value)[:50])
        for name in ("code", "common"):
            if not 0 < getattr(self, name) <= 1:
                raise SimilarUsageError("not_a_share", name=name, value=getattr(self, name))
        for name, least in (("min_shared", 1), ("window", 1), ("training_min_epochs", 1), ("kgram", 2), ("common_min", 2)):
            if getattr(self, name) < least or getattr(self, name) != int(getattr(self, name)):
                raise SimilarUsageError("too_small", name=name, value=getattr(self, name), least=least)
            object.__setattr__(self, name, int(getattr(self, name)))  # 12.0 from a configuration file is 12
        if not 0 <= self.training_tolerance < 1:
            raise SimilarUsageError("tolerance", name="training_tolerance", value=self.training_tolerance)

    def common_limit(self, submissions: int) -> int:
        """The most submissions a fingerprint may be found in and still count."""
        return max(self.common_min, math.floor(self.common * submissions))


@dataclass(frozen=True)
class Skipped:
    """A submission whose code could not be compared (its training still may be), and why."""

    student: str
    reason: str  # key under `similar.skip.`
    detail: str = ""  # already in the report's language


@dataclass(frozen=True)
class Span:
    """A highlighted stretch of one line: characters [start, end) of a cell's line (end None: to its end)."""

    cell: int  # 0-based among the code cells
    line: int  # 1-based
    start: int
    end: int | None


@dataclass(frozen=True)
class Epoch:
    """One recorded epoch, as the training comparison reads it."""

    accuracy: float | None
    loss: float


@dataclass(frozen=True)
class Submission:
    """One student's submission as compared."""

    student: str
    folder: str  # the output folder, relative to the batch's
    file: str  # the compared notebook or module, by name ("" when its code was not read)
    cells: tuple[str, ...] = ()  # the code cells as submitted
    given: frozenset[tuple[int, int]] = frozenset()  # (cell, line) of the skeleton's own lines, left out
    tokens: int = 0  # student-written tokens compared
    fingerprints: int = 0
    epochs: tuple[Epoch, ...] = ()  # the recorded training (empty: none, or not comparable)


@dataclass(frozen=True)
class CodeMatch:
    """What two submissions' student-written code shares."""

    shared: int  # fingerprints in common (common code excluded)
    share_a: float  # of a's fingerprints
    share_b: float
    spans_a: tuple[Span, ...] = ()  # the shared runs in a's code (only for pairs the page shows)
    spans_b: tuple[Span, ...] = ()

    @property
    def score(self) -> float:
        return max(self.share_a, self.share_b)


@dataclass(frozen=True)
class TrainingMatch:
    """Two recorded trainings that agree, epoch by epoch, within the tolerance."""

    epochs: int
    largest_difference: float


@dataclass(frozen=True)
class Pair:
    a: str
    b: str
    code: CodeMatch | None = None
    training: TrainingMatch | None = None
    reasons: tuple[str, ...] = ()  # "code" and/or "training": what put the pair above a threshold

    @property
    def flagged(self) -> bool:
        """Above a threshold: worth a look."""
        return bool(self.reasons)

    @property
    def score(self) -> float:
        """For ranking: the larger code share, or 1 for a matching training."""
        return max(self.code.score if self.code else 0.0, 1.0 if self.training else 0.0)


@dataclass(frozen=True)
class SimilarityReport:
    """Everything `similarity.html` and `similarity.csv` show; ranked pairs, flagged ones first."""

    assignment: str
    title: str
    title_zh: str
    lang: str  # the language of the notes in `skipped`
    grades_dir: Path
    thresholds: Thresholds
    submissions: dict[str, Submission]
    pairs: tuple[Pair, ...]
    skipped: tuple[Skipped, ...] = ()
    common_limit: int = 0  # fingerprints found in more submissions than this were ignored
    skeleton: bool = True  # whether the assignment's skeleton was found and left out
    seeds: tuple[int, ...] = ()  # the seeds the trainings were recorded under
    elapsed_s: float = 0.0

    @property
    def flagged(self) -> tuple[Pair, ...]:
        return tuple(p for p in self.pairs if p.flagged)

    def title_for(self, lang: str) -> str:
        return self.title_zh if lang == "zh" and self.title_zh else self.title
