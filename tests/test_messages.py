"""Every string a student or instructor reads comes from the catalogues, in both languages.

The catalogues hold the same keys with the same placeholders; the modules that build a result hold
no English sentence of their own (an AST scan, with a short allow-list of what is not a message);
and the messages that used to be English whatever the result's language now follow it."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from grader.i18n import LANGS, catalogue, t

ROOT = Path(__file__).resolve().parents[1]

# The modules that build a GradeResult or render it: a sentence in them would reach a student.
RESULT_MODULES = (
    "grader/pipeline.py",
    "grader/last_resort.py",
    "grader/run/verdicts.py",
    "grader/run/execute.py",
    "grader/run/evaluate.py",
    "grader/run/record.py",
    "grader/run/submission.py",
    "grader/rules/*.py",
    "grader/untrusted.py",
    "grader/report/*.py",
    "grader/exports/junit.py",
    "grader/exports/gradescope.py",
    "grader/exports/summary.py",
    "grader/batch/results.py",
    "grader/batch/local.py",
    "grader/batch/worker.py",
    "grader/batch/autograder.py",
)
# Strings that look like sentences but are not messages: what the grader matches or marks.
ALLOWED = {
    "grader/run/verdicts.py": {
        "can't start new thread",  # CPython's RuntimeError when no thread can be made (no errno)
        r"^(WARNING: All log messages before absl|[IWE]\d{4} \d\d:\d\d:\d\d|\[IPKernelApp\])",  # the kernel's log noise
    },
    "grader/rules/execution.py": {r"^ModuleNotFoundError: No module named '([A-Za-z_][\w.]{0,199})'"},  # CPython's words
    "grader/rules/integrity.py": {"YOUR CODE STARTS HERE", "YOUR CODE ENDS HERE"},  # the skeleton's markers
    "grader/report/html.py": {"unknown language {} (known: {})"},  # a programming error, raised to the caller
    "grader/exports/gradescope.py": {"visibility must be one of {}"},  # a bad setting, raised to the command line
    "grader/batch/local.py": {"unsafe assignment file name {}"},  # a fault of the job, not of the submission
}
SENTENCE = re.compile(r"[A-Za-z][a-z']+(?: [A-Za-z][a-z']+){2,}")  # three words in a row
LOG_METHODS = {"debug", "info", "warning", "error", "exception", "critical"}


def _docstrings(tree: ast.AST) -> set[int]:
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                found.add(id(first.value))
    return found


def _log_messages(tree: ast.AST) -> set[int]:
    """The first argument of `log.error(...)` and the like: the operator's log, not a message."""
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in LOG_METHODS and node.args:
            found.update(id(n) for n in ast.walk(node.args[0]))
    return found


def _is_code(text: str) -> bool:
    """Python source the grader sends to the kernel (its hidden cells) is not a message."""
    try:
        ast.parse(text.replace("{}", "x"))
    except SyntaxError:
        return False
    return "\n" in text or text.startswith(("import ", "from "))


