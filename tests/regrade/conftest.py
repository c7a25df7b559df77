"""Fixtures of the regrade tests: a copy of an assignment that a test edits, and the class graded
by a runner without a kernel (tests/regrade/regrade_helpers.py)."""

from __future__ import annotations

import io
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from grader.assignment import load_assignment
from grader.batch.run import BatchSettings, run_batch
from grader.options import Options
from tests.regrade.regrade_helpers import CLASS, ROOT, Runner


@pytest.fixture(autouse=True)
def no_dataset(monkeypatch: pytest.MonkeyPatch) -> None:
    """Nothing is graded for real: no data set is needed."""
    monkeypatch.setattr("grader.data.datasets.ensure_dataset", lambda *a, **k: Path("/nonexistent/mnist.npz"))


@pytest.fixture
def assignment_folder(tmp_path: Path) -> Path:
    """A copy of mnist-callback (1 point per check, threshold 0.99, 10 epochs, 900 s) to edit."""
    folder = tmp_path / "assignments" / "mnist-callback"
    shutil.copytree(ROOT / "assignments" / "mnist-callback", folder)
    return folder


@pytest.fixture
def graded(tmp_path: Path, assignment_folder: Path) -> Callable[..., tuple[Path, Path, Runner]]:
    """Grade the class (or `files`) into a batch folder; (the class folder, the output folder, the runner)."""

    def run(files: dict[str, str] | None = None, options: Options | None = None) -> tuple[Path, Path, Runner]:
        subs, out = tmp_path / "class", tmp_path / "grades"
        subs.mkdir(exist_ok=True)
        for student, text in (files or CLASS).items():
            (subs / f"{student}.py").write_text(text)
        runner = Runner()
        run_batch([subs], load_assignment(assignment_folder), options or Options(lang="en"), BatchSettings(outdir=out, progress="none"), runner=runner,
                  out=io.StringIO())
        return subs, out, runner

    return run
