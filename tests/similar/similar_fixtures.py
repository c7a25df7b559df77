"""A graded batch built without grading: submissions written from the skeleton, a gradebook whose
results carry recorded trainings shaped like the kernel recorder's (no kernel, no training)."""

from __future__ import annotations

import random
import re
from collections.abc import Mapping, Sequence
from pathlib import Path

import nbformat

from grader.assignment import find_assignment
from grader.batch.gradebook import Gradebook
from grader.models import EpochRecord, ExecutionInfo, FitRecord, GradeResult, Metrics, Recording

ASSIGNMENT = "mnist-callback"
REGION = re.compile(r"(?P<indent>[ \t]*)# YOUR CODE STARTS HERE\n.*?# YOUR CODE ENDS HERE", re.DOTALL)


def skeleton() -> nbformat.NotebookNode:
    return nbformat.read(str(find_assignment(ASSIGNMENT).skeleton_path), as_version=4)


def fill(answers: Sequence[str]) -> nbformat.NotebookNode:
    """The skeleton with its `YOUR CODE` regions, in order, replaced by `answers` (markers kept)."""
    notebook = skeleton()
    remaining = list(answers)
    for cell in notebook.cells:
        if cell.cell_type != "code":
            continue

        def replace(m: re.Match[str]) -> str:
            answer = remaining.pop(0)
            return f"{m.group('indent')}# YOUR CODE STARTS HERE\n{answer}\n{m.group('indent')}# YOUR CODE ENDS HERE"

        cell.source = REGION.sub(replace, cell.source)
    assert not remaining, "more answers than regions"
    return notebook


def write_notebook(notebook: nbformat.NotebookNode, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(notebook, str(path))
    return path


def write_module(notebook: nbformat.NotebookNode, path: Path) -> Path:
    """The notebook's code cells as a `.py` module, cells split at `# %%`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n\n".join(f"# %%\n{c.source}" for c in notebook.cells if c.cell_type == "code") + "\n", encoding="utf-8")
    return path


def training(seed: int, epochs: int = 6) -> tuple[tuple[float, float], ...]:
    """(accuracy, loss) per epoch: a plausible curve of its own for each seed."""
    rng = random.Random(seed)
    accuracy, loss = 0.88 + rng.random() * 0.04, 0.35 + rng.random() * 0.1
    curve = []
    for _ in range(epochs):
        curve.append((round(accuracy, 6), round(loss, 6)))
        accuracy = min(0.998, accuracy + (1 - accuracy) * rng.uniform(0.3, 0.6))
        loss *= rng.uniform(0.45, 0.7)
    return tuple(curve)


def result(filename: str, curve: Sequence[tuple[float, float]] = ()) -> GradeResult:
    epochs = tuple(EpochRecord(epoch=i, metrics={"accuracy": a, "loss": loss}, accuracy=a, loss=loss, stop_training=False, printed="", duration_s=3.0)
                   for i, (a, loss) in enumerate(curve))
    recording = Recording(fits=(FitRecord(epochs_requested=10, initial_epoch=0, accuracy_metric="accuracy", epochs=epochs, completed=True),) if epochs else (),
                          seed=0)
    return GradeResult(assignment=ASSIGNMENT, submission=filename, passed=False, score=0.0, max_score=10.0, checks=(), metrics=Metrics(),
                       errors=(), duration_s=10.0, execution=ExecutionInfo(status="ok"), recording=recording, lang="en")


def make_batch(grades_dir: Path, submissions: Mapping[str, tuple[Path, Sequence[tuple[float, float]]]]) -> Path:
    """A batch output folder: the gradebook, and each student's folder with nothing in it."""
    grades_dir.mkdir(parents=True, exist_ok=True)
    with Gradebook(grades_dir / "gradebook.sqlite") as book:
        book.bind_assignment(ASSIGNMENT)
        book.set_meta("assignment_json", '{"id": "mnist-callback", "default_lang": "en"}')
        for student, (path, curve) in submissions.items():
            book.record(student=student, key=f"key-{student}", content_sha256="0" * 64, source=str(path), folder=student,
                        result=result(path.name, curve))
    return grades_dir
