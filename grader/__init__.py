"""grader: an autograder for TensorFlow/Keras exercises.

The library API: `grade(path, find_assignment("mnist-callback"), Options(...)) -> GradeResult`.
Names are imported lazily, so that the kernel-side instrumentation stays light.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_EXPORTS = {
    "Assignment": "grader.assignment",
    "find_assignment": "grader.assignment",
    "list_assignments": "grader.assignment",
    "GradeResult": "grader.models",
    "Options": "grader.options",
    "Settings": "grader.options",
    "grade": "grader.pipeline",
    "write_outputs": "grader.report.outputs",
}
__all__ = [*_EXPORTS, "__version__"]


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'grader' has no attribute {name!r}")
