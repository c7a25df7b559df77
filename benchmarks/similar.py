"""`grader similar` on a synthetic class: how long comparing N notebooks takes (the goal: 500 in
under a minute on 2 cores).

The class is built without grading: each student fills the mnist-callback skeleton with a mix of
independently written answers (tests/similar/answers.py), some exploration code of their own and
the outputs a real run leaves in a notebook (a training log and a figure); a few students copy
another's answers with their names changed, and a few reuse another's recorded training. The
gradebook's results carry a recorded training for each.

    python benchmarks/similar.py [-n 500] [--copies 10] [--reused 5] [--keep DIR] [--json out.json]

Prints the seconds to build the report (reading every notebook, fingerprinting, pairing), to
write the page and CSV, and whether every planted pair was found.
"""

from __future__ import annotations

import argparse
import base64
import json
import random
import re
import shutil
import sys
import tempfile
import time
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from grader.similar import find_similar  # noqa: E402
from grader.similar.page import write_similarity  # noqa: E402
from tests.similar.answers import HONEST, ORIGINAL, REUSER, TRAINED  # noqa: E402
from tests.similar.similar_fixtures import fill, make_batch, training, write_notebook  # noqa: E402

VARIANTS = [*HONEST.values(), ORIGINAL, TRAINED, REUSER]
RENAMES = ("epoch", "logs", "current", "acc", "value", "hidden", "inputs", "outputs", "scale", "units", "reached", "done", "accuracy")
CALLS = ("np.mean", "np.sum", "np.max", "np.argmax", "len", "abs", "round", "np.sqrt", "tf.reduce_mean", "float")
METHODS = ("reshape", "astype", "argmax", "sum", "mean", "max", "min", "tolist", "copy", "flatten")
OPS = ("+", "-", "*", "/", "//", "%", "**")
LOG_LINE = "1875/1875 ━━━━━━━━━━━━━━━━━━━━ 6s 3ms/step - accuracy: 0.{a:04d} - loss: 0.{b:04d}\n"
FIGURE = base64.b64encode(bytes(random.Random(0).getrandbits(8) for _ in range(24_000))).decode()


def expression(rng: random.Random, names: list[str], depth: int = 0) -> str:
    """A random expression over the student's names, numbers, calls and methods."""
    kind = rng.randrange(6 if depth < 3 else 2)
    if kind == 0:
        return rng.choice(names)
    if kind == 1:
        return str(rng.choice((rng.randrange(100), round(rng.random(), 3))))
    if kind == 2:
        return f"{rng.choice(CALLS)}({expression(rng, names, depth + 1)})"
    if kind == 3:
        return f"({expression(rng, names, depth + 1)} {rng.choice(OPS)} {expression(rng, names, depth + 1)})"
    if kind == 4:
        return f"{rng.choice(names)}[{expression(rng, names, depth + 1)}]"
    return f"{rng.choice(names)}.{rng.choice(METHODS)}({expression(rng, names, depth + 1) if rng.random() < 0.5 else ''})"


def exploration(rng: random.Random, lines: int) -> str:
    """Code of the student's own: statements drawn at random (every student's differs)."""
    names = ["x_train", "y_train", "x_test", "y_test"]
    out: list[str] = []
    while len(out) < lines:
        kind = rng.randrange(5)
        if kind < 2 or len(names) < 6:
            name = f"{rng.choice(('v', 'tmp', 'part', 'stat', 'probe'))}{rng.randrange(100)}"
            out.append(f"{name} = {expression(rng, names)}")
            names.append(name)
        elif kind == 2:
            out.append(f"print({expression(rng, names)}, {expression(rng, names)})")
        elif kind == 3:
            var = rng.choice("ijk")
            out += [f"for {var} in range({rng.randrange(2, 20)}):", f"    {rng.choice(names[4:])} = {expression(rng, names + [var])}"]
        else:
            out += [f"if {expression(rng, names)} > {expression(rng, names)}:", f"    print({expression(rng, names)})"]
    return "\n".join(out)


def student_answers(rng: random.Random) -> tuple[str, ...]:
    """Each region from a variant drawn at random, with the student's own names, and code of their own."""
    names = {old: f"{old}_{rng.randrange(100)}" for old in rng.sample(RENAMES, 4)}
    regions = []
    for region in range(5):
        text = rng.choice(VARIANTS)[region]
        for old, new in names.items():
            text = re.sub(rf"\b{old}\b(?!\s*=\s*[^=])", new, text) if region else text
        regions.append(text)
    regions[4] = regions[4] + "\n\n" + exploration(rng, rng.randrange(10, 30))
    return tuple(regions)


