"""Finding shared work in a graded batch: `grader similar GRADES_DIR` (and `grader batch --similar`).

Owns the comparison of a batch's submissions and its two outputs, `similarity.html` and
`similarity.csv`. It only reads: the gradebook and the submitted files it names (`sources`),
never running a line of them.

* **Code** (`tokens`, `winnow`, `code`): each submission's student-written code (the skeleton's
  own lines and k-grams left out) as normalised Python tokens, fingerprinted by winnowing;
  pairs come from an inverted index of fingerprints and are scored by the share of each one's
  fingerprints they have in common; the shared runs are located back in the source.
* **Training** (`training`): pairs whose recorded epochs agree within a tolerance.
* **Results and pages** (`model`, `analysis`, `page`, `command`): typed dataclasses, the
  library entry points `find_similar` and `run_similar_command`, and the page and CSV.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {  # imported on first use, as in `grader`: the command line reads `model` alone at start-up
    "find_similar": "grader.similar.analysis",
    "run_similar_command": "grader.similar.command",
    **dict.fromkeys(("CodeMatch", "Pair", "SimilarityReport", "SimilarUsageError", "Skipped", "Submission", "Thresholds", "TrainingMatch"),
                    "grader.similar.model"),
}
__all__ = list(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'grader.similar' has no attribute {name!r}")
