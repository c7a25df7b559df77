"""What a grading is asked for (`Options`) and what it runs with (`Settings`).

Every default of a grading is filled in here, once: `resolve(assignment, options)` gives the
effective settings, and the pipeline, the batch key, the batch's jobs and workers, Gradescope and
the exports all read that value. A default changed here (or in the assignment) changes all of them
together, and `--timeout 900` where the assignment says 900 is the same grading as no `--timeout`.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from grader.sandbox.limits import Limits

if TYPE_CHECKING:
    from grader.assignment import Assignment

DEFAULT_MEMORY_MB = Limits.memory_mb  # the sandbox's memory limit where the caller names none


@dataclass(frozen=True)
class Options:
    """How to grade, as the caller asked: `None` takes the assignment's (or the grader's) default."""

    lang: str | None = None
    timeout_s: float | None = None
    seed: int | None = 0
    entry: str | None = None
    data_dir: Path | None = None
    full: bool = False  # run everything: no verdict from the pre-check alone, no early stop
    kernel_prefix: tuple[str, ...] = ()  # a command the kernel runs under, inside the sandbox
    env: dict[str, str] = field(default_factory=dict)
    sandbox: str = "auto"  # auto | bwrap | unshare | none (unsafe; see grader.sandbox.core)
    memory_mb: int | None = None  # the sandbox's memory limit; None: DEFAULT_MEMORY_MB

    def to_json(self) -> dict[str, Any]:
        """Every field as a JSON value (a path becomes a string, a tuple a list): what was asked,
        kept to be resolved again later (against an assignment whose defaults may have changed)."""
        return _to_json(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Options:
        """The options `to_json` wrote; an unknown field is refused (ValueError), a missing one
        takes its default."""
        return _from_json(cls, data, complete=False)


@dataclass(frozen=True)
class Settings:
    """The effective settings of one grading: `Options` with every default filled in (`resolve`).

    `sandbox` stays the mode asked for: `auto` is resolved by the machine that runs the grading
    (`grader.sandbox.modes.resolve_mode`), and the result records which isolation was in force."""

    lang: str
    timeout_s: float
    seed: int | None
    entry: str | None
    data_dir: Path | None
    full: bool
    kernel_prefix: tuple[str, ...]
    env: dict[str, str]
    sandbox: str
    memory_mb: int

    def options(self) -> Options:
        """These settings as explicit `Options`: `resolve(assignment, s.options()) == s`."""
        return Options(**{f.name: getattr(self, f.name) for f in dataclasses.fields(Options)})

    def limits(self) -> Limits:
        """The sandbox's resource limits (the time limit sizes its CPU-time default)."""
        return Limits(memory_mb=self.memory_mb, timeout_s=self.timeout_s)

    def to_json(self) -> dict[str, Any]:
        """Every field as a JSON value (a path becomes a string, a tuple a list)."""
        return _to_json(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Settings:
        """The settings `to_json` wrote; a missing or unknown field is refused (ValueError)."""
        return _from_json(cls, data, complete=True)


def _to_json(value: Options | Settings) -> dict[str, Any]:
    values = {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
    values["data_dir"] = None if value.data_dir is None else str(value.data_dir)
    values["kernel_prefix"] = list(value.kernel_prefix)
    values["env"] = dict(value.env)
    return values


_T = TypeVar("_T", Options, Settings)


def _from_json(cls: type[_T], data: dict[str, Any], *, complete: bool) -> _T:
    """`cls` from what `_to_json` wrote: an unknown field is refused (ValueError), and so is a
    missing one where `complete` (else it takes its default)."""
    names = {f.name for f in dataclasses.fields(cls)}
    unknown, missing = sorted(set(data) - names), sorted(names - set(data)) if complete else []
    if unknown or missing:
        raise ValueError(f"not the JSON of grading {cls.__name__.lower()}: unknown {unknown}, missing {missing}")
    values = dict(data)
    if values.get("data_dir") is not None:
        values["data_dir"] = Path(values["data_dir"])
    if "kernel_prefix" in values:
        values["kernel_prefix"] = tuple(values["kernel_prefix"])
    if "env" in values:
        values["env"] = dict(values["env"])
    return cls(**values)


def resolve(assignment: Assignment, options: Options) -> Settings:
    """The effective settings of grading `assignment` with `options`: the one place where each
    default (the assignment's language, time limit and entry function, the memory limit) is
    filled in."""
    return Settings(
        lang=options.lang or assignment.default_lang,
        timeout_s=float(options.timeout_s or assignment.timeout_s),
        seed=options.seed,
        entry=options.entry or assignment.entry,
        data_dir=options.data_dir,
        full=options.full,
        kernel_prefix=tuple(options.kernel_prefix),
        env=dict(options.env),
        sandbox=options.sandbox,
        memory_mb=int(options.memory_mb or DEFAULT_MEMORY_MB),
    )
