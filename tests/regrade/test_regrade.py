"""grader regrade on a small class graded without a kernel (tests/regrade/regrade_helpers.py): a changed
threshold changes exactly the verdicts it decides and runs nothing; a lowered epoch limit or a
raised time limit runs again exactly the submission its old value stopped; a damaged result.json
runs again; the gradebook keeps every version and the exports take the latest."""

from __future__ import annotations

import io
import json

from grader.batch.gradebook import Gradebook
from grader.batch.keys import assignment_sha256
from grader.exports import ExportSettings, write_export
from grader.regrade import plan_regrade, regrade, render_plan
from tests.regrade.regrade_helpers import edit, grade_like_pipeline


def same(a, b) -> bool:
    """Two results alike but for the time grading took."""
    return {**a.to_dict(), "duration_s": 0} == {**b.to_dict(), "duration_s": 0}


def test_a_changed_threshold_changes_exactly_its_verdicts_and_runs_nothing(graded, assignment_folder):
    subs, out, runner = graded()
    assert sorted(runner.calls) == ["alice", "bob", "carol", "dave", "erin"]
    before = {p.parent.name: json.loads(p.read_text()) for p in out.glob("*/result.json")}
    lowered = edit(assignment_folder, "threshold = 0.99 ", "threshold = 0.98 ")

    plan = plan_regrade(out, lowered)
    assert plan.reruns == ()
    assert [(c.student, c.before, c.after, c.passed_after) for c in plan.changes] == [("bob", 3.0, 5.0, True)]
    assert sorted(c.id for c in plan.changes[0].checks) == ["accuracy_threshold", "stop_message"]
    for entry in plan.entries:  # what a fresh grading under the new threshold gives, from the stored data alone
        assert same(entry.new, grade_like_pipeline(subs / f"{entry.student}.py", lowered)), entry.student

    runner.calls.clear()
    text = io.StringIO()
    outcome = regrade(out, lowered, runner=runner, out=text, progress="none")
    assert runner.calls == [] and outcome.rerun == ()
    assert "bob: 3 → 5 of 5 (+2), now passes [stop_message, accuracy_threshold]" in text.getvalue()
    assert json.loads((out / "bob" / "result.json").read_text())["passed"] is True
    alice = json.loads((out / "alice" / "result.json").read_text())  # the same verdicts, the new requirement
    assert alice["score"] == before["alice"]["score"] and "98.00%" in alice["checks"][3]["required"]
    assert "bob" in (out / "summary.html").read_text()
    again = plan_regrade(out, lowered)  # the same assignment again: nothing left to do
    assert again.changes == () and again.reruns == () and all(e.stored.assignment_sha256 == again.assignment_sha256 for e in again.entries)


def test_the_gradebook_keeps_every_version_and_exports_take_the_latest(graded, assignment_folder):
    _, out, runner = graded()
    first = assignment_sha256(edit(assignment_folder, "# sanity bound", "# sanity bound"))
    lowered = edit(assignment_folder, "threshold = 0.99 ", "threshold = 0.98 ")
    regrade(out, lowered, runner=runner, out=io.StringIO(), progress="none")
    with Gradebook(out / "gradebook.sqlite") as book:
        versions = book.history("mnist-callback", "bob")
        assert [(v.assignment_sha256, v.score, v.passed) for v in versions] == [(first, 3.0, False), (assignment_sha256(lowered), 5.0, True)]
        assert versions[0].graded_at < versions[1].graded_at
        records = book.results("mnist-callback")
    write_export("jsonl", records, out, ExportSettings.for_assignment(lowered))
    rows = {r["student"]: r for r in map(json.loads, (out / "exports" / "results.jsonl").read_text().splitlines())}
    assert rows["bob"]["score"] == 5.0 and rows["bob"]["passed"] is True


def test_a_lowered_epoch_limit_runs_again_exactly_the_run_it_stopped(graded, assignment_folder):
    _, out, runner = graded()
    lowered = edit(assignment_folder, "max_epochs = 10 ", "max_epochs = 8 ")
    plan = plan_regrade(out, lowered)
    assert [(e.student, e.rerun.key) for e in plan.reruns] == [("carol", "stopped")]
    runner.calls.clear()
    outcome = regrade(out, lowered, runner=runner, out=io.StringIO(), progress="none")
    assert runner.calls == ["carol"] and outcome.rerun == ("carol",) and outcome.not_rerun == ()
    carol = json.loads((out / "carol" / "result.json").read_text())
    assert sum(len(f["epochs"]) for f in carol["recording"]["fits"]) == 8  # stopped under the new limit


def test_a_raised_time_limit_runs_again_exactly_the_run_it_stopped(graded, assignment_folder):
    _, out, runner = graded()
    raised = edit(assignment_folder, "timeout_s = 900 ", "timeout_s = 1800 ")
    assert [(e.student, e.rerun.key) for e in plan_regrade(out, raised).reruns] == [("dave", "timeout")]
    runner.calls.clear()
    regrade(out, raised, runner=runner, out=io.StringIO(), progress="none")
    assert runner.calls == ["dave"]
    assert json.loads((out / "dave" / "result.json").read_text())["execution"]["timeout_s"] == 1800.0


def test_a_lowered_time_limit_runs_again_the_runs_that_took_longer(graded, assignment_folder):
    _, out, _ = graded()
    lowered = edit(assignment_folder, "timeout_s = 900 ", "timeout_s = 20 ")  # every run took 30 s
    assert sorted(e.student for e in plan_regrade(out, lowered).reruns) == ["alice", "bob", "carol", "dave"]


def test_a_damaged_result_json_runs_again(graded, assignment_folder):
    _, out, runner = graded()
    (out / "alice" / "result.json").write_text('{"assignment": "mnist-callback", "passed": tr')
    (out / "bob" / "result.json").write_text(json.dumps({**json.loads((out / "bob" / "result.json").read_text()), "passed": "yes"}))
    same_assignment = edit(assignment_folder, "# sanity bound", "# sanity bound")
    plan = plan_regrade(out, same_assignment)
    assert {e.student: e.rerun.key for e in plan.reruns} == {"alice": "unreadable", "bob": "differs"}
    assert all(e.new is not None and not e.changed for e in plan.rejudged)
    assert "broken" in plan.reruns[0].rerun.text("en") or "JSON" in plan.reruns[0].rerun.text("en")
    runner.calls.clear()
    outcome = regrade(out, same_assignment, runner=runner, out=io.StringIO(), progress="none")
    assert sorted(runner.calls) == ["alice", "bob"] and outcome.written == ()
    assert json.loads((out / "alice" / "result.json").read_text())["passed"] is True


def test_a_dry_run_says_what_would_change_and_writes_nothing(graded, assignment_folder):
    _, out, runner = graded()
    files = {p: p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file() and "gradebook" not in p.name}
    lowered = edit(assignment_folder, "threshold = 0.99 ", "threshold = 0.98 ")
    text = io.StringIO()
    outcome = regrade(out, lowered, dry_run=True, runner=runner, out=text, progress="none", lang="zh")
    assert outcome.exit_code == 0 and outcome.written == ()
    assert files == {p: p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file() and "gradebook" not in p.name}
    assert "bob：3 → 5（满分 5，+2），现在通过" in text.getvalue() and "试运行" in text.getvalue()
    assert render_plan(outcome.plan, "en").splitlines()[0] == "regrade: 5 result(s) of mnist-callback: 5 judged again from what was recorded, 0 to run again"
