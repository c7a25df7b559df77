"""grader regrade on a class of N synthetic stored results, with nothing to run again.

It builds a batch output folder the way `grader batch` does (`run_batch`: gradebook, result.json,
report.html, summary.html) from N results assembled by the pipeline's own `assemble` out of
realistic records (ten epochs of Keras progress bars, the callback's message, a dense model, an
evaluation), without a kernel; then it lowers the assignment's threshold and times:

* the plan (`--dry-run`): reading and checking every result.json and the gradebook, judging each again;
* the regrade: the same, then committing every result as a new version and writing the reports
  and summary.html of those whose verdicts changed;
* a second regrade against the same assignment, which has nothing left to do.

Any attempt to run a submission stops the benchmark: none may be needed.

    python benchmarks/regrade.py [-n 200] [--json out.json]
"""

from __future__ import annotations

import argparse
import io
import json
import random
import shutil
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from timing import ROOT

MESSAGE = "Reached 99% accuracy so cancelling training!"


def progress_text(epoch: int, accuracy: float, loss: float, steps: int = 1875) -> str:
    """One epoch of Keras 3 output as a terminal shows it, and the callback's line where it stops."""
    return f"Epoch {epoch}/10\n{steps}/{steps} ━━━━━━━━━━━━━━━━━━━━ 6s 3ms/step - accuracy: {accuracy:.4f} - loss: {loss:.4f}\n"


def synthetic_result(index: int, path: Path, assignment: Any, lang: str) -> Any:
    """A stored result shaped like a real one: a record of up to ten epochs (accuracies drawn per
    student, so that a changed threshold changes some verdicts), a dense model, an evaluation."""
    from grader.models import EpochRecord, Evaluation, ExecutionInfo, FitRecord, LayerInfo, Recording
    from grader.pipeline import assemble

    rng = random.Random(index)
    final = rng.uniform(0.975, 0.998)
    accuracies = [round(final - 0.06 / (e + 1), 4) for e in range(10)]
    stop = next((i for i, a in enumerate(accuracies) if a > 0.99), len(accuracies) - 1)
    epochs = tuple(
        EpochRecord(epoch=i, metrics={"accuracy": a, "loss": round(1 - a, 4)}, accuracy=a, loss=round(1 - a, 4), stop_training=i == stop,
                    printed=(f"\n{MESSAGE}\n" if i == stop and a > 0.99 else ""), duration_s=6.1, terminal=progress_text(i + 1, a, 1 - a), steps=1875)
        for i, a in enumerate(accuracies[: stop + 1])
    )
    shapes = (("flatten", "Flatten", "(None, 784)", 0), ("dense", "Dense", "(None, 128)", 100480), ("dense_1", "Dense", "(None, 10)", 1290))
    layers = tuple(LayerInfo(name=n, class_name=c, output_shape=s, params=p, kind="other") for n, c, s, p in shapes)
    fit = FitRecord(epochs_requested=10, initial_epoch=0, accuracy_metric="accuracy", epochs=epochs, completed=True, steps_per_epoch=1875)
    recording = Recording(fits=(fit,),
                          layers=layers, model_class="Sequential", versions={"tensorflow": "2.21.0", "keras": "3.15.1"}, optimizer_steps=1875 * len(epochs))
    evaluation = Evaluation(test_accuracy=final - 0.01, test_images=10000, heldout_accuracy=final - 0.012, heldout_images=5000,
                            train_accuracy=final - 0.002, train_loss=round(1.02 - final, 4), train_images=2048, duration_s=3.1)
    info = ExecutionInfo(status="ok", duration_s=70.0, timeout_s=float(assignment.timeout_s), sandbox="bubblewrap (benchmark)",
                         timings={"kernel_start": 2.0, "student_cells": 66.0, "evaluation": 3.1})
    return replace(assemble(assignment, path, lang, info, recording, evaluation, (True, ""), [], 0.0), duration_s=75.0)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-n", type=int, default=200, help="students in the class (default: 200)")
    parser.add_argument("--json", type=Path, help="also write the measurements to this file")
    args = parser.parse_args()

    import grader.data.datasets
    from grader.assignment import load_assignment
    from grader.batch.run import BatchSettings, run_batch
    from grader.options import Options
    from grader.regrade import plan_regrade, regrade

    grader.data.datasets.ensure_dataset = lambda *a, **k: Path("/nonexistent")  # type: ignore[assignment]  # nothing is graded for real

    def build(job: Any, **_: Any) -> dict[str, Any]:
        assignment = load_assignment(Path(job.assignment_ref))
        result = synthetic_result(int(job.student[-3:]), Path(job.path), assignment, job.options.get("lang") or "en")
        return {"student": job.student, "key": job.key, "outcome": "graded", "result": result.to_dict(),
                "kind": "", "message": "", "log_tail": "", "wall_s": 0.0}

    def refuse(job: Any, **_: Any) -> dict[str, Any]:
        sys.exit(f"the regrade ran {job.student}: nothing should need a run")

    with tempfile.TemporaryDirectory(prefix="grader-regrade-bench-") as tmp_name:
        tmp = Path(tmp_name)
        folder = tmp / "assignments" / "mnist-callback"
        shutil.copytree(ROOT / "assignments" / "mnist-callback", folder)
        subs = tmp / "class"
        subs.mkdir()
        for i in range(args.n):
            (subs / f"student{i:03d}.py").write_text(f"# student {i}\nimport tensorflow as tf\n")
        started = time.perf_counter()
        run_batch([subs], load_assignment(folder), Options(lang="en"), BatchSettings(outdir=tmp / "grades", progress="none"), runner=build, out=io.StringIO())
        print(f"{args.n} stored results written in {time.perf_counter() - started:.1f} s (not part of the measure)", flush=True)
        toml = folder / "assignment.toml"
        toml.write_text(toml.read_text().replace("threshold = 0.99 ", "threshold = 0.985 "))
        changed = load_assignment(folder)

        started = time.perf_counter()
        plan = plan_regrade(tmp / "grades", changed)
        plan_s = time.perf_counter() - started
        started = time.perf_counter()
        outcome = regrade(tmp / "grades", changed, runner=refuse, out=io.StringIO(), progress="none")
        regrade_s = time.perf_counter() - started
        started = time.perf_counter()
        again = regrade(tmp / "grades", changed, runner=refuse, out=io.StringIO(), progress="none")
        again_s = time.perf_counter() - started
    if plan.reruns or outcome.rerun or again.written:
        sys.exit("the regrade was expected to run nothing, and to leave nothing for a second one")
    measured = {"n": args.n, "changed": len(plan.changes), "plan_s": round(plan_s, 3), "regrade_s": round(regrade_s, 3), "again_s": round(again_s, 3)}
    print(f"threshold 0.99 → 0.985: {len(plan.changes)} of {args.n} scores change, nothing runs again")
    print(f"  plan (--dry-run):  {plan_s:.2f} s")
    rewritten = sum(1 for e in plan.rejudged if e.changed)
    print(f"  regrade:           {regrade_s:.2f} s  ({len(outcome.written)} versions committed; {rewritten} result.json and report.html"
          " written again (their scores, or only the requirement they state, changed) and summary.html)")
    print(f"  regrade again:     {again_s:.2f} s  (nothing left to do)")
    if args.json:
        args.json.write_text(json.dumps(measured, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
