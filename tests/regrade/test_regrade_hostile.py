"""Red team of `grader regrade` (issue 15): does a regrade ever trust what the original grading did
not? A student controls only their submission, so at most what it made the sandbox write: the
record (the kernel's recorder runs beside the student's code) and what the evaluation measured of
the exported model. The tests pin what a fresh grading would say of such a result.

Attacks tried, and why they fail:

* **A forged record after a threshold change.** The record is cross-checked against the evaluation
  (`grader.pipeline.record_mismatch`); a regrade computes that check again from the stored
  evaluation (`rejudge.run_errors`), so a record the evaluation contradicts stays a failed
  `record_mismatch` when the threshold it claimed to pass is lowered or the held-out check is
  dropped. When the rule moves to the loss, the loss cross-check the original grading did not need
  is made from the stored `train_loss` (always measured).
* **A damaged record.** The original grading stored an empty record and the "could not be read"
  message (`KEPT` by its template); a lowered threshold cannot make an empty record pass.
* **result.json edited to pass** (score, `passed`, a check) while the gradebook keeps the graded
  copy, or the gradebook's copy edited: they differ, the result is run again (never judged from
  either copy). JSON equality lets `0` equal `false`, but the result read from the file must then
  have a field of the right type (`stored._wrong_field`): `"passed": 0` is not a result.
* **A stop the regrade mis-places.** `decide.first_stop` compares where the recorder would stop
  under the new limits with where it stopped (`stop_point`); any difference, and any run the new
  limits would have stopped, runs again (tests/regrade/test_decide.py). Forging `stopped_by` in the
  record can only force a run, which is an honest grading.
* **A run that needed more than the record** (another data set, packages, entry function, a time
  limit it was stopped by or ran past, a held-out measurement it lacks, a pre-check verdict that no
  longer holds, a changed skeleton): each is a reason to run again (test_decide.py, test_regrade.py).
* **Student text in kept messages.** `rejudge.template_value` keeps an old error only where it is
  exactly the catalogue's message for a damaged record or truncated output; a forged one could at
  most add a message, and messages are not part of any score (`run_checks` reads the record,
  evaluation, execution status, findings and skeleton comparison only).
* **The skeleton comparison.** `decide.integrity_of` recovers it from the stored check by asking
  the check again for each candidate; a changed line the student wrote cannot make a passing
  candidate say what a failing check said (`passed` differs).
* **Writing outside the output folder.** A result is read from and written to
  `GRADES_DIR/<folder>` only when the gradebook's folder is one plain name (`stored.plain_folder`);
  any other is unreadable and runs again through the batch, which makes its own folders.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from dataclasses import replace

import pytest

from grader.batch.keys import assignment_snapshot
from grader.models import ExecutionInfo, FitRecord, Recording
from grader.options import Options, resolve
from grader.pipeline import assemble, record_mismatch
from grader.regrade import plan_regrade
from grader.regrade.decide import Now, Previous, decide
from grader.regrade.plan import Stored
from tests.regrade.regrade_helpers import CLASS, SANDBOX, edit, grade_like_pipeline
from tests.support.recordings import EVALUATED, MESSAGE, epochs

FORGED = {"alice": CLASS["alice"], "fay": "# kind: mismatch\n", "gus": "# kind: damaged\n"}


def same(a, b) -> bool:
    return {**a.to_dict(), "duration_s": 0} == {**b.to_dict(), "duration_s": 0}


def test_a_forged_or_damaged_record_stays_a_failure_whatever_the_thresholds(graded, assignment_folder):
    subs, out, _ = graded(FORGED)
    edit(assignment_folder, "threshold = 0.99 ", "threshold = 0.5 ")
    easier = edit(assignment_folder, "test_accuracy = 1\n", "")  # nothing measured on the held-out images any more
    plan = plan_regrade(out, easier)
    assert plan.reruns == ()
    new = {e.student: e.new for e in plan.entries}
    assert new["fay"].execution.status == "record_mismatch" and not new["fay"].check("execution").passed and not new["fay"].passed
    assert not new["gus"].passed and any("record" in e for e in new["gus"].errors)
    for student, result in new.items():  # exactly what a fresh grading under the easier rules says
        assert same(result, grade_like_pipeline(subs / f"{student}.py", easier)), student


def test_a_recorded_loss_the_model_does_not_reach_is_caught_once_the_rule_is_on_the_loss(tmp_path, assignment_folder):
    before = edit(assignment_folder, "# sanity bound", "# sanity bound")
    (tmp_path / "ann.py").write_text(CLASS["alice"])
    fit = FitRecord(epochs_requested=5, initial_epoch=0, accuracy_metric="accuracy", completed=True,
                    epochs=epochs((0.95, 0.99), {1: f"\n{MESSAGE}\n"}, stop_at=1))
    claimed = Recording(fits=(replace(fit, epochs=tuple(replace(e, loss=0.01) for e in fit.epochs)),))
    measured = replace(EVALUATED, train_accuracy=0.985, train_images=512, train_loss=0.9)  # the accuracy agrees; the loss does not
    info = ExecutionInfo(status="ok", sandbox=SANDBOX, timeout_s=900.0, duration_s=30.0)
    assert record_mismatch(claimed, measured, "en") is None  # under the accuracy rule the loss is not compared
    result = assemble(before, tmp_path / "ann.py", "en", info, claimed, measured, None, [], 0.0)
    assert result.execution.status == "ok"

    toml = assignment_folder / "assignment.toml"
    text = toml.read_text(encoding="utf-8").replace("threshold = 0.99 ", 'metric = "loss"\nthreshold = 0.05 ')
    text = text.replace("accuracy_threshold = 1", "loss_threshold = 1")
    toml.write_text(text, encoding="utf-8")
    on_loss = edit(assignment_folder, "# sanity bound", "# sanity bound")
    now = Now(on_loss, assignment_snapshot(on_loss)["files"], Options(lang="en"), resolve(on_loss, Options(lang="en")))
    source = {"in_gradebook": True, "source": str(tmp_path / "ann.py"), "content_sha256": hashlib.sha256((tmp_path / "ann.py").read_bytes()).hexdigest()}
    planned = decide(Stored("ann", "ann", result, **source), Previous(before, assignment_snapshot(before)["files"]), now)  # type: ignore[arg-type]
    assert planned.new is not None and planned.new.execution.status == "record_mismatch" and not planned.new.passed
    assert planned.new.execution.message == record_mismatch(claimed, measured, "en", loss=True)  # the loss a fresh grading compares
    assert not planned.new.check("execution").passed


def _edit_gradebook(out, student, change):
    db = sqlite3.connect(out / "gradebook.sqlite")
    (text,) = db.execute("SELECT result_json FROM results WHERE student = ?", (student,)).fetchone()
    db.execute("UPDATE results SET result_json = ? WHERE student = ?", (json.dumps(change(json.loads(text))), student))
    db.commit()
    db.close()


def _passing(data):
    return {**data, "passed": True, "score": data["max_score"], "checks": [{**c, "passed": True, "score": c["max_score"]} for c in data["checks"]]}


@pytest.mark.parametrize("where", ["result_json", "gradebook", "both_alike_but_types"])
def test_a_result_edited_to_pass_is_never_judged_from_the_edit(graded, assignment_folder, where):
    _, out, runner = graded({"alice": CLASS["alice"], "fay": "# kind: mismatch\n"})
    target = out / "fay" / "result.json"
    data = json.loads(target.read_text())
    if where == "result_json":
        target.write_text(json.dumps(_passing(data)))
    elif where == "gradebook":
        _edit_gradebook(out, "fay", _passing)
    else:  # 0 == False in Python: the two copies compare equal, the file's field is still not a grading's
        target.write_text(json.dumps({**data, "passed": 0}))
    plan = plan_regrade(out, edit(assignment_folder, "threshold = 0.99 ", "threshold = 0.98 "))
    expected = "not_a_result" if where == "both_alike_but_types" else "differs"
    assert [(e.student, e.rerun.key) for e in plan.reruns] == [("fay", expected)]
    assert not [e for e in plan.rejudged if e.student == "fay"]
