"""`grader validate`: prove an assignment sound.

An assignment is data: `assignments/<id>/assignment.toml` and `skeleton.ipynb`, with its reference
solution in `reference/<id>/` and samples meant to fail in `tests/samples/<id>/`, their verdicts in
`tests/samples/expected.toml` (the layout of this repository; `[authoring]` in the TOML may point
elsewhere). `validate` grades them all with the real pipeline:

1. the TOML loads (else a `ConfigError` naming the file and the field);
2. the skeleton is a notebook whose metadata names the assignment, with `YOUR CODE` regions;
   each of the assignment's `packages` imports in the grading kernel, in the sandbox (and
   matplotlib, where listed, shows a figure);
3. the skeleton as shipped fails;
4. the reference solution passes every check (the advisory ones too);
5. each sample meant to fail fails, on the check it names (`early`, else every check it lists as
   false), and on that check's own merit, not because the run was cut short.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nbformat

from grader.assignment import Assignment, find_assignment
from grader.common.files import TomlError, load_toml

START, END = "YOUR CODE STARTS HERE", "YOUR CODE ENDS HERE"

Log = Callable[[str], None]


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
# The report and its steps


@dataclass
class Step:
    """One step of a validation and how it went."""

    name: str
    ok: bool
    detail: str = ""
    seconds: float = 0.0
    skipped: bool = False


@dataclass
class Validation:
    """What `validate` found: its steps in order, warnings that do not make it unsound, and its duration."""

    assignment: str
    toml: Path
    steps: list[Step] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def sound(self) -> bool:
        """Whether every step went well."""
        return all(s.ok for s in self.steps)

    def add(self, step: Step, log: Log) -> None:
        """Record `step` and log it as one line."""
        self.steps.append(step)
        mark = "–" if step.skipped else "✓" if step.ok else "✗"
        timing = f" ({step.seconds:.0f} s)" if step.seconds >= 1 else ""
        log(f"  {mark} {step.name}{timing}" + (f": {step.detail}" if step.detail else ""))


@dataclass(frozen=True)
class Sample:
    """A sample submission described in the expected file: its stem, its file and its table there."""

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
        table = load_toml(lay.expected).get(assignment.id, {})
    except TomlError as exc:
        return [], [str(exc)]
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


# ---------------------------------------------------------------------------------------------
# validate


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
    counts = f"{len(failing)} meant to fail, {len(sample_list) - len(failing)} meant to pass"
    report.add(Step("samples are described", not problems, "; ".join(problems) if problems else counts), log)

    report.add(packages_step(assignment, data_dir), log)

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
        return Step("the skeleton is a notebook", False,
                    f"{path}: no '# {START}' region, but skeleton_integrity is '{assignment.integrity}' (set it to \"off\" or mark the regions)")
    detail = f"{len(code)} code cells, {regions} YOUR CODE region(s)" + ("" if named else "; warning: no grader.assignment metadata")
    return Step("the skeleton is a notebook", True, detail)


def packages_step(assignment: Assignment, data_dir: Path | None) -> Step:
    """Each of the assignment's `packages` imports in a grading kernel, sandboxed as a student's is,
    and matplotlib (where listed) shows its figure: a probe module graded by the real pipeline."""
    import tempfile

    from grader import pipeline
    from grader.rules.checks import missing_module

    title = "the packages import in the sandbox"
    lines = [f"import {name}" for name in assignment.packages]
    if "matplotlib" in assignment.packages:
        lines += ["import matplotlib.pyplot as plt", "plt.plot([0, 1], [0, 1])", "plt.show()"]
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="grader-probe-") as folder:
        probe = Path(folder) / "packages_probe.py"
        probe.write_text("\n".join(lines) + "\n", encoding="utf-8")
        result = pipeline.grade(probe, assignment, pipeline.Options(lang="en", data_dir=data_dir, full=True))
    seconds = round(time.monotonic() - started, 1)
    module = missing_module(result.execution)
    if module:
        return Step(title, False, f"{module} is listed in packages but does not import in the sandbox: "
                                  "install it in the grader's Python (pip install ...)", seconds)
    if result.execution.status != "ok":
        return Step(title, False, result.errors[0] if result.errors else result.execution.message, seconds)
    if "matplotlib" in assignment.packages and not result.execution.figures:
        return Step(title, False, "matplotlib imported, but the figure plt.show() displayed did not come back", seconds)
    return Step(title, True, ", ".join(assignment.packages), seconds)


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
