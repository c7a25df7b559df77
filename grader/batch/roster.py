"""The class roster: a CSV of students (or a Canvas gradebook export) that names the submissions."""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from grader.errors import UsageError

_ROSTER_ALIASES = {
    "full_name": "name",
    "email_address": "email",
    "e_mail": "email",
    "submission": "file",
    "filename": "file",
    "id_number": "id_number",
    "surname": "last_name",
    "student_id": "student",
}


@dataclass(frozen=True)
class Roster:
    """Students by id, each with its columns (normalised names: name, email, canvas_id, ...)."""

    rows: dict[str, dict[str, str]]
    path: Path | None = None

    def match(self, name: str, stem: str, groups: dict[str, str]) -> list[str]:
        """Ids of the students a submission named `name` (groups from --id-pattern) belongs to."""
        hits: list[str] = []
        for student, row in self.rows.items():
            if row.get("file") and row["file"] in (name, stem):
                hits.append(student)
                continue
            for key, value in groups.items():
                if value and _same(row.get(key, ""), value):
                    hits.append(student)
                    break
        return hits


def _norm_header(text: str) -> str:
    return re.sub(r"[^0-9a-z]+", "_", text.strip().lower()).strip("_")


def _fold(text: str) -> str:
    """Text compared without case, width or spacing differences."""
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())


def _same(a: str, b: str) -> bool:
    return bool(a) and _fold(a) == _fold(b)


def load_roster(path: Path) -> Roster:
    """A roster CSV: a `student` column (or a Canvas gradebook export), other columns kept as info.

    Recognised columns (case and punctuation ignored): student (also student_id, username, login,
    email), name, email, file (the submission's file or folder name), canvas_id, sis_user_id,
    sis_login_id, section, id_number. A Canvas gradebook export (Student, ID, SIS User ID,
    SIS Login ID, Section, ...) works as it is: the student id is the SIS Login ID (else the
    SIS User ID, else the Canvas ID).
    """
    try:
        text = Path(path).read_bytes().decode("utf-8-sig")
    except OSError as exc:
        raise UsageError(f"cannot read the roster {path}: {exc.strerror}") from exc
    except UnicodeDecodeError as exc:
        raise UsageError(f"the roster {path} is not UTF-8 text (byte {exc.start})") from exc
    sample = text[:4096]
    delimiter = ";" if sample.count(";") > sample.count(",") else ","
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    header = next(reader, None)
    if not header:
        raise UsageError(f"the roster {path} is empty")
    raw = [h.strip() for h in header]
    names = [_ROSTER_ALIASES.get(_norm_header(h), _norm_header(h)) for h in raw]
    canvas = {"student", "id", "sis_login_id"} <= set(names) and names[0] == "student"
    if canvas:  # a Canvas gradebook export: "Student" is the display name
        names = [{"student": "name", "id": "canvas_id"}.get(n, n) for n in names]
        id_columns: tuple[str, ...] = ("sis_login_id", "sis_user_id", "canvas_id")
    else:
        id_columns = ("student", "username", "login", "email")
        if not any(c in names for c in id_columns):
            raise UsageError(f"the roster {path} has no 'student' column (columns: {', '.join(raw)})")
    rows: dict[str, dict[str, str]] = {}
    for number, values in enumerate(reader, start=2):
        if not any(v.strip() for v in values):
            continue
        row = {n: v.strip() for n, v in zip(names, values, strict=False) if n}  # a short or long row: the columns it has
        if canvas and ("Points Possible" in values[0] or not any(row.get(c) for c in id_columns)):
            continue
        student = next((row[c] for c in id_columns if row.get(c)), "")
        if not student:
            raise UsageError(f"{path}, line {number}: no student id")
        if student in rows:
            raise UsageError(f"{path}, line {number}: student '{student}' is listed twice")
        row["student"] = student
        rows[student] = row
    if not rows:
        raise UsageError(f"the roster {path} lists no student")
    return Roster(rows=rows, path=Path(path))
