"""The instructor's path: scaffold an assignment (`grader new`) and prove it sound (`grader validate`).

An assignment is data: `assignments/<id>/assignment.toml` and `skeleton.ipynb`, with its reference
solution in `reference/<id>/` and samples meant to fail in `tests/samples/<id>/`, their verdicts in
`tests/samples/expected.toml` (the layout of this repository; `[authoring]` in the TOML may point
elsewhere). `validate` grades them all with the real pipeline:

1. the TOML loads (else a `ConfigError` naming the file and the field);
2. the skeleton is a notebook whose metadata names the assignment, with `YOUR CODE` regions;
3. the skeleton as shipped fails;
4. the reference solution passes every check (the advisory ones too);
5. each sample meant to fail fails, on the check it names (`early`, else every check it lists as
   false), and on that check's own merit, not because the run was cut short.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

import nbformat

from grader.assignment import Assignment, find_assignment
from grader.errors import EXIT_FAILED, EXIT_PASSED, UsageError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

ID_PATTERN = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")
MARKDOWN_MARKER = re.compile(r"^# ?%% \[markdown\].*$")
CELL_MARKER = re.compile(r"^# ?%%.*$")
START, END = "YOUR CODE STARTS HERE", "YOUR CODE ENDS HERE"

Log = Callable[[str], None]


# ---------------------------------------------------------------------------------------------
# Notebooks from plain text


def notebook_from_percent(text: str, assignment_id: str | None = None) -> nbformat.NotebookNode:
    """A notebook from a module in the "percent" format: `# %%` starts a code cell, `# %% [markdown]`
    a markdown cell whose lines are comments (`# ` is removed). `assignment_id` goes into the
    metadata, where `grader grade` finds it when `-a` is left out."""
    cells: list[nbformat.NotebookNode] = []
    kind, lines = "code", []

    def flush() -> None:
        source = "\n".join(lines).strip("\n")
        if not source.strip():
            return
        if kind == "markdown":
            source = "\n".join(line[2:] if line.startswith("# ") else line.lstrip("#") for line in source.splitlines())
            cells.append(nbformat.v4.new_markdown_cell(source))
        else:
            cells.append(nbformat.v4.new_code_cell(source.rstrip()))

    for line in text.splitlines():
        if CELL_MARKER.match(line):
            flush()
            kind, lines = ("markdown" if MARKDOWN_MARKER.match(line) else "code"), []
        else:
            lines.append(line)
    flush()
    metadata: dict[str, Any] = {
        "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
        "language_info": {"name": "python"},
    }
    if assignment_id:
        metadata["grader"] = {"assignment": assignment_id}
    return nbformat.v4.new_notebook(cells=cells, metadata=metadata)


def write_notebook(notebook: nbformat.NotebookNode, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(notebook, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    return path


# ---------------------------------------------------------------------------------------------
# Where an assignment's authoring material lives


@dataclass(frozen=True)
class Layout:
    """The files `validate` reads for one assignment."""

    toml: Path
    skeleton: Path
    reference: Path
    samples: Path
    expected: Path


def layout(assignment: Assignment, reference: Path | None = None, samples: Path | None = None, expected: Path | None = None) -> Layout:
    """The assignment's files: given paths first, then `[authoring]`, then the repository's layout
    (`reference/<id>/`, `tests/samples/<id>/` beside the `assignments/` folder)."""
    root = assignment.folder.resolve().parent.parent
    a = assignment.authoring
    if reference is None:
        reference = a.reference
    if reference is None:
        folder = root / "reference" / assignment.id
        reference = next((p for p in (folder / "solution.ipynb", folder / "solution.py") if p.is_file()), folder / "solution.ipynb")
    samples = samples or a.samples or root / "tests" / "samples" / assignment.id
    expected = expected or a.expected or samples.parent / "expected.toml"
    return Layout(assignment.folder / "assignment.toml", assignment.skeleton_path, Path(reference), Path(samples), Path(expected))


# ---------------------------------------------------------------------------------------------
# validate


@dataclass
class Step:
    name: str
    ok: bool
    detail: str = ""
    seconds: float = 0.0
    skipped: bool = False


@dataclass
class Validation:
    assignment: str
    toml: Path
    steps: list[Step] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def sound(self) -> bool:
        return all(s.ok for s in self.steps)

    def add(self, step: Step, log: Log) -> None:
        self.steps.append(step)
        mark = "–" if step.skipped else "✓" if step.ok else "✗"
        timing = f" ({step.seconds:.0f} s)" if step.seconds >= 1 else ""
        log(f"  {mark} {step.name}{timing}" + (f": {step.detail}" if step.detail else ""))


@dataclass(frozen=True)
class Sample:
    stem: str
    file: Path
    spec: dict[str, Any]

    @property
    def named(self) -> list[str]:
        """The checks this sample is meant to fail on."""
        if self.spec.get("early"):
            return [str(self.spec["early"])]
        return [c for c, passed in self.spec.get("checks", {}).items() if passed is False]

    @property
    def needs_training(self) -> bool:
        """Graded as a student is (early verdicts on), does it have to train on the full data?"""
        return bool(self.spec.get("slow")) and not self.spec.get("early")


def read_samples(lay: Layout, assignment: Assignment) -> tuple[list[Sample], list[str]]:
    """The samples of `assignment` described in the expected file, and problems found on the way."""
    problems: list[str] = []
    if not lay.expected.is_file():
        return [], [f"{lay.expected}: no such file (it describes the samples and their expected verdicts)"]
    try:
        table = tomllib.loads(lay.expected.read_text(encoding="utf-8")).get(assignment.id, {})
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        return [], [f"{lay.expected}: not valid TOML: {exc}"]
    samples = []
    for stem, spec in table.items():
        where = f"{lay.expected}: [{assignment.id}.{stem}]"
        if not isinstance(spec, dict) or not isinstance(spec.get("file"), str) or not isinstance(spec.get("passed"), bool):
            problems.append(f"{where}: needs file = \"...\" and passed = true|false")
            continue
        sample = Sample(stem, lay.samples / spec["file"], spec)
        if not sample.file.is_file():
            problems.append(f"{where}: {sample.file} does not exist")
        unknown = [c for c in [*spec.get("checks", {}), *([spec["early"]] if spec.get("early") else [])] if c not in assignment.points]
        if unknown:
            problems.append(f"{where}: names check(s) {', '.join(sorted(set(unknown)))} that the assignment does not enable")
        elif not spec["passed"] and not sample.named:
            problems.append(f"{where}: a sample meant to fail must name its check: early = \"<check>\" or checks = {{ <check> = false }}")
        samples.append(sample)
    if lay.samples.is_dir():
        described = {s.file.name for s in samples}
        for path in sorted(lay.samples.iterdir()):
            if path.suffix in (".ipynb", ".py") and path.name not in described:
                problems.append(f"{path}: not described in {lay.expected}")
    return samples, problems


def validate(
    name_or_path: str | Path,
    *,
    reference: Path | None = None,
    samples: Path | None = None,
    expected: Path | None = None,
    skip_reference: bool = False,
    quick: bool = False,
    data_dir: Path | None = None,
    log: Log = print,
) -> Validation:
    """Prove an assignment sound (see the module's docstring). `quick` skips the reference and the
    samples that must train on the full data set; a `ConfigError` is raised for an invalid TOML."""
    started = time.monotonic()
    assignment = find_assignment(str(name_or_path))  # raises ConfigError naming the file and the field
    lay = layout(assignment, reference, samples, expected)
    report = Validation(assignment.id, lay.toml)
    log(f"validate {assignment.id} ({lay.toml})")
    points = sum(assignment.points.values())
    report.add(Step("assignment.toml is valid", True, f"{len(assignment.points)} checks, {points:g} points, data set {assignment.dataset}"), log)

    report.add(check_skeleton(assignment, report), log)
    sample_list, problems = read_samples(lay, assignment)
    failing = [s for s in sample_list if not s.spec["passed"]]
    if not failing and not problems:
        problems.append(f"no sample meant to fail: add one to {lay.samples}/ and describe it in {lay.expected} (passed = false)")
    report.add(Step("samples are described", not problems, "; ".join(problems) if problems else f"{len(failing)} meant to fail, {len(sample_list) - len(failing)} meant to pass"), log)

    if assignment.skeleton_path.is_file():
        report.add(grade_step("the skeleton as shipped fails", assignment.skeleton_path, assignment, data_dir, expect_pass=False), log)

    if skip_reference or quick:
        report.add(Step("the reference solution passes", True, "skipped", skipped=True), log)
    elif not lay.reference.is_file():
        report.add(Step("the reference solution passes", False, f"{lay.reference} does not exist (or set [authoring] reference in the TOML)"), log)
    else:
        report.add(grade_step("the reference solution passes", lay.reference, assignment, data_dir, expect_pass=True), log)

    for sample in failing:
        title = f"sample {sample.stem} fails on {', '.join(sample.named) or '?'}"
        if not sample.file.is_file():
            continue  # already reported
        if quick and sample.needs_training:
            report.add(Step(title, True, "skipped (--quick: it trains on the full data set)", skipped=True), log)
            continue
        report.add(grade_step(title, sample.file, assignment, data_dir, expect_pass=False, sample=sample), log)
    report.seconds = round(time.monotonic() - started, 1)
    verdict = "sound" if report.sound else "NOT sound"
    failed = sum(1 for s in report.steps if not s.ok)
    log(f"{assignment.id}: {verdict}" + (f" ({failed} step(s) failed)" if failed else "") + f", {report.seconds:.0f} s")
    return report


def check_skeleton(assignment: Assignment, report: Validation) -> Step:
    """The skeleton is a readable notebook, names its assignment and has `YOUR CODE` regions."""
    path = assignment.skeleton_path
    if not path.is_file():
        return Step("the skeleton is a notebook", False, f"{path} does not exist")
    try:
        notebook = nbformat.read(path, as_version=4)
    except Exception as exc:  # noqa: BLE001 - any unreadable notebook is the finding
        return Step("the skeleton is a notebook", False, f"{path}: cannot be read: {exc}")
    code = [c.source for c in notebook.cells if c.cell_type == "code"]
    if not code:
        return Step("the skeleton is a notebook", False, f"{path}: has no code cell")
    named = notebook.metadata.get("grader", {}).get("assignment") if isinstance(notebook.metadata.get("grader"), dict) else None
    if named is not None and named != assignment.id:
        return Step("the skeleton is a notebook", False, f"{path}: its metadata names assignment '{named}', not '{assignment.id}'")
    if named is None:
        report.warnings.append(f"{path}: no metadata grader.assignment = '{assignment.id}': students will need `-a {assignment.id}`")
    regions = sum(source.count(START) for source in code)
    if regions != sum(source.count(END) for source in code):
        return Step("the skeleton is a notebook", False, f"{path}: unbalanced '# {START}' / '# {END}' markers")
    if assignment.integrity != "off" and regions == 0:
        return Step("the skeleton is a notebook", False, f"{path}: no '# {START}' region, but skeleton_integrity is '{assignment.integrity}' (set it to \"off\" or mark the regions)")
    detail = f"{len(code)} code cells, {regions} YOUR CODE region(s)" + ("" if named else "; warning: no grader.assignment metadata")
    return Step("the skeleton is a notebook", True, detail)


def grade_step(title: str, path: Path, assignment: Assignment, data_dir: Path | None, *, expect_pass: bool, sample: Sample | None = None) -> Step:
    """Grade `path` as a student's submission is graded and hold it to what is expected of it."""
    from grader import pipeline

    spec = sample.spec if sample else {}
    options = pipeline.Options(lang="en", data_dir=data_dir, entry=spec.get("entry"), timeout_s=spec.get("timeout_s"))
    started = time.monotonic()
    result = pipeline.grade(path, assignment, options)
    seconds = round(time.monotonic() - started, 1)
    failed = {c.id: c for c in result.checks if not c.passed}
    if expect_pass:
        if failed:
            why = "; ".join(f"{c.id}: {c.message}" for c in failed.values())
            return Step(title, False, f"{path.name} fails {why}", seconds)
        return Step(title, True, f"{path.name}, every check passed", seconds)
    if result.passed:
        return Step(title, False, f"{path.name} passed every blocking check; it must fail", seconds)
    if sample is None:
        return Step(title, True, f"fails {', '.join(failed) or '—'}", seconds)
    missing = [c for c in sample.named if c not in failed]
    if missing:
        return Step(title, False, f"{path.name} passes {', '.join(missing)}; it must fail there (failed: {', '.join(failed) or 'none'})", seconds)
    unmerited = [c for c in sample.named if not evaluated(c, result)]
    if unmerited:
        return Step(title, False, f"{path.name}: {', '.join(unmerited)} failed only because the run stopped early ({result.execution.message})", seconds)
    how = " (early verdict)" if result.execution.status in ("not_run", "stopped") else ""
    return Step(title, True, f"{failed[sample.named[0]].message}{how}", seconds)


def evaluated(check_id: str, result: Any) -> bool:
    """Whether a failed check was really evaluated, not failed only because grading stopped early."""
    status = result.execution.status
    if status == "not_run":
        return check_id == "skeleton_integrity" or any(f.certain and f.check == check_id for f in result.findings)
    if status == "stopped":
        return check_id in (result.recording.stopped_by, "execution", "skeleton_integrity")
    return True


# ---------------------------------------------------------------------------------------------
# new


def scaffold(assignment_id: str, root: Path = Path("."), *, title: str | None = None, dataset: str = "mnist", log: Log = print) -> list[Path]:
    """Create a complete, sound assignment to edit: its TOML (every field, commented), skeleton,
    reference solution, two samples meant to fail and their entries in the expected file."""
    if not ID_PATTERN.match(assignment_id):
        raise UsageError(f"'{assignment_id}' is not a valid assignment id: lower-case letters, digits and single hyphens, starting with a letter (e.g. my-exercise)")
    if dataset not in ("mnist", "fashion_mnist"):
        raise UsageError(f"unknown data set '{dataset}' (known: mnist, fashion_mnist)")
    root = Path(root)
    folder = root / "assignments" / assignment_id
    reference = root / "reference" / assignment_id
    samples = root / "tests" / "samples" / assignment_id
    expected = root / "tests" / "samples" / "expected.toml"
    for existing in (folder, reference, samples):
        if existing.exists():
            raise UsageError(f"{existing} already exists; choose another id or remove it")
    if expected.is_file() and assignment_id in tomllib.loads(expected.read_text(encoding="utf-8")):
        raise UsageError(f"{expected} already describes samples of '{assignment_id}'")
    fashion = dataset == "fashion_mnist"
    pct, threshold, minimum = ("85", "0.85", "0.80") if fashion else ("99", "0.99", "0.97")  # what a dense network reaches in 2 / 5 epochs
    values = {
        "__ID__": assignment_id,
        "__TITLE__": title or f"{assignment_id}: stop training with a callback at {pct}% accuracy",
        "__DATASET__": dataset,
        "__LOADER__": dataset,
        "__DATA_TITLE__": "Fashion-MNIST" if fashion else "MNIST",
        "__PCT__": pct,
        "__THRESHOLD__": threshold,
        "__MIN_TEST__": minimum,
        "__MIN_TEST_PCT__": f"{float(minimum) * 100:g}%",
        "__SUBSET_TEST__": "" if fashion else ", test_accuracy = false",  # 8,192 Fashion images may reach the bound
    }

    def fill(text: str) -> str:
        for key, value in values.items():
            text = text.replace(key, value)
        return text

    written = [folder / "assignment.toml"]
    folder.mkdir(parents=True)
    written[0].write_text(fill(TEMPLATE_TOML), encoding="utf-8")
    written.append(write_notebook(notebook_from_percent(fill(TEMPLATE_SKELETON), assignment_id), folder / "skeleton.ipynb"))
    reference.mkdir(parents=True)
    (reference / "solution.py").write_text(fill(TEMPLATE_SOLUTION), encoding="utf-8")
    written += [reference / "solution.py", write_notebook(notebook_from_percent(fill(TEMPLATE_SOLUTION), assignment_id), reference / "solution.ipynb")]
    for stem, text in TEMPLATE_SAMPLES.items():
        written.append(write_notebook(notebook_from_percent(fill(text), assignment_id), samples / f"{stem}.ipynb"))
    expected.parent.mkdir(parents=True, exist_ok=True)
    before = expected.read_text(encoding="utf-8") if expected.is_file() else EXPECTED_HEADER
    expected.write_text(before.rstrip("\n") + "\n" + fill(TEMPLATE_EXPECTED), encoding="utf-8")
    written.append(expected)
    log(f"created assignment '{assignment_id}':")
    for path in written:
        log(f"  {path}")
    log(f"next: edit {folder / 'assignment.toml'} and the notebooks, then run `grader validate {folder}` (see docs/authoring.md)")
    return written


EXPECTED_HEADER = """# Expected grading outcomes of the sample submissions in this folder (read by `grader validate`
# and tests/test_samples.py). One table per sample: [<assignment-id>.<file stem>] with
#   file, passed, checks (each check's outcome with --full), slow, early (optional), entry
#   (optional), why. See docs/authoring.md.
"""

TEMPLATE_TOML = '''# __TITLE__
# Every field is described in docs/authoring.md; `grader validate` checks this file and the notebooks.
id = "__ID__"                       # must equal the folder name
title = "__TITLE__"
title_zh = ""                       # optional: the title in Chinese
dataset = "__DATASET__"                  # mnist | fashion_mnist: what keras.datasets.<name>.load_data() returns when graded
default_lang = "en"                 # en | zh: language of the feedback unless --lang says otherwise
timeout_s = 900                     # wall-clock limit for the whole submission, seconds
skeleton_integrity = "warn"         # off | warn | enforce: code outside YOUR CODE regions must be kept
# entry = "train_mnist"             # optional: a function the grader calls if the cells trained nothing

[training]
max_epochs = 10                     # every fit's `epochs`, and the epochs run in all, at most this
metric = "accuracy"                 # accuracy (must go above threshold) | loss (must go below it)
threshold = __THRESHOLD__                    # strictly above (accuracy) or below (loss)
stop_messages = ["Reached __PCT__% accuracy so cancelling training!"]  # any one of these, exactly

# [limits]                          # at most this many layers (check layer_limit)
# max_conv = 1
# max_pool = 1
# max_dense = 2

# [structure]                       # exactly this model (check model_structure)
# model_class = "MyModel"           # the trained model's class name
# conv = 2
# pool = 2
# dense = 3

[evaluation]
min_test_accuracy = __MIN_TEST__            # measured by the grader on the 10,000 test images

[checks]                            # the checks that run, in report order, with their points
execution = 1
epoch_limit = 1
stop_message = 1
accuracy_threshold = 1
test_accuracy = 1
skeleton_integrity = 0

# [authoring]                       # only for `grader validate`; paths relative to this file
# reference = "../../reference/__ID__/solution.ipynb"
# samples = "../../tests/samples/__ID__"
# expected = "../../tests/samples/expected.toml"
'''

_COMMON = '''# %%
import tensorflow as tf

print(tf.__version__)

# %%
data = tf.keras.datasets.__LOADER__

(x_train, y_train), (x_test, y_test) = data.load_data()
'''

TEMPLATE_SKELETON = '''# %% [markdown]
# # __TITLE__
#
# Train a classifier on __DATA_TITLE__ (60,000 training and 10,000 test images of 28×28 pixels, 10 classes).
# Write a callback that stops training once the training accuracy goes **above** __PCT__%, printing exactly
# `Reached __PCT__% accuracy so cancelling training!` in that epoch. Train for at most 10 epochs.
# The grader also tests your model on the 10,000 test images: at least __MIN_TEST_PCT__.
#
# Write code only between `# YOUR CODE STARTS HERE` and `# YOUR CODE ENDS HERE`.

''' + _COMMON + '''
# %%
# Scale the pixel values to 0–1
# YOUR CODE STARTS HERE
x_train = None  # replace None
x_test = None  # replace None
# YOUR CODE ENDS HERE

# %%
class myCallback(tf.keras.callbacks.Callback):
    # YOUR CODE STARTS HERE
    pass
    # YOUR CODE ENDS HERE


callbacks = myCallback()

# %%
# YOUR CODE STARTS HERE
model = None  # replace None
# YOUR CODE ENDS HERE

# %%
# YOUR CODE STARTS HERE
pass
# YOUR CODE ENDS HERE

# %%
# YOUR CODE STARTS HERE
history = None  # replace None
# YOUR CODE ENDS HERE
'''

_SOLUTION_BODY = '''
# %%
# Scale the pixel values to 0–1
# YOUR CODE STARTS HERE
x_train = x_train__SUBSET__ / 255.0
y_train = y_train__SUBSET__
x_test = x_test / 255.0
# YOUR CODE ENDS HERE

# %%
class myCallback(tf.keras.callbacks.Callback):
    # YOUR CODE STARTS HERE
    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        if logs.get('accuracy', 0) > __THRESHOLD__:
            print("\\nReached __PCT__% accuracy so cancelling training!")
            self.model.stop_training = True
    # YOUR CODE ENDS HERE


callbacks = myCallback()

# %%
# YOUR CODE STARTS HERE
model = tf.keras.models.Sequential([
    tf.keras.Input(shape=(28, 28)),
    tf.keras.layers.Flatten(),
    tf.keras.layers.Dense(512, activation='relu'),
    tf.keras.layers.Dense(10, activation='softmax'),
])
# YOUR CODE ENDS HERE

# %%
# YOUR CODE STARTS HERE
model.compile(optimizer='adam', loss='sparse_categorical_crossentropy', metrics=['accuracy'])
# YOUR CODE ENDS HERE

# %%
# YOUR CODE STARTS HERE
history = model.fit(x_train, y_train, epochs=__EPOCHS____CALLBACKS__)
# YOUR CODE ENDS HERE
'''


def _solution(subset: str = "", epochs: str = "10", callbacks: str = ", callbacks=[callbacks]", note: str = "") -> str:
    body = _SOLUTION_BODY.replace("__SUBSET__", subset).replace("__EPOCHS__", epochs).replace("__CALLBACKS__", callbacks)
    return (f"# %% [markdown]\n# {note}\n\n" if note else "") + _COMMON + body


TEMPLATE_SOLUTION = _solution()
TEMPLATE_SAMPLES = {
    "epochs_over": _solution("[:8192]", "30", note="Meant to fail epoch_limit: fit(epochs=30). Trains on 8,192 images to stay cheap."),
    "no_callback": _solution("[:8192]", "3", "", note="Meant to fail stop_message: no callback is passed to fit. Trains on 8,192 images to stay cheap."),
}
TEMPLATE_EXPECTED = '''
# ---------------------------------------------------------------------------------------------
# __ID__ (scaffolded by `grader new`: replace these samples with your own)

[__ID__.epochs_over]
file = "epochs_over.ipynb"
passed = false
checks = { epoch_limit = false__SUBSET_TEST__ }
slow = false
early = "epoch_limit"
why = "fit(epochs=30) breaks the 10-epoch limit: the static pre-check gives the verdict without running. Trains on 8,192 images to stay cheap."

[__ID__.no_callback]
file = "no_callback.ipynb"
passed = false
checks = { epoch_limit = true, stop_message = false__SUBSET_TEST__ }
slow = false
early = "stop_message"
why = "No callback is passed to fit, so nothing stops training at the threshold (a certain static finding). Trains 3 epochs on 8,192 images."
'''


# ---------------------------------------------------------------------------------------------
# The command line


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add `grader new` and `grader validate`."""
    new = sub.add_parser("new", help="scaffold a new assignment (TOML, skeleton, reference, samples)", description="Create assignments/ID, reference/ID and tests/samples/ID under --root: a complete assignment to edit. See docs/authoring.md.")
    new.add_argument("id", help="the new assignment's id: lower-case letters, digits and hyphens (e.g. my-exercise)")
    new.add_argument("--root", type=Path, default=Path("."), help="the folder holding assignments/, reference/ and tests/samples/ (default: the current folder)")
    new.add_argument("--title", help="the assignment's title")
    new.add_argument("--dataset", choices=["mnist", "fashion_mnist"], default="mnist", help="the data set (default: mnist)")
    new.set_defaults(run=cmd_new)

    check = sub.add_parser("validate", help="prove an assignment sound: reference passes, samples and skeleton fail", description="Validate an assignment: its TOML, its skeleton, its reference solution (graded: must pass) and its samples meant to fail (graded: each must fail on the check it names).")
    check.add_argument("assignment", help="assignment id or path to its folder or assignment.toml")
    check.add_argument("--reference", type=Path, help="the reference solution (default: [authoring] reference, else reference/<id>/solution.ipynb)")
    check.add_argument("--samples", type=Path, help="the folder of samples (default: [authoring] samples, else tests/samples/<id>)")
    check.add_argument("--expected", type=Path, help="the file describing the samples (default: expected.toml beside the samples folder)")
    check.add_argument("--skip-reference", action="store_true", help="do not grade the reference solution")
    check.add_argument("--quick", action="store_true", help="no real training: skip the reference and the samples that train on the full data set")
    check.add_argument("--data-dir", type=Path, help="data set folder (default: $GRADER_DATA_DIR or ~/.cache/grader/datasets)")
    check.set_defaults(run=cmd_validate)


def cmd_new(args: argparse.Namespace) -> int:
    scaffold(args.id, args.root, title=args.title, dataset=args.dataset)
    return EXIT_PASSED


def cmd_validate(args: argparse.Namespace) -> int:
    report = validate(
        args.assignment,
        reference=args.reference,
        samples=args.samples,
        expected=args.expected,
        skip_reference=args.skip_reference,
        quick=args.quick,
        data_dir=args.data_dir,
    )
    for warning in report.warnings:
        print(f"warning: {warning}")
    return EXIT_PASSED if report.sound else EXIT_FAILED


def main(argv: Sequence[str] | None = None) -> int:  # pragma: no cover - `python -m grader.authoring`
    from grader.cli import main as cli_main

    return cli_main(["validate", *(argv if argv is not None else sys.argv[1:])])
