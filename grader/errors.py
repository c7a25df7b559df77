"""The grader's own errors. Each knows its exit code; only the CLI turns them into exits.

A submission that fails, crashes or times out is *not* an error here: that is a graded result.
These are for the people and programs driving the grader: bad usage, bad configuration, our faults.
"""

from __future__ import annotations

from pathlib import Path

EXIT_PASSED = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_INTERNAL = 3


class GraderError(Exception):
    """Base class: a fault of the grader or of how it was called, with an exit code."""

    exit_code = EXIT_INTERNAL


class UsageError(GraderError):
    """The command line named something that does not exist or cannot be used."""

    exit_code = EXIT_USAGE


class ConfigError(GraderError):
    """An assignment file is invalid: names the file and the field."""

    exit_code = EXIT_USAGE

    def __init__(self, path: Path | str, field: str, problem: str) -> None:
        self.path, self.field, self.problem = Path(path), field, problem
        super().__init__(f"{path}: field '{field}': {problem}")


class DatasetError(GraderError):
    """A data set could not be provisioned or failed verification."""

    exit_code = EXIT_USAGE


class InternalError(GraderError):
    """A fault of the grader itself (a bug, or a broken installation)."""

    exit_code = EXIT_INTERNAL