def sentences(path: Path) -> list[tuple[int, str]]:
    """(line, text) of every string literal of `path` that reads like an English sentence;
    an f-string counts as its literal parts joined, with `{}` for each value."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skip = _docstrings(tree) | _log_messages(tree)
    found = []
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.JoinedStr):
            text = "".join(v.value if isinstance(v, ast.Constant) else "{}" for v in node.values)
            skip.update(id(v) for v in node.values)
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            text = node.value
        else:
            continue
        if SENTENCE.search(text) and not _is_code(text):
            found.append((node.lineno, text))
    return found


def result_modules() -> list[Path]:
    return sorted(p for pattern in RESULT_MODULES for p in ROOT.glob(pattern))


@pytest.mark.parametrize("path", result_modules(), ids=lambda p: str(p.relative_to(ROOT)))
def test_no_english_sentence_is_hard_coded_where_results_are_built(path):
    allowed = ALLOWED.get(str(path.relative_to(ROOT)), set())
    found = [(line, text) for line, text in sentences(path) if text not in allowed]
    assert not found, f"{path.relative_to(ROOT)}: put these in grader/locales/{{en,zh}}/*.toml and use grader.i18n.t: {found}"


def test_the_scan_finds_a_sentence_and_leaves_code_logs_and_docstrings_alone(tmp_path):
    module = tmp_path / "m.py"
    module.write_text(
        '"""A docstring says what it likes."""\n'
        "import logging\n"
        "log = logging.getLogger()\n"
        "def f(limit):\n"
        '    """So does this one, at length."""\n'
        '    log.error("grading %s failed inside the grader", limit)\n'
        '    cell = "from grader.inside.setup import finish as f\\nf()"\n'
        '    key = "run.verdict.timeout"\n'
        '    return f"Your code took longer than {limit} seconds."\n',
        encoding="utf-8",
    )
    assert sentences(module) == [(9, "Your code took longer than {} seconds.")]


def test_the_catalogues_hold_the_same_keys_with_the_same_placeholders():
    en = catalogue("en")
    for lang in LANGS:
        other = catalogue(lang)
        assert set(other) == set(en), set(other) ^ set(en)
        for key, text in en.items():
            assert set(re.findall(r"\{(\w+)\}", other[key])) == set(re.findall(r"\{(\w+)\}", text)), (lang, key)


# -- messages that follow the result's language ----------------------------------------------


def test_a_stopped_runs_message_is_the_results_language_not_the_kernels(callback_assignment):
    from grader.models import Evaluation, ExecutionInfo, FitRecord, Recording
    from grader.pipeline import assemble

    info = ExecutionInfo(status="stopped", message="fit was called with epochs=30; the limit is 10", cell=7)
    recording = Recording(fits=(FitRecord(epochs_requested=30, initial_epoch=0, accuracy_metric=None),), stopped_by="epoch_limit")
    result = assemble(callback_assignment, Path("s.ipynb"), "zh", info, recording, Evaluation(), None, [], 0.0)
    assert result.execution.message == result.errors[0] and "由于已经违反规则" in result.execution.message


def test_the_evaluations_failures_follow_the_results_language(tmp_path):
    from grader.run.evaluate import _error, unsafe_tree

    assert _error({}, ("EagerPyFunc", "ReadFile"), "en") == "disallowed operations in the model's graph: EagerPyFunc, ReadFile"
    assert _error({}, ("EagerPyFunc",), "zh") == t("zh", "run.evaluation.disallowed_ops", ops="EagerPyFunc")
    assert _error({"error": "truncated", "error_key": "images"}, (), "zh") == t("zh", "run.evaluation.images", reason="truncated")
    assert _error({"error": "ValueError: bad shape"}, (), "zh") == "ValueError: bad shape"  # the exception's own words
    (tmp_path / "model").symlink_to(tmp_path)
    assert unsafe_tree(tmp_path / "model") == "the exported model folder is a symbolic link"
    assert unsafe_tree(tmp_path / "model", "zh") == t("zh", "run.evaluation.model_symlink")


def test_a_damaged_record_is_described_in_the_results_language():
    from grader.run.record import RecordError, parse_recording

    with pytest.raises(RecordError) as caught:
        parse_recording({"input_transform": {"shape": "28x28"}})
    assert caught.value.localised("en") == "input_transform.shape is not a list of at most 8"
    assert caught.value.localised("zh") == "input_transform.shape 不是最多含 8 项的列表"


def test_a_changed_skeleton_line_is_named_in_the_results_language(callback_assignment):
    from grader.models import Evaluation, ExecutionInfo, Recording
    from grader.rules.checks import Measured, run_checks

    for lang in LANGS:
        measured = Measured(callback_assignment, Recording(), Evaluation(), ExecutionInfo(status="ok"), (False, "x = 1"), lang, ())
        check = next(c for c in run_checks(measured) if c.id == "skeleton_integrity")
        assert check.measured == t(lang, "checks.skeleton_integrity.changed", line="x = 1")


def test_junit_labels_follow_each_results_language(callback_assignment):
    from grader.exports import ExportSettings, SimpleEntry
    from grader.exports.junit import render
    from tests.support.results import result

    failed = {"stop_message": False, "skeleton_integrity": False}
    students = (("ann", "zh"), ("bob", "en"))
    entries = [SimpleEntry(name, name, result(callback_assignment, failed, lang=lang), {}, "2026-01-02T03:04:05+00:00") for name, lang in students]
    xml = render(entries, ExportSettings.for_assignment(callback_assignment, lang="en"))
    assert "要求：stop_message required" in xml and "仅供参考：skeleton_integrity failed" in xml
    assert "required: stop_message required" in xml and "advisory: skeleton_integrity failed" in xml


@pytest.mark.parametrize(("kind", "key", "values"), [
    ("stopped", "crash_stopped", {}),
    ("result_too_large", "crash_result_too_large", {"limit": "64"}),
    ("unreadable_error", "crash_unreadable_error", {}),
    ("wrong_assignment", "crash_wrong_assignment", {"assignment": "64"}),
])
def test_a_crashed_grading_says_how_in_the_results_language(callback_assignment, kind, key, values):
    from grader.batch.results import crash_result

    for lang in LANGS:
        result = crash_result(callback_assignment, "a.py", lang, {"kind": kind, "message": "64"})
        assert result.errors == (t(lang, f"summary.batch.{key}", **values),)


def test_a_result_for_another_assignment_is_a_crash_named_by_kind(callback_assignment):
    from grader.batch.results import result_of_outcome
    from tests.support.results import result

    other = result(callback_assignment, {}).to_dict() | {"assignment": "mnist-conv"}
    crashed, was_crash = result_of_outcome(callback_assignment, "a.py", "zh", {"outcome": "graded", "result": other})
    assert was_crash and crashed.errors == (t("zh", "summary.batch.crash_wrong_assignment", assignment="mnist-conv"),)
