"""Gradings shared by a test session: each reference solution is trained once, and a submission
graded twice with the same settings (say by `grader validate` and by tests/test_samples.py) runs once.

`Gradings` is the `gradings` fixture's (session-scoped, tests/conftest.py). Its `grade` has the
signature of `grader.pipeline.grade`, so a test can put it in that function's place
(`monkeypatch.setattr("grader.pipeline.grade", gradings.grade)`) for code that grades, such as
`validate`. Two gradings are the same when their path, their assignment's folder and their effective
settings (`grader.options.resolve`) are.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from grader.assignment import Assignment, find_assignment
from grader.models import GradeResult
from grader.options import Options, resolve
from grader.pipeline import grade as pipeline_grade  # the real one, whatever a test puts in its place
from tests.support.repository import ROOT

REFERENCE_OPTIONS = Options(lang="en")
"""What the reference run's command line asks for: `--lang en` and nothing else (its defaults are the library's)."""


@dataclass(frozen=True)
class ReferenceRun:
    """`grader grade reference/ID/solution.ipynb -a ID --lang en -o OUT`, as an instructor runs it."""

    assignment: str
    out: Path
    returncode: int
    stdout: str
    stderr: str
    result: GradeResult


def reference_solution(assignment_id: str) -> Path:
    return ROOT / "reference" / assignment_id / "solution.ipynb"


@dataclass
class Gradings:
    """Gradings run at most once each in `folder` (a session's temporary folder)."""

    folder: Path
    references: dict[str, ReferenceRun] = field(default_factory=dict)
    results: dict[tuple[str, str, str], GradeResult] = field(default_factory=dict)

    def reference(self, assignment_id: str) -> ReferenceRun:
        """The shipped assignment's reference solution graded through the command line, in a
        subprocess: exit code, output and result.json (report.html beside it)."""
        if assignment_id not in self.references:
            out = self.folder / "reference" / assignment_id
            cmd = [sys.executable, "-m", "grader", "grade", str(reference_solution(assignment_id)), "-a", assignment_id, "--lang", "en", "-o", str(out)]
            proc = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, "PYTHONWARNINGS": "ignore"}, check=False)
            path = out / "result.json"
            if not path.is_file():
                raise AssertionError(f"no result.json from {' '.join(cmd)}: exit {proc.returncode}\n{proc.stdout}\n{proc.stderr}")
            result = GradeResult.from_dict(json.loads(path.read_text(encoding="utf-8")))
            self.references[assignment_id] = ReferenceRun(assignment_id, out, proc.returncode, proc.stdout, proc.stderr, result)
        return self.references[assignment_id]

    def grade(self, path: Path, assignment: Assignment, options: Options = Options()) -> GradeResult:
        """`grader.pipeline.grade`, once per path, assignment and effective settings. The shipped
        reference solution, asked for with the reference run's settings, is the reference run's result."""
        path = Path(path)
        settings = resolve(assignment, options)
        key = (str(path.resolve()), str(assignment.folder.resolve()), json.dumps(settings.to_json(), sort_keys=True))
        if key not in self.results:
            if self._is_shipped_reference(path, assignment) and settings == resolve(assignment, REFERENCE_OPTIONS):
                self.results[key] = self.reference(assignment.id).result
            else:
                self.results[key] = pipeline_grade(path, assignment, options)
        return self.results[key]

    @staticmethod
    def _is_shipped_reference(path: Path, assignment: Assignment) -> bool:
        try:
            shipped = find_assignment(assignment.id)
        except Exception:  # noqa: BLE001 - not a shipped id (a scaffolded assignment, say)
            return False
        return shipped.folder.resolve() == assignment.folder.resolve() and path.resolve() == reference_solution(assignment.id).resolve()
