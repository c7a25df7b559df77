"""Batch grading against the sum of bare gradings of the same submissions.

It grades N copies of one submission (each under its own student name) three ways, and prints the
wall-clock times and their ratios:

* bare: each submission graded alone in a fresh Python process with the library API (`grade()`,
  then `result.json`, as `grader grade` does), one after another: the sum of their times;
* `grader batch --jobs 1`, and `grader batch --jobs 2` (and any other `--jobs` asked), each into a
  fresh output folder, so that everything is graded.

    python benchmarks/batch.py [--workload tiny|reference] [-n 8] [--jobs 1,2] [--rounds R] [--json out.json]

Workloads: `tiny` (default) is tests/batch_fixtures/class/alice.py, a real grading that trains a
small model on 500 images for one epoch (seconds); `reference` is the assignment's reference
solution, trained on the full data set (minutes). A ratio of `--jobs 1` near 1.0 means the batch
machinery costs nothing; below 1.0 with more jobs is the speed-up of parallel grading. The time
`grade()` itself reported is printed beside each, so that a busy machine's noise can be told apart
from the batch's own cost.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

from timing import ROOT, timed

WORKLOADS = {
    "tiny": ROOT / "tests" / "batch_fixtures" / "class" / "alice.py",
    "reference": ROOT / "reference" / "{assignment}" / "solution.ipynb",
}


BARE = """
import sys
from pathlib import Path
from grader import Options, find_assignment, grade
from grader.report.outputs import write_json
timeout = float(sys.argv[4]) if len(sys.argv) > 4 else None
result = grade(Path(sys.argv[1]), find_assignment(sys.argv[2]), Options(lang="en", timeout_s=timeout))
write_json(result, Path(sys.argv[3]))
"""


def graded_seconds(folder: Path) -> float:
    """The time grade() itself reported, summed over the results in `folder` (machine noise shows here too)."""
    return sum(json.loads(p.read_text())["duration_s"] for p in folder.glob("*/result.json"))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workload", choices=sorted(WORKLOADS), default="tiny")
    parser.add_argument("-a", "--assignment", default="mnist-callback")
    parser.add_argument("-n", type=int, default=8, help="submissions in the batch (default: 8)")
    parser.add_argument("--jobs", default="1,2", help="comma-separated --jobs values to time (default: 1,2)")
    parser.add_argument("--timeout", type=float, default=None, help="--timeout for every grading")
    parser.add_argument("--rounds", type=int, default=1, help="repeat bare + batches this many times (a busy machine is noisy)")
    parser.add_argument("--json", type=Path, help="also write the measurements to this file")
    args = parser.parse_args()

    from grader.batch.machine import default_jobs, usable_cores
    from grader.data.datasets import ensure_mnist

    store = ensure_mnist()
    source = Path(str(WORKLOADS[args.workload]).format(assignment=args.assignment))
    if not source.is_file():
        sys.exit(f"no such submission: {source}")
    env = {**os.environ, "GRADER_DATA_DIR": str(store.parent), "TF_CPP_MIN_LOG_LEVEL": "2"}
    grader = [sys.executable, "-m", "grader"]
    common = ["-a", args.assignment, "--lang", "en", *(["--timeout", f"{args.timeout:g}"] if args.timeout else [])]
    jobs = [int(j) for j in args.jobs.split(",") if j.strip()]
    print(f"workload {args.workload}: {args.n} copies of {source.relative_to(ROOT)} ({args.assignment}); "
          f"{usable_cores()} cores, default --jobs here {default_jobs()}", flush=True)
    measured: dict = {"workload": args.workload, "n": args.n, "cores": usable_cores(), "rounds": []}
    with tempfile.TemporaryDirectory(prefix="grader-batch-bench-") as tmp_name:
        tmp = Path(tmp_name)
        subs = tmp / "class"
        subs.mkdir()
        for i in range(args.n):
            shutil.copy(source, subs / f"student{i:02d}{source.suffix}")
        for round_ in range(args.rounds):
            bare = []
            for path in sorted(subs.iterdir()):
                cmd = [sys.executable, "-c", BARE, str(path), args.assignment, str(tmp / f"bare{round_}" / path.stem),
                       *([f"{args.timeout:g}"] if args.timeout else [])]
                bare.append(timed(cmd, env))
            bare_sum = sum(bare)
            inside = graded_seconds(tmp / f"bare{round_}")
            print(f"round {round_ + 1}: bare runs (grade() in a fresh process, one after another): sum {bare_sum:.1f} s "
                  f"({bare_sum / len(bare):.1f} s each; grade() itself {inside:.1f} s in all)", flush=True)
            this = {"bare_s": bare, "bare_sum_s": bare_sum, "bare_grade_s": inside, "batch": {}}
            for j in jobs:
                out = tmp / f"batch{round_}-j{j}"
                seconds = timed([*grader, "batch", str(subs), *common, "-o", str(out), "--jobs", str(j), "--progress", "none", "--no-summary"], env)
                graded = len(list(out.glob("*/result.json")))
                if graded != args.n:
                    sys.exit(f"--jobs {j}: {graded} results, expected {args.n}")
                inside_batch = graded_seconds(out)
                this["batch"][j] = {"s": seconds, "ratio": seconds / bare_sum, "grade_s": inside_batch}
                print(f"  batch --jobs {j}: {seconds:.1f} s   ratio to the bare sum {seconds / bare_sum:.3f}   (speed-up {bare_sum / seconds:.2f}x;"
                      f" grade() itself {inside_batch:.1f} s in all)", flush=True)
            measured["rounds"].append(this)
    if args.rounds > 1:
        for j in jobs:
            ratios = [r["batch"][j]["ratio"] for r in measured["rounds"]]
            print(f"batch --jobs {j}: ratio to the bare sum, median of {len(ratios)} rounds {statistics.median(ratios):.3f} "
                  f"(min {min(ratios):.3f}, max {max(ratios):.3f})")
    if args.json:
        args.json.write_text(json.dumps(measured, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
