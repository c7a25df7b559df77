"""`run_regrade_command` (what `grader regrade` calls), one result.json, the gradebook's versions
from a gradebook written before them, and the exit codes."""

from __future__ import annotations

import io
import json
import sqlite3

from grader.batch.gradebook import SCHEMA_VERSION, Gradebook
from grader.errors import EXIT_FAILED, EXIT_PASSED
from grader.regrade import plan_regrade, regrade_one, run_regrade_command
from grader.report.outputs import write_outputs
from tests.regrade.regrade_helpers import CLASS, edit, grade_like_pipeline


def test_the_command_finds_the_batch_s_assignment_and_says_what_it_did(graded, assignment_folder):
    _, out, _ = graded({"bob": CLASS["bob"]})
    edit(assignment_folder, "threshold = 0.99 ", "threshold = 0.98 ")  # in place: the folder the batch was graded with
    text = io.StringIO()
    assert run_regrade_command(out, None, True, None, text) == EXIT_PASSED  # a dry run
    assert "bob: 3 → 5 of 5 (+2), now passes" in text.getvalue()
    assert json.loads((out / "bob" / "result.json").read_text())["passed"] is False
    text = io.StringIO()
    assert run_regrade_command(out, str(assignment_folder), False, "en", text) == EXIT_PASSED  # bob passes now
    assert "regrade: 1 result(s) judged again and committed, 0 run again; passed 1, failed 0" in text.getvalue()
    text = io.StringIO()
    assert run_regrade_command(out / "bob" / "result.json", None, False, "zh", text) == EXIT_PASSED
    assert "未变：1" in text.getvalue()


def test_one_result_json_without_a_gradebook_is_judged_from_its_record(tmp_path, assignment_folder):
    before = edit(assignment_folder, "# sanity bound", "# sanity bound")
    (tmp_path / "bob.py").write_text(CLASS["bob"])
    (tmp_path / "dave.py").write_text(CLASS["dave"])
    write_outputs(grade_like_pipeline(tmp_path / "bob.py", before), before, tmp_path / "one")
    write_outputs(grade_like_pipeline(tmp_path / "dave.py", before), before, tmp_path / "two")
    lowered = edit(assignment_folder, "threshold = 0.99 ", "threshold = 0.98 ")
    text = io.StringIO()
    outcome = regrade_one(tmp_path / "one" / "result.json", lowered, out=text)
    assert outcome.plan.assumed and outcome.written == ("one",) and outcome.exit_code == EXIT_PASSED
    assert json.loads((tmp_path / "one" / "result.json").read_text())["passed"] is True
    assert "report.html" in {p.name for p in (tmp_path / "one").iterdir()} and "taken to be unchanged" in text.getvalue()
    raised = edit(assignment_folder, "timeout_s = 900 ", "timeout_s = 1800 ")
    outcome = regrade_one(tmp_path / "two" / "result.json", raised, out=io.StringIO())
    assert [s for s, _ in outcome.not_rerun] == ["two"] and outcome.exit_code == EXIT_FAILED  # grader grade runs it again


def test_a_gradebook_from_before_versions_is_brought_up_to_date_and_its_results_run_again(graded, assignment_folder):
    _, out, runner = graded({"bob": CLASS["bob"]})
    book_path = out / "gradebook.sqlite"
    db = sqlite3.connect(book_path)  # as schema 1 left it: no fingerprints, no assignments table
    db.executescript("ALTER TABLE results DROP COLUMN assignment_sha256; ALTER TABLE history DROP COLUMN assignment_sha256;"
                     "DROP TABLE assignments; PRAGMA user_version = 1;")
    db.close()
    same = edit(assignment_folder, "# sanity bound", "# sanity bound")
    plan = plan_regrade(out, same)
    assert [(e.student, e.rerun.key) for e in plan.reruns] == [("bob", "assignment_unknown")]
    with Gradebook(book_path) as book:
        assert book.db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        assert [v.assignment_sha256 for v in book.history("mnist-callback", "bob")] == [""]
    runner.calls.clear()
    from grader.regrade import regrade

    regrade(out, same, runner=runner, out=io.StringIO(), progress="none")
    assert runner.calls == ["bob"] and plan_regrade(out, same).reruns == ()


def test_a_lone_result_json_of_the_wrong_shape_is_not_a_result(tmp_path, assignment_folder):
    (tmp_path / "one").mkdir()
    (tmp_path / "one" / "result.json").write_text(json.dumps({"assignment": "mnist-callback", "checks": [{"id": 1}]}))
    outcome = regrade_one(tmp_path / "one" / "result.json", edit(assignment_folder, "# sanity bound", "# sanity bound"), out=io.StringIO())
    assert [(e.student, e.rerun.key) for e in outcome.plan.reruns] == [("one", "not_a_result")]
