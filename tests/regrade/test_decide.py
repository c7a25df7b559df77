"""What the stored data of a result suffices for (grader/regrade/decide.py): judged again against
the same assignment nothing changes; a damaged, hostile or foreign result is run again, never a
traceback; a changed skeleton is compared again from the submission; where the recorder would
have stopped a run."""

from __future__ import annotations

import json
import os
from dataclasses import replace

import pytest

from grader.batch.keys import assignment_snapshot
from grader.models import EpochRecord, FitRecord, LayerInfo, Recording
from grader.options import Options, resolve
from grader.pipeline import early_stop_limits
from grader.regrade import plan_regrade
from grader.regrade.decide import Now, Previous, decide, first_stop
from grader.regrade.plan import Stored
from tests.regrade.regrade_helpers import CLASS, edit, grade_like_pipeline

KINDS = {**CLASS, "fay": "# kind: mismatch\n", "gus": "# kind: damaged\n", "hal": "# kind: truncated\n"}


def test_judged_again_against_the_same_assignment_every_kind_of_result_stays_as_it_was(graded, assignment_folder):
    _, out, _ = graded(KINDS)
    plan = plan_regrade(out, edit(assignment_folder, "# sanity bound", "# sanity bound"))
    assert plan.reruns == ()
    assert [e.student for e in plan.entries if e.changed] == []


def now_of(assignment, **options):
    return Now(assignment, assignment_snapshot(assignment)["files"], Options(**options), resolve(assignment, Options(**options)))


def stored(result, **kw):
    return Stored(student="ann", folder="ann", result=result, **kw)


def test_what_the_stored_result_cannot_say_is_a_reason_to_run_it_again(tmp_path, assignment_folder):
    a = edit(assignment_folder, "# sanity bound", "# sanity bound")
    (tmp_path / "ann.py").write_text(CLASS["alice"])
    result = grade_like_pipeline(tmp_path / "ann.py", a)
    previous, now = Previous(a, assignment_snapshot(a)["files"]), now_of(a, lang="en")

    def why(r=result, prev=previous, n=now, **kw):
        planned = decide(stored(r, **kw), prev, n)
        return planned.rerun.key if planned.rerun else None

    assert why() is None
    assert why(outcome="crashed") == "crashed"
    assert why(replace(result, grader_version="0.0.1")) == "grader_version"
    assert why(replace(result, assignment="mnist-conv")) == "other_assignment"
    assert why(replace(result, execution=replace(result.execution, sandbox=""))) == "no_record"  # a result of last resort
    assert why(prev=None) == "assignment_unknown"
    assert why(n=now_of(a, lang="zh")) == "language"  # the run's own messages are in English
    assert why(replace(result, evaluation=replace(result.evaluation, heldout_accuracy=None))) == "measurement"  # nothing to judge the bound on
    stricter = edit(assignment_folder, "min_test_accuracy = 0.97 ", "min_test_accuracy = 0.99 ")  # judged on the stored measurement
    planned = decide(stored(result), previous, now_of(stricter, lang="en"))
    assert planned.rerun is None and planned.new.check("test_accuracy").passed is False and result.check("test_accuracy").passed
    edit(assignment_folder, "min_test_accuracy = 0.99 ", "min_test_accuracy = 0.97 ")
    assert decide(stored(result), None, now, assume=True).rerun is None  # a result.json alone: what it cannot show is taken as unchanged
    fashion = edit(assignment_folder, 'dataset = "mnist"', 'dataset = "fashion_mnist"')
    assert why(n=now_of(fashion, lang="en")) == "dataset"
    edit(assignment_folder, 'dataset = "fashion_mnist"', 'dataset = "mnist"')
    fewer = edit(assignment_folder, 'packages = ["tensorflow", "keras", "numpy", "matplotlib"]', 'packages = ["tensorflow", "keras", "numpy"]')
    assert why(n=now_of(fewer, lang="en")) == "packages"
    entry = edit(assignment_folder, 'packages = ["tensorflow", "keras", "numpy"]',
                 'entry = "train_mnist"\npackages = ["tensorflow", "keras", "numpy", "matplotlib"]')
    assert why(n=now_of(entry, lang="en")) == "entry"
    broken = replace(result, recording=replace(result.recording, fits=(replace(result.recording.fits[0], epochs=("not an epoch",)),)))
    assert why(broken) == "unjudgeable"


