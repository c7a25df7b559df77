"""The gradebook key of a submission: a result stored under the same key is never graded again."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from grader import __version__
from grader.batch.discovery import file_sha256

if TYPE_CHECKING:
    from grader.assignment import Assignment
    from grader.options import Settings

KEY_VERSION = 2  # 2: the options are the effective settings (grader.options.resolve), the memory limit filled in
OPTIONS_NOT_IN_KEY = ("data_dir", "env")  # where the data lives and thread counts do not change a grade


def assignment_sha256(assignment: Assignment) -> str:
    """The content of the assignment's folder (its TOML, skeleton and any other file)."""
    digest = hashlib.sha256(assignment.id.encode() + b"\0")
    for path in sorted(p for p in Path(assignment.folder).rglob("*") if p.is_file() and "__pycache__" not in p.parts):
        digest.update(path.relative_to(assignment.folder).as_posix().encode() + b"\0" + bytes.fromhex(file_sha256(path)))
    return digest.hexdigest()


def grading_options(settings: Settings) -> dict[str, Any]:
    """The settings that change a grade, as JSON values: the effective ones (`grader.options.resolve`),
    so that an option equal to the assignment's default keeps a result and a changed default
    regrades. Every field counts but `data_dir` and `env`, so that a field added later is part of
    the key without anyone remembering to add it."""
    return {k: v for k, v in settings.to_json().items() if k not in OPTIONS_NOT_IN_KEY}


def grading_key(student: str, content: str, assignment_id: str, assignment_content: str, options: dict[str, Any]) -> str:
    """The SHA-256 of everything that makes a grade: student, content, assignment, grader version, options."""
    material = {
        "key_version": KEY_VERSION,
        "student": student,
        "content_sha256": content,
        "assignment": assignment_id,
        "assignment_sha256": assignment_content,
        "grader_version": __version__,
        "options": options,
    }
    return hashlib.sha256(json.dumps(material, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def assignment_snapshot(assignment: Assignment) -> dict[str, Any]:
    """What `assignment_sha256` stands for, as the gradebook keeps it for `grader regrade`: the
    assignment's TOML, and the SHA-256 of each file of its folder (the skeleton's among them)."""
    folder = Path(assignment.folder)
    files = {p.relative_to(folder).as_posix(): file_sha256(p) for p in sorted(folder.rglob("*")) if p.is_file() and "__pycache__" not in p.parts}
    return {"id": assignment.id, "toml": (folder / "assignment.toml").read_text(encoding="utf-8", errors="replace"), "files": files}