def renamed(answers: tuple[str, ...], rng: random.Random) -> tuple[str, ...]:
    """A copy: the same answers with other names and other numbers."""
    out = []
    for text in answers:
        text = re.sub(r"\b(epoch|logs|current|acc|value|hidden|inputs|outputs|scale|(?:v|tmp|part|stat|probe)\d+)\b", lambda m: m.group(1) + "_x", text)
        text = re.sub(r"\b(512|256|128|64)\b", lambda m: str(int(m.group(1)) // 2), text)
        out.append(text)
    return tuple(out)


def with_outputs(notebook, rng: random.Random):
    """What a real run leaves: a training log and a figure (the grader clears them; reading them costs)."""
    log = "".join(LOG_LINE.format(a=rng.randrange(9000, 9999), b=rng.randrange(100, 3000)) for _ in range(10))
    for cell in notebook.cells:
        if cell.cell_type == "code":
            cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=log)]
    last = [c for c in notebook.cells if c.cell_type == "code"][-1]
    last.outputs.append(nbformat.v4.new_output("display_data", data={"image/png": FIGURE, "text/plain": "<Figure>"}))
    return notebook


def build(folder: Path, n: int, copies: int, reused: int, seed: int = 0) -> tuple[Path, set[tuple[str, str]]]:
    rng = random.Random(seed)
    answers = {f"s{i:04d}": student_answers(rng) for i in range(n)}
    students = sorted(answers)
    planted: set[tuple[str, str]] = set()
    for source, copier in zip(students[: copies], students[copies: 2 * copies], strict=False):
        answers[copier] = renamed(answers[source], rng)
        planted.add((source, copier))
    curves = {s: training(1000 + i) for i, s in enumerate(students)}
    for source, reuser in zip(students[2 * copies: 2 * copies + reused], students[2 * copies + reused: 2 * copies + 2 * reused], strict=False):
        curves[reuser] = curves[source]
        planted.add((source, reuser))
    submissions = {s: (write_notebook(with_outputs(fill(answers[s]), rng), folder / "submissions" / f"{s}.ipynb"), curves[s]) for s in students}
    return make_batch(folder / "graded", submissions), planted


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-n", type=int, default=500, help="students (default: 500)")
    parser.add_argument("--copies", type=int, default=10, help="students who copy another's code (default: 10)")
    parser.add_argument("--reused", type=int, default=5, help="students who reuse another's training (default: 5)")
    parser.add_argument("--keep", type=Path, help="build the class in this folder and keep it")
    parser.add_argument("--json", type=Path, help="write the timings here")
    args = parser.parse_args()
    folder = args.keep or Path(tempfile.mkdtemp(prefix="grader-similar-bench-"))
    try:
        started = time.perf_counter()
        graded, planted = build(folder, args.n, args.copies, args.reused)
        built = time.perf_counter() - started
        started = time.perf_counter()
        report = find_similar(graded)
        found_s = time.perf_counter() - started
        started = time.perf_counter()
        write_similarity(report, graded)
        written_s = time.perf_counter() - started
    finally:
        if not args.keep:
            shutil.rmtree(folder, ignore_errors=True)
    flagged = {(p.a, p.b) for p in report.flagged}
    missed = sorted(planted - flagged)
    extra = len(flagged - planted)
    print(f"class of {args.n} built in {built:.1f} s (not timed below)")
    print(f"find_similar: {found_s:.1f} s; page and CSV: {written_s:.1f} s; total {found_s + written_s:.1f} s")
    print(f"planted pairs found: {len(planted) - len(missed)}/{len(planted)}" + (f" (missed: {missed[:5]})" if missed else "")
          + f"; other pairs flagged: {extra}; common code: fingerprints in more than {report.common_limit} submissions")
    if args.json:
        args.json.write_text(json.dumps({"n": args.n, "find_s": found_s, "write_s": written_s, "planted": len(planted), "missed": len(missed),
                                         "other_flagged": extra}, indent=2))
    return 0 if not missed else 1


if __name__ == "__main__":
    sys.exit(main())
