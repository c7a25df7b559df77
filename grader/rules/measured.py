"""What every check may look at (`Measured`), and what a check returns (`Outcome`)."""

from __future__ import annotations

from dataclasses import dataclass

from grader.assignment import Assignment
from grader.i18n import t
from grader.models import Evaluation, ExecutionInfo, Finding, Recording

Outcome = tuple[bool, str, str, str]  # passed, message, measured, hint


@dataclass(frozen=True)
class Measured:
    """Everything a check may look at."""

    assignment: Assignment
    recording: Recording
    evaluation: Evaluation
    execution: ExecutionInfo
    integrity: tuple[bool, str] | None = None  # (kept, what changed) from the skeleton comparison
    lang: str = "en"
    findings: tuple[Finding, ...] = ()  # the static pre-check's, localised

    def t(self, key: str, **values: object) -> str:
        return t(self.lang, f"checks.{key}", **values)
