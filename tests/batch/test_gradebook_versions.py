"""The gradebook keeps every version of a student's result with the fingerprint of the assignment
it was judged against, and what that fingerprint stood for; a gradebook of schema 1 is brought up
to date; `run_batch(only=...)` grades exactly those students again."""

from __future__ import annotations

import io
import sqlite3

from grader.assignment import find_assignment
from grader.batch.gradebook import SCHEMA_VERSION, Gradebook
from grader.batch.keys import assignment_sha256
from grader.batch.run import run_batch
from grader.options import Options
from tests.batch.batch_helpers import FakeRunner, make_class, settings


def test_versions_carry_the_assignment_fingerprint_and_only_grades_those_students_again(tmp_path, no_mnist):
    assignment = find_assignment("mnist-callback")
    subs = make_class(tmp_path / "subs", **{"ann.py": "PASS", "ben.py": "fail"})
    runner = FakeRunner(assignment)
    run_batch([subs], assignment, Options(lang="en"), settings(tmp_path / "out"), runner=runner, out=io.StringIO())
    run_batch([subs], assignment, Options(lang="en"), settings(tmp_path / "out"), runner=runner, out=io.StringIO(), only={"ben"})
    assert runner.calls == ["ann", "ben", "ben"]  # ben again, though his key had not changed
    with Gradebook(tmp_path / "out" / "gradebook.sqlite") as book:
        sha = assignment_sha256(assignment)
        assert [v.assignment_sha256 for v in book.history("mnist-callback", "ben")] == [sha, sha]
        assert [v.assignment_sha256 for v in book.history("mnist-callback", "ann")] == [sha]
        assert book.get("mnist-callback", "ann").assignment_sha256 == sha
        snapshot = book.assignment_snapshot(sha)
        assert snapshot["id"] == "mnist-callback" and "threshold = 0.99" in snapshot["toml"] and "skeleton.ipynb" in snapshot["files"]
        assert book.last_run_settings("mnist-callback")["asked"]["lang"] == "en"


def test_a_gradebook_of_schema_1_is_brought_up_to_date(tmp_path, no_mnist):
    assignment = find_assignment("mnist-callback")
    subs = make_class(tmp_path / "subs", **{"ann.py": "PASS"})
    run_batch([subs], assignment, Options(lang="en"), settings(tmp_path / "out"), runner=FakeRunner(assignment), out=io.StringIO())
    path = tmp_path / "out" / "gradebook.sqlite"
    db = sqlite3.connect(path)
    db.executescript("ALTER TABLE results DROP COLUMN assignment_sha256; ALTER TABLE history DROP COLUMN assignment_sha256;"
                     "DROP TABLE assignments; PRAGMA user_version = 1;")
    db.close()
    with Gradebook(path) as book:
        assert book.db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 2
        assert book.get("mnist-callback", "ann").assignment_sha256 == "" and book.assignment_snapshot(assignment_sha256(assignment)) is None
