"""The gradebook: every graded result of a batch, in one SQLite file that survives a crash.

One row per (assignment, student) in `results`: the newest result of that student's submission,
with the key it was graded under. Every result ever committed is also appended to `history`.
Each result is committed in its own transaction as soon as it exists (WAL journal, full sync),
so a batch killed at any point (``kill -9``, power cut) keeps everything committed before it.

Only the process that drives a batch writes here; grading workers never open the file.
"""

from __future__ import annotations

import datetime as _dt
import json
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

from grader.errors import UsageError
from grader.models import GradeResult

SCHEMA_VERSION = 1
FILENAME = "gradebook.sqlite"
Outcome = str  # "graded": the grader produced the result; "crashed": the grading process failed

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS results (
    assignment TEXT NOT NULL,
    student TEXT NOT NULL,
    key TEXT NOT NULL,              -- what the result was graded under: content, assignment, options, version
    content_sha256 TEXT NOT NULL,
    source TEXT NOT NULL,           -- the submission as found (file or folder), for people
    folder TEXT NOT NULL,           -- the student's output folder, relative to the batch's output folder
    outcome TEXT NOT NULL CHECK (outcome IN ('graded', 'crashed')),
    passed INTEGER NOT NULL,
    score REAL NOT NULL,
    max_score REAL NOT NULL,
    status TEXT NOT NULL,           -- the execution status of the result
    graded_at TEXT NOT NULL,        -- ISO 8601, UTC
    gradings INTEGER NOT NULL,      -- how many results of this student were committed in all
    result_json TEXT NOT NULL,
    PRIMARY KEY (assignment, student)
);
CREATE TABLE IF NOT EXISTS history (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    assignment TEXT NOT NULL,
    student TEXT NOT NULL,
    key TEXT NOT NULL,
    content_sha256 TEXT NOT NULL,
    outcome TEXT NOT NULL,
    passed INTEGER NOT NULL,
    score REAL NOT NULL,
    graded_at TEXT NOT NULL,
    run_id INTEGER,
    result_json TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS students (
    student TEXT PRIMARY KEY,
    info_json TEXT NOT NULL         -- roster columns: name, email, canvas_id, sis_user_id, ...
);
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    started_at TEXT NOT NULL,
    finished_at TEXT,
    assignment TEXT NOT NULL,
    settings_json TEXT NOT NULL,
    total INTEGER NOT NULL DEFAULT 0,
    graded INTEGER NOT NULL DEFAULT 0,
    cached INTEGER NOT NULL DEFAULT 0,
    state TEXT NOT NULL DEFAULT 'running'   -- running | finished | interrupted (a killed run stays 'running')
);
"""


def now_iso() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="microseconds")


@dataclass(frozen=True)
class StoredResult:
    """One row of `results`, with its result parsed back into the typed model."""

    assignment: str
    student: str
    key: str
    content_sha256: str
    source: str
    folder: str
    outcome: Outcome
    graded_at: str
    gradings: int
    result: GradeResult
    info: dict[str, str] = field(default_factory=dict)  # the student's roster columns, if any

    @property
    def crashed(self) -> bool:
        return self.outcome == "crashed"


class Gradebook:
    """A gradebook file. Use as a context manager, or call `close()`."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self.db = sqlite3.connect(str(self.path), timeout=30.0, isolation_level=None)
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=FULL")  # a committed result survives a power cut
            version = self.db.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise UsageError(f"{self.path}: written by a newer grader (gradebook schema {version}); upgrade the grader")
            if version == 0:  # a new file: the schema in one transaction
                self.db.executescript(f"BEGIN IMMEDIATE;\n{_SCHEMA}\nPRAGMA user_version = {SCHEMA_VERSION};\nCOMMIT;")
        except sqlite3.DatabaseError as exc:
            raise UsageError(f"{self.path}: not a usable gradebook ({exc})") from exc

    # -- plumbing --------------------------------------------------------------------------------

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> Gradebook:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    class _Tx:
        def __init__(self, db: sqlite3.Connection) -> None:
            self.db = db

        def __enter__(self) -> sqlite3.Connection:
            self.db.execute("BEGIN IMMEDIATE")
            return self.db

        def __exit__(self, exc_type: object, *rest: object) -> None:
            self.db.execute("ROLLBACK" if exc_type else "COMMIT")

    def _transaction(self) -> Gradebook._Tx:
        return Gradebook._Tx(self.db)

    # -- meta ------------------------------------------------------------------------------------

    def meta(self, key: str) -> str | None:
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def set_meta(self, key: str, value: str) -> None:
        with self._transaction() as db:
            db.execute("INSERT INTO meta(key, value) VALUES(?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value", (key, value))

    def bind_assignment(self, assignment_id: str) -> None:
        """A gradebook (and its output folder) belongs to one assignment."""
        bound = self.meta("assignment")
        if bound is None:
            self.set_meta("assignment", assignment_id)
        elif bound != assignment_id:
            raise UsageError(
                f"{self.path.parent} holds the results of assignment '{bound}', not '{assignment_id}': use another output folder (-o)"
            )

    # -- students --------------------------------------------------------------------------------

    def save_students(self, infos: dict[str, dict[str, str]]) -> None:
        if not infos:
            return
        with self._transaction() as db:
            db.executemany(
                "INSERT INTO students(student, info_json) VALUES(?, ?) ON CONFLICT(student) DO UPDATE SET info_json = excluded.info_json",
                [(s, json.dumps(info, ensure_ascii=False, sort_keys=True)) for s, info in infos.items()],
            )

    def students(self) -> dict[str, dict[str, str]]:
        return {s: json.loads(info) for s, info in self.db.execute("SELECT student, info_json FROM students")}

    # -- results ---------------------------------------------------------------------------------

    def keys(self, assignment: str) -> dict[str, tuple[str, str]]:
        """student → (key, outcome) of every stored result of `assignment`."""
        rows = self.db.execute("SELECT student, key, outcome FROM results WHERE assignment = ?", (assignment,))
        return {student: (key, outcome) for student, key, outcome in rows}

    def record(
        self,
        *,
        student: str,
        key: str,
        content_sha256: str,
        source: str,
        folder: str,
        result: GradeResult,
        outcome: Outcome = "graded",
        run_id: int | None = None,
        graded_at: str | None = None,
    ) -> StoredResult:
        """Commit one result now: it replaces the student's previous result, and joins the history."""
        graded_at = graded_at or now_iso()
        payload = json.dumps(result.to_dict(), ensure_ascii=False)
        status = result.execution.status
        with self._transaction() as db:
            db.execute(
                "INSERT INTO history(assignment, student, key, content_sha256, outcome, passed, score, graded_at, run_id, result_json)"
                " VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (result.assignment, student, key, content_sha256, outcome, int(result.passed), result.score, graded_at, run_id, payload),
            )
            db.execute(
                "INSERT INTO results(assignment, student, key, content_sha256, source, folder, outcome, passed, score, max_score,"
                " status, graded_at, gradings, result_json) VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?)"
                " ON CONFLICT(assignment, student) DO UPDATE SET key = excluded.key, content_sha256 = excluded.content_sha256,"
                " source = excluded.source, folder = excluded.folder, outcome = excluded.outcome, passed = excluded.passed,"
                " score = excluded.score, max_score = excluded.max_score, status = excluded.status,"
                " graded_at = excluded.graded_at, gradings = results.gradings + 1, result_json = excluded.result_json",
                (result.assignment, student, key, content_sha256, source, folder, outcome, int(result.passed), result.score,
                 result.max_score, status, graded_at, payload),
            )
        stored = self.get(result.assignment, student)
        assert stored is not None
        return stored

    def update_location(self, assignment: str, student: str, source: str, folder: str) -> None:
        """A cached result whose submission moved (same content, another path): note where it is now."""
        with self._transaction() as db:
            db.execute("UPDATE results SET source = ?, folder = ? WHERE assignment = ? AND student = ?", (source, folder, assignment, student))

    _COLUMNS = "assignment, student, key, content_sha256, source, folder, outcome, graded_at, gradings, result_json"

    def get(self, assignment: str, student: str) -> StoredResult | None:
        row = self.db.execute(f"SELECT {self._COLUMNS} FROM results WHERE assignment = ? AND student = ?", (assignment, student)).fetchone()
        if not row:
            return None
        info = self.db.execute("SELECT info_json FROM students WHERE student = ?", (student,)).fetchone()
        return self._stored(row, {student: json.loads(info[0])} if info else {})

    def results(self, assignment: str | None = None) -> list[StoredResult]:
        """Every stored result (of one assignment), ordered by student."""
        infos = self.students()
        if assignment is None:
            rows = self.db.execute(f"SELECT {self._COLUMNS} FROM results ORDER BY assignment, student")
        else:
            rows = self.db.execute(f"SELECT {self._COLUMNS} FROM results WHERE assignment = ? ORDER BY student", (assignment,))
        return [self._stored(row, infos) for row in rows]

    def assignments(self) -> list[str]:
        return [a for (a,) in self.db.execute("SELECT DISTINCT assignment FROM results ORDER BY assignment")]

    def history_counts(self, assignment: str) -> dict[str, int]:
        rows = self.db.execute("SELECT student, COUNT(*) FROM history WHERE assignment = ? GROUP BY student", (assignment,))
        return dict(rows.fetchall())

    @staticmethod
    def _stored(row: tuple[Any, ...], infos: dict[str, dict[str, str]]) -> StoredResult:
        assignment, student, key, sha, source, folder, outcome, graded_at, gradings, payload = row
        return StoredResult(
            assignment=assignment,
            student=student,
            key=key,
            content_sha256=sha,
            source=source,
            folder=folder,
            outcome=outcome,
            graded_at=graded_at,
            gradings=gradings,
            result=GradeResult.from_dict(json.loads(payload)),
            info=infos.get(student, {}),
        )

    # -- runs ------------------------------------------------------------------------------------

    def start_run(self, assignment: str, settings: dict[str, Any], total: int) -> int:
        with self._transaction() as db:
            cur = db.execute(
                "INSERT INTO runs(started_at, assignment, settings_json, total) VALUES(?, ?, ?, ?)",
                (now_iso(), assignment, json.dumps(settings, sort_keys=True, default=str), total),
            )
            return int(cur.lastrowid)

    def finish_run(self, run_id: int, graded: int, cached: int, state: str = "finished") -> None:
        with self._transaction() as db:
            db.execute("UPDATE runs SET finished_at = ?, graded = ?, cached = ?, state = ? WHERE id = ?", (now_iso(), graded, cached, state, run_id))

    def runs(self) -> Iterator[dict[str, Any]]:
        cur = self.db.execute("SELECT id, started_at, finished_at, assignment, total, graded, cached, state FROM runs ORDER BY id")
        names = [d[0] for d in cur.description]
        for row in cur:
            yield dict(zip(names, row))


def gradebook_path(outdir: Path, explicit: Path | None = None) -> Path:
    return Path(explicit) if explicit else Path(outdir) / FILENAME


def open_existing(outdir: Path, explicit: Path | None = None) -> Gradebook:
    """The gradebook of a batch output folder, which must exist (for exports)."""
    path = gradebook_path(outdir, explicit)
    if not path.is_file():
        raise UsageError(f"no gradebook at {path}: run `grader batch ... -o {outdir}` first")
    return Gradebook(path)
