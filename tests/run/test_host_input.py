"""The host trusts nothing the sandbox (or the student's file) produced: notebooks, records, folders
and kernel messages are hostile input. Each becomes a failed result with a clear, localised message
and exit 1, `result.json` is always written, and the grading folder never outlives the grading.

Fast tests build small fixtures; the attacks in tests/hostile/ are graded for real in
test_host_input_attacks.py.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import jsonschema
import nbformat
import pytest

from grader import pipeline
from grader.cli.main import main
from grader.i18n import t
from grader.last_resort import encodable, last_resort_result
from grader.models import ExecutionInfo, GradeResult, Metrics, Recording
from grader.pipeline import Options, grade, read_record
from grader.report.outputs import write_outputs
from grader.run.evaluate import unsafe_tree
from grader.run.execute import RunSpec
from grader.run.kernel_client import CappedClient, _well_formed, message_size
from grader.run.record import RecordError, parse_recording, read_recording
from grader.run.submission import InvalidSubmission, load_submission
from grader.sandbox.output import TreeTooLarge, directory_size, grading_folder, remove_tree, walk_tree
from grader.untrusted import MAX_DEPTH, HostileInput, clean, depth_exceeds, load_json, read_regular_file, safe_text
from tests.support.repository import ROOT, SCHEMA

FLAGS = os.O_RDONLY | os.O_DIRECTORY
pytestmark = pytest.mark.usefixtures("remove_deep_trees")


def deep_tree(top: Path, levels: int, name: str = "d" * 8) -> None:
    """`levels` nested folders under `top`, made by file descriptor: paths longer than PATH_MAX."""
    top.mkdir(parents=True, exist_ok=True)
    fd = os.open(top, FLAGS)
    for _ in range(levels):
        os.mkdir(name, dir_fd=fd)
        inner = os.open(name, FLAGS, dir_fd=fd)
        os.close(fd)
        fd = inner
    os.close(os.open("bottom.txt", os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=fd))
    os.close(fd)


# -- JSON, text and files ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("[" * 100_000 + "]" * 100_000, "json.too_deep"),
        ("[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1), "json.too_deep"),
        ('{"n": ' + "9" * 5000 + "}", "json.huge_number"),
        ('{"n": -' + "9" * 101 + "}", "json.huge_number"),
        ("{", "json.broken"),
    ],
)
def test_hostile_json_is_refused_with_a_reason(text, key):
    with pytest.raises(HostileInput) as exc:
        load_json(text)
    assert exc.value.key == key
    assert exc.value.localised("zh") != exc.value.localised("en")


def test_json_within_bounds_is_read_and_made_safe():
    data = load_json('{"a\\udcff": ["x\\ud800", 1, ' + "9" * 100 + ', 1.5, null]}')
    assert data == {"a\ufffd": ["x\ufffd", 1, int("9" * 100), 1.5, None]}
    json.dumps(data).encode("utf-8")


def test_depth_and_cleaning_need_no_recursion():
    deep: list = []
    for _ in range(200_000):
        deep = [deep, "\udcff"]
    assert depth_exceeds(deep, 64) and not depth_exceeds([[1]], 2)
    cleaned = clean({"k": deep})
    assert cleaned["k"][1] == "\ufffd"
    assert safe_text("ok ✓") == "ok ✓" and safe_text("a\udcffb") == "a\ufffdb"


def test_only_regular_files_are_read(tmp_path):
    fifo, link, big = tmp_path / "fifo", tmp_path / "link", tmp_path / "big"
    os.mkfifo(fifo)  # a reader would block forever
    link.symlink_to("/etc/hostname")
    big.write_bytes(b"x" * 2048)
    cases = [(fifo, "file.not_regular"), (link, "file.symlink"), (big, "file.too_large"), (tmp_path / "none", "file.missing"), (tmp_path, "file.not_regular")]
    for path, key in cases:
        with pytest.raises(HostileInput) as exc:
            read_regular_file(path, 1024)
        assert exc.value.key == key, path
    assert read_regular_file(big, 4096) == b"x" * 2048


# -- the submitted file -----------------------------------------------------------------------


def test_a_fifo_or_a_link_is_an_invalid_submission(tmp_path):
    fifo = tmp_path / "a.ipynb"
    os.mkfifo(fifo)
    with pytest.raises(InvalidSubmission, match="not a regular file"):
        load_submission(fifo)
    (tmp_path / "b.py").symlink_to(ROOT / "reference" / "mnist-callback" / "solution.py")
    with pytest.raises(InvalidSubmission, match="symbolic link"):
        load_submission(tmp_path / "b.py")


def test_surrogates_in_a_notebook_are_replaced(tmp_path):
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("print('x')")], metadata={"grader": {"assignment": "mnist-callback"}})
    text = nbformat.writes(nb).replace("print('x')", "print('\\udcff\\ud800')")
    (tmp_path / "s.ipynb").write_text(text)
    sub = load_submission(tmp_path / "s.ipynb")
    assert sub.code_cells[0].source == "print('\ufffd\ufffd')"


def test_invalid_submission_messages_are_localised():
    exc = InvalidSubmission("submission.invalid_notebook", detail=HostileInput("json.too_deep", limit=64))
    assert exc.localised("en") == "not a valid notebook: its JSON is nested more than 64 levels deep" == str(exc)
    assert exc.localised("zh") == "不是有效的笔记本：其 JSON 嵌套超过 64 层"


# -- the kernel's record ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "match"),
    [
        (b'{"fits": [{"epochs_requested": ' + b"9" * 5000 + b"}]}", "more than 100 digits"),
        (b'{"fits": [], "input_transform": {"shape": ' + b"[" * 100_000 + b"]" * 100_000 + b"}}", "nested more than 12 levels"),
        (b'{"input_transform": {"shape": "28x28"}}', "input_transform.shape is not a list"),
        (b'{"versions": {"python": [1, 2]}}', "a text field has another type"),
        (b"\xff{}", "not valid JSON"),
    ],
)
def test_hostile_records_are_damaged_not_crashes(tmp_path, text, match):
    (tmp_path / "record.json").write_bytes(text)
    with pytest.raises(RecordError, match=match):
        read_recording(tmp_path / "record.json")


def test_a_record_that_is_not_a_regular_file_is_damaged(tmp_path):
    os.mkfifo(tmp_path / "record.json")
    with pytest.raises(RecordError, match="not a regular file"):
        read_recording(tmp_path / "record.json")
    spec = RunSpec(workdir=tmp_path, rundir=tmp_path, mnist_path=tmp_path / "m.npz", timeout_s=1)
    recording, message = read_record(spec, "zh")
    assert recording == Recording() and message == t("zh", "input.record.damaged", reason=t("zh", "input.record.not_regular"))


def test_record_text_is_made_safe_and_the_transform_kept_to_its_fields():
    record = {
        "fits": [{"epochs_requested": 1, "epochs": [{"epoch": 0, "metrics": {"acc\udcff": 0.5}, "printed": "hi\udcff"}]}],
        "input_transform": {"known": True, "exact": 1, "shape": [28, 28], "scale": 0.5, "offset": 0, "rows": 64, "payload": "x" * 100},
        "model_class": "M\ud800",
    }
    rec = parse_recording(record)
    assert rec.all_epochs[0].printed == "hi\ufffd" and rec.all_epochs[0].metrics == {"acc\ufffd": 0.5}
    assert rec.model_class == "M\ufffd"
    assert rec.input_transform == {"known": True, "exact": False, "scale": 0.5, "offset": 0.0, "shape": [28, 28], "rows": 64}


# -- folders ----------------------------------------------------------------------------------


def test_a_tree_deeper_than_path_max_is_removed(tmp_path):
    deep_tree(tmp_path / "top", 1500)  # 13,500 characters of path
    (tmp_path / "outside").write_text("keep")
    (tmp_path / "top" / "link").symlink_to(tmp_path / "outside")
    os.chmod(tmp_path / "top" / ("d" * 8), 0)
    assert remove_tree(tmp_path / "top")
    assert not (tmp_path / "top").exists() and (tmp_path / "outside").read_text() == "keep"
    assert remove_tree(tmp_path / "never-was")


def test_a_wide_tree_is_removed_in_linear_time(tmp_path):
    for i in range(3000):
        (tmp_path / "wide" / f"d{i}").mkdir(parents=True)
    assert remove_tree(tmp_path / "wide") and not (tmp_path / "wide").exists()


def test_walks_are_bounded_and_see_past_path_max(tmp_path):
    top = tmp_path / "t"
    deep_tree(top, 100, name="n" * 60)  # 6,100 characters of path: within the depth limit
    found = [names for names, _ in walk_tree(top)]
    assert len(found) == 101 and found[-1][-1] == "bottom.txt" and len(found[-1]) == 101
    assert 0 < directory_size(top) < 1 << 40
    with pytest.raises(TreeTooLarge):
        list(walk_tree(top, max_depth=50))
    assert directory_size(top, max_depth=50) == 1 << 62
    assert directory_size(top, max_entries=10) == 1 << 62


def test_the_model_folder_walk_is_iterative_and_bounded(tmp_path):
    deep_tree(tmp_path / "model", 1100)
    assert "too large to read" in unsafe_tree(tmp_path / "model")
    (tmp_path / "m2").mkdir()
    os.mkfifo(tmp_path / "m2" / "pipe")
    assert "special file (pipe)" in unsafe_tree(tmp_path / "m2")
    assert unsafe_tree(tmp_path / "missing") is None


def test_the_grading_folder_goes_however_deep_its_tree(tmp_path, monkeypatch):
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))
    with grading_folder() as folder:
        assert folder.parent == tmp_path and folder.name.startswith("grader-")
        deep_tree(folder / "run" / "model", 1100)
    assert list(tmp_path.iterdir()) == []


# -- kernel messages --------------------------------------------------------------------------


def message(msg_type: str, content: dict, buffers: list | None = None) -> dict:
    return {"msg_type": msg_type, "header": {"msg_type": msg_type}, "parent_header": {"msg_id": "p"}, "metadata": {}, "content": content,
            "buffers": buffers or []}


def running_client(nb: nbformat.NotebookNode, max_chars: int) -> CappedClient:
    """A client in the state nbclient puts it in while a cell runs (no kernel needed)."""
    client = CappedClient(nb, max_chars=max_chars)
    client.reset_execution_trackers()
    client.clear_before_next_output = False
    return client


def test_every_message_counts_against_the_cap():
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x")])
    client = running_client(nb, 10_000)
    cell = nb.cells[0]
    error = message("error", {"ename": "E", "evalue": "x" * 3000, "traceback": ["y" * 3000]})
    for _ in range(10):
        client.process_message(error, cell, 0)
    assert client.truncated and len(cell.outputs) == 1
    assert message_size(message("display_data", {"data": {"a": "x" * 100}}, [b"z" * 5000]), 10**6) > 5000


def test_malformed_messages_are_dropped_not_raised():
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x")])
    client = running_client(nb, 10**6)
    for msg in (message("status", {}), message("stream", {"name": 5}), message("error", {"traceback": 7}), message("display_data", {"data": [1]})):
        client.process_message(msg, nb.cells[0], 0)
    assert client.truncated and nb.cells[0].outputs == []
    client.truncated = False
    client.process_message(message("stream", {"name": "stdout", "text": "fine"}), nb.cells[0], 0)
    assert nb.cells[0].outputs[0].text == "fine" and not client.truncated
    assert _well_formed(message("stream", {"name": "stdout", "text": "x"}))
    assert not any(_well_formed(m) for m in (None, [], {**message("s", {}), "content": []}, {**message("s", {}), "parent_header": "x"}))


# -- results that are always written ----------------------------------------------------------


def test_a_result_full_of_surrogates_is_written(tmp_path, callback_assignment):
    bad = "\udcff\ud800"
    result = GradeResult(
        assignment="mnist-callback", submission=f"a{bad}.py", passed=False, score=0, max_score=5, checks=(), metrics=Metrics(),
        errors=(f"error {bad}",), duration_s=1, execution=ExecutionInfo(status="error", message=bad, traceback=bad),
        recording=parse_recording({"fits": [], "versions": {"k": "v"}}),
    )
    written = write_outputs(result, callback_assignment, tmp_path)
    data = json.loads((tmp_path / "result.json").read_text(encoding="utf-8"))
    assert data["errors"] == ["error \ufffd\ufffd"] and len(written) == 2
    assert encodable(result).execution.message == "\ufffd\ufffd"


def test_a_fault_while_grading_gives_a_failed_result(tmp_path, callback_assignment, monkeypatch):
    def boom(path):
        raise RecursionError("maximum recursion depth exceeded")

    monkeypatch.setattr(pipeline, "load_submission", boom)
    (tmp_path / "a.py").write_text("x = 1")
    result = grade(tmp_path / "a.py", callback_assignment, Options(lang="zh"))
    assert not result.passed and result.execution.status == "error"
    assert result.errors == (t("zh", "input.fallback.message", reason="RecursionError: maximum recursion depth exceeded"),)
    assert [c.id for c in result.checks] == list(callback_assignment.points)
    assert main(["grade", str(tmp_path / "a.py"), "-a", "mnist-callback", "-o", str(tmp_path / "out")]) == 1
    jsonschema.validate(json.loads((tmp_path / "out" / "result.json").read_text()), SCHEMA)


def test_a_fault_outside_grading_still_writes_result_json(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(pipeline, "grade", lambda *a: 1 / 0)
    (tmp_path / "a.py").write_text("x = 1")
    assert main(["grade", str(tmp_path / "a.py"), "-a", "mnist-callback", "-o", str(tmp_path / "out"), "--lang", "en"]) == 3
    data = json.loads((tmp_path / "out" / "result.json").read_text())
    jsonschema.validate(data, SCHEMA)
    assert data["passed"] is False and "ZeroDivisionError" in data["errors"][0]
    assert "internal error: ZeroDivisionError" in capsys.readouterr().err


def test_the_last_resort_needs_only_the_assignment(callback_assignment):
    class Unprintable(Exception):
        def __str__(self) -> str:
            raise ValueError("no")

    result = last_resort_result(callback_assignment, "x\udcff.py", "en", Unprintable())
    assert result.execution.exception == "Unprintable" and result.submission == "x\ufffd.py"
    assert result.max_score == sum(callback_assignment.points.values()) and result.score == 0
