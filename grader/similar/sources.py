"""Where a batch's submissions are: the gradebook's rows, each with the file it graded, and the skeleton.

The batch keeps no copy of a submission: its gradebook row names the file or folder as found
(`source`), and the code is read from there again, with the grader's reader for hostile files
(`grader.run.submission.load_submission`: links, FIFOs, huge or broken JSON refused, nothing
executed). A submission whose file is gone or cannot be read is skipped with a note.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from grader.assignment import Assignment, find_assignment, load_assignment
from grader.batch.discovery import candidates
from grader.batch.gradebook import StoredResult, gradebook_path, open_existing
from grader.errors import GraderError
from grader.i18n import t
from grader.run.submission import InvalidSubmission, load_submission
from grader.similar.model import SimilarUsageError, Skipped
from grader.similar.tokens import markdown_code
from grader.untrusted import HostileInput

MAX_CODE_CHARS = 200_000  # of one submission's code cells together: an exercise's code is a few thousand
MAX_CELLS = 2_000  # code cells of one submission


@dataclass(frozen=True)
class Class:
    """A batch as found: its assignment and every stored result."""

    assignment: Assignment
    records: tuple[StoredResult, ...]
    default_lang: str


def open_class(grades_dir: Path, assignment: Assignment | str | None = None, gradebook: Path | None = None) -> Class:
    """The gradebook of a batch output folder and its assignment (named, or the one it was graded
    against); a UsageError when either cannot be found."""
    if not gradebook_path(Path(grades_dir), gradebook).is_file():
        raise SimilarUsageError("no_gradebook", path=gradebook_path(Path(grades_dir), gradebook), folder=grades_dir)
    with open_existing(Path(grades_dir), gradebook) as book:
        bound = book.meta("assignment")
        stored = json.loads(book.meta("assignment_json") or "{}")
        if assignment is None:
            if not bound:
                raise SimilarUsageError("no_assignment", folder=grades_dir)
            assignment = _bound_assignment(bound, stored.get("folder"))
        elif isinstance(assignment, str):
            assignment = find_assignment(assignment)
        if bound and bound != assignment.id:
            raise SimilarUsageError("other_assignment", folder=grades_dir, bound=bound, asked=assignment.id)
        records = tuple(book.results(assignment.id))
    lang = stored.get("default_lang") if stored.get("default_lang") in ("en", "zh") else assignment.default_lang
    return Class(assignment=assignment, records=records, default_lang=lang)


def _bound_assignment(assignment_id: str, folder: str | None) -> Assignment:
    """The assignment from the folder the batch used, else by its id."""
    if folder and (Path(folder) / "assignment.toml").is_file():
        try:
            found = load_assignment(Path(folder))
            if found.id == assignment_id:
                return found
        except GraderError:
            pass
    return find_assignment(assignment_id)


def graded_file(source: Path) -> Path | str:
    """The notebook or module a submission's source names, else why there is none: a key under
    `similar.skip.`, or under `input.` (`file.…`) for a file that must not be opened."""
    if source.is_symlink():
        return "file.symlink"
    if source.is_file():
        return source
    if source.is_dir():
        files = candidates(source)
        return files[0] if len(files) == 1 else ("folder_several" if files else "folder_empty")
    return "file.not_regular" if source.exists() else "missing"  # a FIFO, a device, a socket


def read_code(record: StoredResult, lang: str) -> tuple[Path, tuple[str, ...]] | Skipped:
    """The code cells of a stored submission, or why they cannot be compared."""
    found = graded_file(Path(record.source))
    if isinstance(found, str) and found.startswith("file."):
        return Skipped(record.student, "unreadable", HostileInput(found).localised(lang))
    if isinstance(found, str):
        return Skipped(record.student, found, t(lang, f"similar.skip.{found}", path=record.source))
    try:
        submission = load_submission(found)
    except InvalidSubmission as exc:
        return Skipped(record.student, "unreadable", exc.localised(lang))
    except Exception as exc:  # noqa: BLE001 - a hostile file is a note, never a crash
        return Skipped(record.student, "unreadable", type(exc).__name__)
    cells = [c.get("source", "") for c in submission.code_cells]
    cells = [c if isinstance(c, str) else "" for c in cells]
    size = sum(len(c) for c in cells)
    if len(cells) > MAX_CELLS or size > MAX_CODE_CHARS:
        return Skipped(record.student, "too_much_code", t(lang, "similar.skip.too_much_code", chars=f"{size:,}", cells=len(cells), limit=f"{MAX_CODE_CHARS:,}"))
    if not any(c.strip() for c in cells):
        return Skipped(record.student, "no_code", t(lang, "similar.skip.no_code"))
    return found, tuple(cells)


def skeleton_code(assignment: Assignment) -> list[str] | None:
    """The skeleton's code cells and the code its text gives away; None without a skeleton."""
    path = assignment.skeleton_path
    if not path.is_file():
        return None
    try:
        notebook = load_submission(path).notebook
    except InvalidSubmission:
        return None
    sources: list[str] = []
    for cell in notebook.cells:
        text = cell.get("source", "")
        if not isinstance(text, str):
            continue
        if cell.cell_type == "code":
            sources.append(text)
        elif cell.cell_type == "markdown":
            sources += markdown_code(text)
    return sources