def test_a_verdict_of_the_precheck_alone_is_run_once_its_rule_no_longer_decides_it(tmp_path, assignment_folder):
    a = edit(assignment_folder, "max_epochs = 10 ", "max_epochs = 10 ")
    path = tmp_path / "ann.py"
    path.write_text("model.fit(x, y, epochs=12, callbacks=[c])\n")
    result = grade_like_pipeline(path, a)
    assert result.execution.status == "not_run"
    source = {"in_gradebook": True, "source": str(path), "content_sha256": __import__("hashlib").sha256(path.read_bytes()).hexdigest()}
    previous = Previous(a, assignment_snapshot(a)["files"])
    assert decide(stored(result, **source), previous, now_of(a, lang="en")).new is not None  # the same rule: the same verdict
    raised = edit(assignment_folder, "max_epochs = 10 ", "max_epochs = 12 ")
    assert decide(stored(result, **source), previous, now_of(raised, lang="en")).rerun.key == "precheck"
    lowered = edit(assignment_folder, "max_epochs = 12 ", "max_epochs = 5 ")
    new = decide(stored(result, **source), previous, now_of(lowered, lang="en")).new  # read again: still certain, the new limit named
    assert new.execution.status == "not_run" and "5" in new.findings[0].message
    path.write_text("changed since")
    assert decide(stored(result, **source), previous, now_of(raised, lang="en")).rerun.key == "precheck_source"


def test_a_changed_skeleton_is_compared_again_from_the_submission(graded, assignment_folder):
    subs, out, _ = graded()
    skeleton = assignment_folder / "skeleton.ipynb"
    notebook = json.loads(skeleton.read_text())
    notebook["cells"].append({"id": "added", "cell_type": "code", "metadata": {}, "execution_count": None, "outputs": [], "source": ["x = 1"]})
    skeleton.write_text(json.dumps(notebook))
    changed = edit(assignment_folder, "# sanity bound", "# sanity bound")
    (subs / "alice.py").unlink()
    plan = plan_regrade(out, changed)
    assert [(e.student, e.rerun.key) for e in plan.reruns] == [("alice", "skeleton_source")]
    assert "no longer at" in plan.reruns[0].rerun.text("en")
    assert all(e.new.check("skeleton_integrity") is not None for e in plan.rejudged)


@pytest.mark.parametrize("attack", ["symlink", "fifo", "deep", "huge_number", "not_utf8", "list", "wrong_types", "missing"])
def test_a_hostile_or_damaged_result_json_is_run_again_never_a_traceback(graded, assignment_folder, tmp_path, attack):
    _, out, _ = graded({"alice": CLASS["alice"], "bob": CLASS["bob"]})
    target = out / "alice" / "result.json"
    good = target.read_text()
    target.unlink()
    if attack == "symlink":
        (tmp_path / "elsewhere.json").write_text(good)
        target.symlink_to(tmp_path / "elsewhere.json")
    elif attack == "fifo":
        os.mkfifo(target)
    elif attack == "deep":
        target.write_text("[" * 100_000 + "]" * 100_000)
    elif attack == "huge_number":
        target.write_text(good.replace('"score": 5.0', '"score": ' + "9" * 5000, 1))
    elif attack == "not_utf8":
        target.write_bytes(b"\xff\xfe" + good.encode())
    elif attack == "list":
        target.write_text("[]")
    elif attack == "wrong_types":
        target.write_text(json.dumps({**json.loads(good), "checks": [{"id": 1}]}))
    plan = plan_regrade(out, edit(assignment_folder, "# sanity bound", "# sanity bound"))
    expected = {"list": "not_a_result", "wrong_types": "differs"}.get(attack, "unreadable")  # differs: not the gradebook's copy
    assert [(e.student, e.rerun.key) for e in plan.reruns] == [("alice", expected)]
    assert plan.reruns[0].rerun.text("zh") and plan.reruns[0].rerun.text("en")


def fits(*runs: tuple[int, int], completed_last: bool = True) -> Recording:
    epoch = EpochRecord(epoch=0, metrics={}, accuracy=0.9, loss=0.1, stop_training=False, printed="", duration_s=1.0)
    made = [FitRecord(epochs_requested=asked, initial_epoch=0, accuracy_metric="accuracy", epochs=(epoch,) * ran, completed=True) for asked, ran in runs]
    return Recording(fits=tuple(made[:-1]) + (replace(made[-1], completed=completed_last),))


def test_where_the_recorder_would_have_stopped_a_run(callback_assignment, conv_assignment):
    limits = early_stop_limits(callback_assignment)  # 10 epochs
    assert first_stop(fits((5, 5)), limits, went_on=False) is None
    assert first_stop(fits((12, 0)), limits, went_on=True) == ("epoch_limit", 0, 0)  # epochs=12 asked: stopped before training
    assert first_stop(fits((6, 6), (6, 4)), limits, went_on=True) == ("epoch_limit", 1, 4)  # the 11th epoch about to begin
    assert first_stop(fits((6, 6), (6, 6)), limits, went_on=False) == ("epoch_limit", 1, 4)  # ran 12: it would have been stopped
    assert first_stop(fits((6, 6), (6, 6)), None, went_on=False) is None  # --full: never stopped
    conv = LayerInfo(name="c", class_name="Conv2D", output_shape="", params=1, kind="conv")
    limits = early_stop_limits(conv_assignment)
    assert first_stop(replace(fits((5, 5)), layers=(conv,) * 3), limits, went_on=False)[0] == "layer_limit"
