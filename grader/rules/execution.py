"""What went wrong in running a submission, in the student's language: the execution check's
message, and the module a cell could not import."""

from __future__ import annotations

import re

from grader.assignment import Assignment
from grader.i18n import t
from grader.models import ExecutionInfo


def execution_message(info: ExecutionInfo, assignment: Assignment, lang: str, reason: str | None = None) -> str:
    """What went wrong in running the submission, for the student, in `lang`; `reason`: why the
    grader stopped the run, in `lang` (`stop_reason`)."""
    where = ""
    if info.cell:
        where = t(lang, "checks.execution.where", cell=info.cell, line=info.line) if info.line else t(lang, "checks.execution.where_cell", cell=info.cell)
    limit = int(info.timeout_s or assignment.timeout_s)
    module = missing_module(info)
    if module:
        key = "missing_module_provided" if module.split(".")[0] in assignment.packages else "missing_module"  # the grader's machine lacks it
        return t(lang, f"checks.execution.{key}", module=module, where=where, packages=", ".join(assignment.packages))
    return t(lang, f"checks.execution.{verdict_key(info)}", limit=limit, where=where, exception=reason or info.exception or info.message)


def verdict_key(info: ExecutionInfo) -> str:
    """The catalogue key of how the run went: its status, or a verdict an `error` names."""
    return "output_flood" if info.status == "error" and info.cause == "output_flood" else info.status


MISSING_MODULE = re.compile(r"^ModuleNotFoundError: No module named '([A-Za-z_][\w.]{0,199})'")


def missing_module(info: ExecutionInfo) -> str | None:
    """The module a cell failed to import (not installed, or outside the assignment's `packages`:
    `grader.inside.environment`), or None."""
    found = MISSING_MODULE.match(info.exception) if info.status == "error" else None
    return found.group(1) if found else None
