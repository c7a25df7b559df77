"""The sample submissions in tests/samples/, each graded and held to its expected verdicts.

`tests/samples/expected.toml` says, per sample, whether it passes and how each check ends.
Samples graded with `--full` (no early verdict) must fail on exactly the checks listed as false;
those that break a rule are graded again without `--full` to show the early verdict agrees.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from grader.assignment import find_assignment
from grader.pipeline import Options

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

SAMPLES = Path(__file__).resolve().parent / "samples"
EXPECTED = tomllib.loads((SAMPLES / "expected.toml").read_text(encoding="utf-8"))


def cases(fast_only: bool = False) -> list:
    params = []
    for assignment, samples in EXPECTED.items():
        for stem, spec in samples.items():
            marks = [pytest.mark.slow] if spec.get("slow") else []
            if fast_only and marks:
                continue
            params.append(pytest.param(assignment, stem, spec, marks=marks, id=f"{assignment}/{stem}"))
    return params


def grade_sample(gradings, assignment: str, spec: dict, full: bool):
    """Through the session's gradings: without `full`, these are the settings `grader validate`
    grades a sample with, so tests/authoring/test_validation.py takes the same run."""
    options = Options(lang="en", full=full, entry=spec.get("entry"), timeout_s=spec.get("timeout_s"))
    return gradings.grade(SAMPLES / assignment / spec["file"], find_assignment(assignment), options)


def test_every_sample_file_is_described():
    described = {(a, spec["file"]) for a, samples in EXPECTED.items() for spec in samples.values()}
    on_disk = {(p.parent.name, p.name) for p in SAMPLES.glob("*/*") if p.suffix in (".ipynb", ".py")}
    assert on_disk == described


@pytest.mark.parametrize(("assignment", "stem", "spec"), cases())
@pytest.mark.kernel
def test_sample_gets_its_expected_verdict(assignment, stem, spec, gradings):
    result = grade_sample(gradings, assignment, spec, full=True)
    outcome = {c.id: c.passed for c in result.checks}
    detail = {c.id: c.message for c in result.checks if not c.passed}
    for check_id, expected in spec.get("checks", {}).items():
        assert outcome[check_id] == expected, f"{check_id}: expected {'pass' if expected else 'fail'}; {detail.get(check_id, 'passed')}"
    assert result.passed == spec["passed"], detail
    if "figures" in spec:
        assert [c.cell for c in result.execution.figures] == spec["figures"] and result.execution.figures_left_out == 0
    if "data_files" in spec:
        assert list(result.recording.data_files) == spec["data_files"]


@pytest.mark.parametrize(("assignment", "stem", "spec"), [c for c in cases() if not c.values[2]["passed"] and c.values[2].get("early")])
@pytest.mark.kernel
def test_rule_breaks_get_an_early_verdict(assignment, stem, spec, gradings):
    result = grade_sample(gradings, assignment, spec, full=False)
    failing = {c.id for c in result.checks if not c.passed}
    assert spec["early"] in failing and result.execution.status in ("not_run", "stopped")
    assert result.duration_s < 30
