"""Overhead of grading against running the same notebook bare, measured in one run.

For each reference solution, it alternates `grader grade --full` with a bare `jupyter execute` of
the same notebook (same Python, same offline data, same thread settings) and prints the ratio
grader/bare with its minimum, median and maximum, the ratio of the best times (load from other
work on the machine only ever adds time), the grader's own time and where it went (from
`result.json`'s timings); then the time to a verdict for rule-breaking samples.

    python benchmarks/overhead.py [--runs 3] [--assignment mnist-callback ...]

Targets: ratio ≤ 1.05 on the reference solutions; a verdict within 5 s for a literal rule break.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
from pathlib import Path

from timing import ROOT, timed

STARTUP = """
import numpy as np
def _load_data(path="mnist.npz"):
    with np.load({store!r}) as d:
        return (d["x_train"], d["y_train"]), (d["x_test"], d["y_test"])
import keras, keras.src.datasets.mnist as _m
_m.load_data = keras.datasets.mnist.load_data = _load_data
keras.utils.set_random_seed(0)  # as the grader seeds: both train the same number of epochs
"""
RATIO_TARGET, VERDICT_TARGET_S = 1.05, 5.0
RULE_BREAKERS = [
    ("mnist-callback", "tests/samples/mnist-callback/epochs_30.ipynb"),
    ("mnist-conv", "tests/samples/mnist-conv/two_conv.ipynb"),
]


def bare_env(store: Path, tmp: Path) -> dict[str, str]:
    """An IPython profile whose startup redirects MNIST to the grader's store, as the grader does."""
    startup = tmp / "ipython" / "profile_default" / "startup"
    startup.mkdir(parents=True, exist_ok=True)
    (startup / "00-mnist.py").write_text(STARTUP.format(store=str(store)), encoding="utf-8")
    return {**os.environ, "IPYTHONDIR": str(tmp / "ipython"), "TF_CPP_MIN_LOG_LEVEL": "2", "PYTHONHASHSEED": "0"}


def spread(values: list[float]) -> str:
    return f"min {min(values):.3f}  median {statistics.median(values):.3f}  max {max(values):.3f}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--assignment", action="append", help="default: both MNIST exercises")
    args = parser.parse_args()

    from grader.data.datasets import ensure_mnist

    store = ensure_mnist()
    grader = [sys.executable, "-m", "grader"]
    jupyter = [sys.executable, "-m", "jupyter", "execute", "--inplace"]
    with tempfile.TemporaryDirectory(prefix="grader-bench-") as tmp_name:
        tmp = Path(tmp_name)
        env_bare = bare_env(store, tmp)
        env_grader = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
        for assignment in args.assignment or ["mnist-callback", "mnist-conv"]:
            notebook = ROOT / "reference" / assignment / "solution.ipynb"
            ratios, bare_times, grader_times, timings = [], [], [], []
            for run in range(args.runs):
                copy = tmp / f"bare-{run}.ipynb"
                copy.write_bytes(notebook.read_bytes())
                out = tmp / f"out-{assignment}-{run}"
                commands = {
                    "bare": ([*jupyter, str(copy)], env_bare),
                    "grader": ([*grader, "grade", str(notebook), "-a", assignment, "-o", str(out), "--full"], env_grader),
                }
                order = ["bare", "grader"] if run % 2 == 0 else ["grader", "bare"]  # neither always pays the cold caches
                seconds = {name: timed(*commands[name]) for name in order}
                bare, graded = seconds["bare"], seconds["grader"]
                result = json.loads((out / "result.json").read_text())
                ratios.append(graded / bare)
                bare_times.append(bare)
                grader_times.append(graded)
                timings.append(result["execution"].get("timings", {}))
                print(f"{assignment} run {run + 1}: bare {bare:.1f} s, grader {graded:.1f} s, ratio {graded / bare:.3f}, passed={result['passed']}", flush=True)
            verdict = "met" if statistics.median(ratios) <= RATIO_TARGET else "NOT met"
            print(f"{assignment}: ratio grader/bare  {spread(ratios)}   (bare {spread(bare_times)} s; grader {spread(grader_times)} s); "
                  f"median target ≤ {RATIO_TARGET}: {verdict}")
            best_grader, best_bare = min(grader_times), min(bare_times)
            print(f"  best of {args.runs}: grader {best_grader:.1f} s / bare {best_bare:.1f} s = {best_grader / best_bare:.3f}"
                  " (load on the machine only adds time)")
            shared = ("kernel_start", "setup", "student_cells")  # a bare run does this work too (setup: its TensorFlow import)
            own = [g - sum(t.get(k, 0.0) for k in shared) for g, t in zip(grader_times, timings, strict=True)]
            print(f"  the grader's own time (wall minus kernel start, setup and the student's cells): {spread(own)} s")
            phases = sorted({k for t in timings for k in t})
            if phases:
                print("  where the grader's time went (median s): " + ", ".join(f"{k} {statistics.median(t.get(k, 0.0) for t in timings):.2f}" for k in phases))
        for assignment, sample in RULE_BREAKERS:
            seconds = [timed([*grader, "grade", sample, "-a", assignment, "-o", str(tmp / "rule")], env_grader) for _ in range(args.runs)]
            print(f"time to verdict, {sample}: {spread(seconds)} s; target ≤ {VERDICT_TARGET_S} s: {'met' if max(seconds) <= VERDICT_TARGET_S else 'NOT met'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
