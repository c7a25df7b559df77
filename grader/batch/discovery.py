"""Finding the submissions of a batch: one per file or folder, each with its student id and output folder."""

from __future__ import annotations

import hashlib
import os
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from grader.batch.roster import Roster
from grader.errors import UsageError
from grader.untrusted import visible

SUBMISSION_SUFFIXES = (".ipynb", ".py")
SKIPPED_NAMES = {"__MACOSX", "__pycache__", ".ipynb_checkpoints", ".git", ".DS_Store"}
RESERVED_FOLDERS = {"exports", "gradebook.sqlite", "gradebook.sqlite-wal", "gradebook.sqlite-shm", "summary.html", ".grader-batch.lock"}

ID_PATTERNS = {
    # Canvas "Download Submissions": lastfirst[_LATE]_<user id>_<submission id>_<original name>
    "canvas": r"^(?P<name>[^_]+?)(?:_LATE)?_(?P<canvas_id>\d+)_(?P<submission_id>\d+)_",
    # Moodle "Download all submissions": <Full Name>_<participant id>_assignsubmission_file_
    "moodle": r"^(?P<name>.+?)_(?P<participant>\d+)_assignsubmission_(?:file|onlinetext)_?",
}


@dataclass(frozen=True)
class Item:
    """One submission of the batch, identified."""

    student: str
    source: Path  # the file or folder as found
    graded_file: Path | None  # the notebook or module that is graded (None: see `problem`)
    content_sha256: str
    folder: str  # the student's output folder name
    problem: str | None = None  # why it cannot be graded at all (a folder without a notebook, ...)
    problem_kind: str = ""  # message key for `problem`
    info: dict[str, str] = field(default_factory=dict)  # roster columns

    @property
    def filename(self) -> str:
        """The name the result carries: the graded file's, else the submission's own."""
        return self.graded_file.name if self.graded_file else self.source.name


@dataclass
class Discovery:
    """The submissions found, and what the instructor should hear about the rest."""

    items: list[Item]
    ignored: list[str]  # entries that are not submissions, with why
    unmatched: list[str]  # submissions the roster does not list
    missing: list[str]  # roster students without a submission
    notes: list[str] = field(default_factory=list)  # names that did not match --id-pattern


def _skip(path: Path) -> bool:
    return path.name.startswith(".") or path.name in SKIPPED_NAMES


def candidates(folder: Path) -> list[Path]:
    """The gradable files in a folder submission: its notebooks, else its modules (no symlinks)."""
    found: dict[str, list[Path]] = {".ipynb": [], ".py": []}
    for root, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not _skip(Path(d)) and not (Path(root) / d).is_symlink())
        for name in sorted(files):
            path = Path(root) / name
            if path.suffix in found and not _skip(path) and not path.is_symlink() and path.is_file():
                found[path.suffix].append(path)
    return found[".ipynb"] or found[".py"]


def file_sha256(path: Path) -> str:
    """The SHA-256 of a file's bytes, read in chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def content_sha256(source: Path) -> str:
    """A file's SHA-256; for a folder, of the relative paths and contents of its gradable files."""
    if source.is_file():
        return file_sha256(source)
    digest = hashlib.sha256(b"grader-folder-v1\0")
    for path in candidates(source):
        digest.update(path.relative_to(source).as_posix().encode() + b"\0" + bytes.fromhex(file_sha256(path)))
    return digest.hexdigest()


def safe_folder(student: str) -> str:
    """A folder name for a student id: letters, digits and `._@+-` kept, the rest replaced."""
    name = "".join(c if (c.isalnum() or c in "._@+-") else "_" for c in unicodedata.normalize("NFC", student))
    name = name.lstrip(".")[:80] or "_"
    if name != student or name in RESERVED_FOLDERS:
        name = f"{name}-{hashlib.sha256(student.encode()).hexdigest()[:8]}"
    return name


