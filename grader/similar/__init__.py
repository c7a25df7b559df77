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

from grader.similar.analysis import find_similar
from grader.similar.command import run_similar_command
from grader.similar.model import CodeMatch, Pair, SimilarityReport, SimilarUsageError, Skipped, Submission, Thresholds, TrainingMatch

__all__ = [
    "CodeMatch", "Pair", "SimilarityReport", "SimilarUsageError", "Skipped", "Submission", "Thresholds", "TrainingMatch", "find_similar", "run_similar_command",
]
