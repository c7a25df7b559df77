"""The gradebook: every graded result of a batch, in one SQLite file that survives a crash.

One row per (assignment, student) in `results`: the newest result of that student's submission,
with the key it was graded under. Every result ever committed is also appended to `history`, with
the fingerprint of the assignment it was judged against (`grader.batch.keys.assignment_sha256`)
and the time; `assignments` keeps what each fingerprint stood for (`assignment_snapshot`), so that
`grader regrade` can tell what changed since.
Each result is committed in its own transaction as soon as it exists (WAL journal, full sync),
so a batch killed at any point (``kill -9``, power cut) keeps everything committed before it.

Only the process that drives a batch writes here; grading workers never open the file.
"""

from __future__ import annotations

import datetime as _dt
import json
import sqlite3
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from grader.errors import UsageError
from grader.models import GradeResult

SCHEMA_VERSION = 2  # 2: the assignment's fingerprint with every result, and the assignments table
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
    assignment_sha256 TEXT NOT NULL DEFAULT '',  -- the assignment it was judged against ('': not known)
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
    result_json TEXT NOT NULL,
    assignment_sha256 TEXT NOT NULL DEFAULT ''
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
CREATE TABLE IF NOT EXISTS assignments (
    sha256 TEXT PRIMARY KEY,        -- grader.batch.keys.assignment_sha256
    assignment TEXT NOT NULL,
    snapshot_json TEXT NOT NULL,    -- assignment_snapshot(): its assignment.toml and the digest of each file
    recorded_at TEXT NOT NULL
);
"""
_MIGRATIONS = {  # from schema version N to N + 1
    1: """ALTER TABLE results ADD COLUMN assignment_sha256 TEXT NOT NULL DEFAULT '';