def student_from_name(name: str, pattern: re.Pattern[str] | None) -> tuple[str, dict[str, str], bool]:
    """(student id, named groups, whether the pattern matched) for a submission's file or folder name."""
    name = visible(name)  # a file name is the student's choice: no escape sequence reaches a terminal or a page
    stem = Path(name).stem if Path(name).suffix in SUBMISSION_SUFFIXES else name
    if pattern is None:
        return stem, {"student": stem}, True
    match = pattern.search(name)
    if not match:
        return stem, {"student": stem}, False
    groups = {k: v for k, v in match.groupdict().items() if v}
    student = groups.get("student") or groups.get("name") or next(iter(groups.values()), "") or (match.group(1) if match.groups() else stem)
    groups.setdefault("student", student)
    return student, groups, True


def compile_id_pattern(pattern: str | None) -> re.Pattern[str] | None:
    """The `--id-pattern` regular expression (or the named LMS format's), None without one."""
    if not pattern:
        return None
    try:
        return re.compile(ID_PATTERNS.get(pattern, pattern))
    except re.error as exc:
        raise UsageError(f"--id-pattern is not a valid regular expression: {exc}") from exc


def discover(paths: Sequence[Path], roster: Roster | None = None, id_pattern: str | None = None) -> Discovery:
    """The submissions named on the command line: one folder of submissions, or the submissions themselves."""
    paths = [Path(p) for p in paths]
    for p in paths:
        if not p.exists():
            raise UsageError(f"no such file or folder: {p}")
    entries = sorted(paths[0].iterdir(), key=lambda p: p.name) if len(paths) == 1 and paths[0].is_dir() else paths
    pattern = compile_id_pattern(id_pattern)
    ignored: list[str] = []
    notes: list[str] = []
    unmatched: list[str] = []
    found: list[tuple[str, Path, dict[str, str]]] = []
    for entry in entries:
        if _skip(entry):
            continue
        if entry.is_file() and entry.suffix not in SUBMISSION_SUFFIXES:
            why = "a zip archive: unzip it first" if entry.suffix == ".zip" else "not a .ipynb notebook, a .py module or a folder"
            ignored.append(f"{visible(entry.name)} ({why})")
            continue
        if not (entry.is_file() or entry.is_dir()):
            ignored.append(f"{visible(entry.name)} (not a regular file or folder)")
            continue
        student, groups, matched = student_from_name(entry.name, pattern)
        if not matched:
            notes.append(f"{visible(entry.name)} does not match --id-pattern: its student id is '{student}'")
        info: dict[str, str] = {}
        if roster is not None:
            hits = roster.match(entry.name, student, groups)
            if len(hits) > 1:
                raise UsageError(f"{visible(entry.name)} matches several students of the roster: {', '.join(hits)}")
            if hits:
                student, info = hits[0], roster.rows[hits[0]]
            else:
                unmatched.append(visible(entry.name))
        found.append((student, entry, info))
    by_student: dict[str, list[Path]] = {}
    for student, entry, _ in found:
        by_student.setdefault(student, []).append(entry)
    duplicates = {s: es for s, es in by_student.items() if len(es) > 1}
    if duplicates:
        listing = "; ".join(f"{s}: {', '.join(e.name for e in es)}" for s, es in sorted(duplicates.items()))
        raise UsageError(f"several submissions for one student ({listing}): keep one, or put them in one folder")
    folders: dict[str, str] = {}
    items: list[Item] = []
    for student, entry, info in sorted(found, key=lambda f: f[0]):
        folder = safe_folder(student)
        if folder.casefold() in folders:  # a case-insensitive file system would merge them
            raise UsageError(f"students '{folders[folder.casefold()]}' and '{student}' would share the output folder '{folder}'")
        folders[folder.casefold()] = student
        items.append(_item(student, entry, folder, info))
    missing = sorted(set(roster.rows) - set(by_student)) if roster else []
    return Discovery(items=items, ignored=ignored, unmatched=unmatched, missing=missing, notes=notes)


def _item(student: str, entry: Path, folder: str, info: dict[str, str]) -> Item:
    sha = content_sha256(entry)
    if entry.is_file():
        return Item(student, entry, entry, sha, folder, info=info)
    files = candidates(entry)
    if len(files) == 1:
        return Item(student, entry, files[0], sha, folder, info=info)
    if not files:
        return Item(student, entry, None, sha, folder, problem="", problem_kind="folder_empty", info=info)
    names = ", ".join(p.relative_to(entry).as_posix() for p in files[:10])
    return Item(student, entry, None, sha, folder, problem=names, problem_kind="folder_several", info=info)
