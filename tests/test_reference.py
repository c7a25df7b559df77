"""End to end, as an instructor runs it: the reference solutions really train and pass."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from grader.assignment import find_assignment
from grader.pipeline import Options, grade

ROOT = Path(__file__).resolve().parent.parent
pytestmark = [pytest.mark.slow, pytest.mark.kernel]


@pytest.mark.parametrize("assignment", ["mnist-callback", "mnist-conv"])
def test_reference_notebook_passes_through_the_cli(assignment, tmp_path, mnist_store):
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "grader", "grade", str(ROOT / "reference" / assignment / "solution.ipynb"), "-a", assignment, "-o", str(out)]
    proc = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, "PYTHONWARNINGS": "ignore"}, check=False)
    result = json.loads((out / "result.json").read_text(encoding="utf-8"))
    assert proc.returncode == 0, (proc.stdout, proc.stderr, [c for c in result["checks"] if not c["passed"]])
    assert result["passed"] and result["score"] == result["max_score"]
    metrics = result["metrics"]
    limit = find_assignment(assignment).training
    assert 1 <= metrics["epochs_run"] <= limit.max_epochs and metrics["train_accuracy"] > limit.threshold
    assert (out / "report.html").is_file()


@pytest.mark.parametrize("assignment", ["mnist-callback", "mnist-conv"])
def test_reference_module_passes(assignment, mnist_store):
    result = grade(ROOT / "reference" / assignment / "solution.py", find_assignment(assignment), Options(lang="zh"))
    assert result.passed, [(c.id, c.message) for c in result.checks if not c.passed]
    assert result.check("skeleton_integrity").passed
    if assignment == "mnist-conv":
        assert (result.metrics.conv_layers, result.metrics.pooling_layers) == (1, 1)