ALTER TABLE history ADD COLUMN assignment_sha256 TEXT NOT NULL DEFAULT '';
CREATE TABLE IF NOT EXISTS assignments (sha256 TEXT PRIMARY KEY, assignment TEXT NOT NULL, snapshot_json TEXT NOT NULL, recorded_at TEXT NOT NULL);""",
}


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
    assignment_sha256: str = ""  # the assignment the result was judged against ("": not known)

    @property
    def crashed(self) -> bool:
        return self.outcome == "crashed"


@dataclass(frozen=True)
class Version:
    """One committed result of a student (a row of `history`), oldest first."""

    graded_at: str
    assignment_sha256: str
    key: str
    outcome: Outcome
    passed: bool
    score: float
    run_id: int | None
    result_json: str  # parse with GradeResult.from_dict(json.loads(...)) where needed


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
            for old in range(version or SCHEMA_VERSION, SCHEMA_VERSION):  # an older file: brought up to date, a step at a time
                self.db.executescript(f"BEGIN IMMEDIATE;\n{_MIGRATIONS[old]}\nPRAGMA user_version = {old + 1};\nCOMMIT;")
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
        assignment_sha256: str = "",
    ) -> StoredResult:
        """Commit one result now: it replaces the student's previous result, and joins the history."""
        entry = StoredResult(result.assignment, student, key, content_sha256, source, folder, outcome, "", 0, result, assignment_sha256=assignment_sha256)
        with self._transaction() as db:
            self._insert(db, entry, run_id, graded_at or now_iso())
        stored = self.get(result.assignment, student)
        assert stored is not None
        return stored

    def record_all(self, entries: Sequence[StoredResult], run_id: int | None = None) -> None:
        """Commit several results in one transaction, all or none (`grader regrade`); each entry's
        `student`, `key`, `content_sha256`, `source`, `folder`, `outcome`, `result` and
        `assignment_sha256` are written, at this time."""
        graded_at = now_iso()
        with self._transaction() as db:
            for entry in entries:
                self._insert(db, entry, run_id, graded_at)

    @staticmethod
    def _insert(db: sqlite3.Connection, e: StoredResult, run_id: int | None, graded_at: str) -> None:
        result = e.result
        payload = json.dumps(result.to_dict(), ensure_ascii=False)
        db.execute(
            "INSERT INTO history(assignment, student, key, content_sha256, outcome, passed, score, graded_at, run_id, result_json, assignment_sha256)"
            " VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (result.assignment, e.student, e.key, e.content_sha256, e.outcome, int(result.passed), result.score,
             graded_at, run_id, payload, e.assignment_sha256),
        )
        db.execute(
            "INSERT INTO results(assignment, student, key, content_sha256, source, folder, outcome, passed, score, max_score,"
            " status, graded_at, gradings, result_json, assignment_sha256) VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?)"
            " ON CONFLICT(assignment, student) DO UPDATE SET key = excluded.key, content_sha256 = excluded.content_sha256,"
            " source = excluded.source, folder = excluded.folder, outcome = excluded.outcome, passed = excluded.passed,"
            " score = excluded.score, max_score = excluded.max_score, status = excluded.status,"
            " graded_at = excluded.graded_at, gradings = results.gradings + 1, result_json = excluded.result_json,"
            " assignment_sha256 = excluded.assignment_sha256",
            (result.assignment, e.student, e.key, e.content_sha256, e.source, e.folder, e.outcome, int(result.passed), result.score,
             result.max_score, result.execution.status, graded_at, payload, e.assignment_sha256),
        )

    def update_location(self, assignment: str, student: str, source: str, folder: str) -> None:
        """A cached result whose submission moved (same content, another path): note where it is now."""
        with self._transaction() as db:
            db.execute("UPDATE results SET source = ?, folder = ? WHERE assignment = ? AND student = ?", (source, folder, assignment, student))

    _COLUMNS = "assignment, student, key, content_sha256, source, folder, outcome, graded_at, gradings, result_json, assignment_sha256"

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

    def raw_results(self, assignment: str) -> list[dict[str, Any]]:
        """Every row of `assignment` by student as {column: value}, its result the JSON text stored:
        for a reader that parses it with care (`grader regrade`)."""
        cur = self.db.execute(f"SELECT {self._COLUMNS} FROM results WHERE assignment = ? ORDER BY student", (assignment,))
        names = [d[0] for d in cur.description]
        return [dict(zip(names, row, strict=True)) for row in cur]

    def assignments(self) -> list[str]:
        return [a for (a,) in self.db.execute("SELECT DISTINCT assignment FROM results ORDER BY assignment")]

    def history(self, assignment: str, student: str) -> list[Version]:
        """Every result committed for `student`, oldest first, each with its assignment fingerprint and time."""
        rows = self.db.execute(
            "SELECT graded_at, assignment_sha256, key, outcome, passed, score, run_id, result_json FROM history"
            " WHERE assignment = ? AND student = ? ORDER BY id", (assignment, student))
        return [Version(at, sha, key, outcome, bool(passed), score, run_id, payload) for at, sha, key, outcome, passed, score, run_id, payload in rows]

    def history_counts(self, assignment: str) -> dict[str, int]:
        rows = self.db.execute("SELECT student, COUNT(*) FROM history WHERE assignment = ? GROUP BY student", (assignment,))
        return dict(rows.fetchall())

    @staticmethod
    def _stored(row: tuple[Any, ...], infos: dict[str, dict[str, str]]) -> StoredResult:
        assignment, student, key, sha, source, folder, outcome, graded_at, gradings, payload, assignment_sha = row
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
            assignment_sha256=assignment_sha,
        )

    # -- assignments -----------------------------------------------------------------------------

    def save_assignment(self, sha256: str, assignment_id: str, snapshot: dict[str, Any]) -> None:
        """Keep what the fingerprint `sha256` stands for (`assignment_snapshot`), once."""
        with self._transaction() as db:
            db.execute("INSERT OR IGNORE INTO assignments(sha256, assignment, snapshot_json, recorded_at) VALUES(?, ?, ?, ?)",
                       (sha256, assignment_id, json.dumps(snapshot, ensure_ascii=False, sort_keys=True), now_iso()))

    def assignment_snapshot(self, sha256: str) -> dict[str, Any] | None:
        """The snapshot kept for the fingerprint `sha256`, or None (not kept, or not readable)."""
        row = self.db.execute("SELECT snapshot_json FROM assignments WHERE sha256 = ?", (sha256,)).fetchone()
        try:
            snapshot = json.loads(row[0]) if row else None
        except ValueError:
            return None
        return snapshot if isinstance(snapshot, dict) else None

    # -- runs ------------------------------------------------------------------------------------

    def start_run(self, assignment: str, settings: dict[str, Any], total: int) -> int:
        with self._transaction() as db:
            cur = db.execute(
                "INSERT INTO runs(started_at, assignment, settings_json, total) VALUES(?, ?, ?, ?)",
                (now_iso(), assignment, json.dumps(settings, sort_keys=True, default=str), total),
            )
            assert cur.lastrowid is not None  # every INSERT sets it
            return cur.lastrowid

    def finish_run(self, run_id: int, graded: int, cached: int, state: str = "finished") -> None:
        with self._transaction() as db:
            db.execute("UPDATE runs SET finished_at = ?, graded = ?, cached = ?, state = ? WHERE id = ?", (now_iso(), graded, cached, state, run_id))

    def last_run_settings(self, assignment: str) -> dict[str, Any] | None:
        """The settings the last run of `assignment` recorded (`start_run`), or None."""
        row = self.db.execute("SELECT settings_json FROM runs WHERE assignment = ? ORDER BY id DESC LIMIT 1", (assignment,)).fetchone()
        try:
            settings = json.loads(row[0]) if row else None
        except ValueError:
            return None
        return settings if isinstance(settings, dict) else None

    def runs(self) -> Iterator[dict[str, Any]]:
        cur = self.db.execute("SELECT id, started_at, finished_at, assignment, total, graded, cached, state FROM runs ORDER BY id")
        names = [d[0] for d in cur.description]
        for row in cur:
            yield dict(zip(names, row, strict=True))


def gradebook_path(outdir: Path, explicit: Path | None = None) -> Path:
    return Path(explicit) if explicit else Path(outdir) / FILENAME


def open_existing(outdir: Path, explicit: Path | None = None) -> Gradebook:
    """The gradebook of a batch output folder, which must exist (for exports)."""
    path = gradebook_path(outdir, explicit)
    if not path.is_file():
        raise UsageError(f"no gradebook at {path}: run `grader batch ... -o {outdir}` first")
    return Gradebook(path)
