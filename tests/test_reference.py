"""End to end, as an instructor runs it: the reference solutions really train and pass.

Each is trained once per session, through the command line (the `gradings` fixture): `grader
validate`'s test of the shipped assignments (tests/authoring/test_validation.py) takes the same run.
The module form (`solution.py`) is the notebook's code, so it is checked without training again."""

from __future__ import annotations

import pytest

from grader.assignment import find_assignment
from grader.pipeline import skeleton_integrity
from grader.run.submission import load_submission
from tests.support.repository import ROOT, SHIPPED


@pytest.mark.slow
@pytest.mark.kernel
@pytest.mark.parametrize("assignment", SHIPPED)
def test_reference_notebook_passes_through_the_cli(assignment, gradings):
    run = gradings.reference(assignment)
    result = run.result
    assert run.returncode == 0, (run.stdout, run.stderr, [(c.id, c.message) for c in result.checks if not c.passed])
    assert result.passed and result.score == result.max_score
    assert result.check("skeleton_integrity").passed
    limit = find_assignment(assignment).training
    assert 1 <= result.metrics.epochs_run <= limit.max_epochs
    if limit.threshold is not None and not limit.below:
        assert result.metrics.train_accuracy > limit.threshold
    if assignment == "mnist-conv":
        assert (result.metrics.conv_layers, result.metrics.pooling_layers) == (1, 1)
    assert (run.out / "report.html").is_file()


@pytest.mark.parametrize("assignment", SHIPPED)
def test_reference_module_is_the_notebooks_code_and_keeps_the_skeleton(assignment):
    """`solution.py`, split at `# %%`, holds the notebook's code cells: the notebook's grading vouches
    for it (tests/samples/mnist-callback/module.py trains a module form for real)."""
    folder = ROOT / "reference" / assignment
    notebook, module = load_submission(folder / "solution.ipynb"), load_submission(folder / "solution.py")
    assert [c.source.strip() for c in module.code_cells] == [c.source.strip() for c in notebook.code_cells]
    integrity = skeleton_integrity(find_assignment(assignment), module)
    assert integrity is None or integrity[0], integrity
