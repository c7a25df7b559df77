"""Exports: each format validated against what its consumer reads (the rules, as validators, are
in export_validators.py).

* Canvas: the rules of Canvas' gradebook importer (app/models/gradebook_importer.rb in
  instructure/canvas-lms): header "Student, ID, [SIS User ID,] SIS Login ID, [...,] Section",
  assignment columns "Title" or "Title (id)", an optional "Points Possible" row, students found by
  ID, SIS ids or name, scores as numbers with '.' decimals (or blank / "EX").
* Moodle: the rules of the CSV grade import (grade/import/csv/classes/load_data.php in
  moodle/moodle): a header row, an identity column mapped to username / email / ID number, grades
  that parse as numbers (or '-' / blank for none) within gradepointmax (100 by default).
* Gradescope: the fields and values of the autograder results specification
  (gradescope/autograder_samples docs/specs.md and gradescope-autograders.readthedocs.io/specs).
* JUnit: the structure of the Ant/Jenkins JUnit XML schema (testsuites/testsuite/testcase).
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from grader.batch.gradebook import Gradebook
from grader.batch.results import crash_result
from grader.cli.main import main
from grader.errors import EXIT_PASSED, EXIT_USAGE
from grader.exports import FORMATS, ExportSettings, SimpleEntry, entries_from_results, number, render, write_export
from grader.exports import gradescope as gs
from grader.models import GradeResult
from tests.exports.export_validators import Links, validate_canvas, validate_gradescope, validate_junit, validate_moodle
from tests.support.results import result

# ------------------------------------------------------------------------------------------ entries


@pytest.fixture
def entries(callback_assignment) -> list[SimpleEntry]:
    a = callback_assignment
    crash = crash_result(a, "nb.ipynb", "en", {"kind": "signal", "message": "SIGKILL", "wall_s": 3.0})
    return [
        SimpleEntry("jsmith", "jsmith", result(a, {}), {"name": "Smith, John", "canvas_id": "12345", "sis_user_id": "S1",
                                                        "sis_login_id": "jsmith", "section": "A", "email": "js@x.edu"}, "2026-01-02T03:04:05.678+00:00"),
        SimpleEntry("alee", "alee", result(a, {"stop_message": False, "skeleton_integrity": False}), {"name": "=HYPERLINK(\"x\")", "email": "al@x.edu"},
                    "2026-01-02T03:05:00+00:00"),
        SimpleEntry("张三", "张三", result(a, {"execution": False, "test_accuracy": False}, lang="zh", status="error", printed="\x1b[31m\x00bell\x07"),
                    {}, "2026-01-02T03:06:00+00:00"),
        SimpleEntry("<script>alert(1)</script>", "x-1234", result(a, {}), {}, "2026-01-02T03:07:00+00:00"),
        SimpleEntry("crashy", "crashy", crash, {"name": "Crash, Y"}, "2026-01-02T03:08:00+00:00", outcome="crashed"),
    ]


@pytest.fixture
def settings(callback_assignment) -> ExportSettings:
    return ExportSettings.for_assignment(callback_assignment, lang="en", reports=True, missing=("absent1",))


# ------------------------------------------------------------------------------------------- Canvas


def test_canvas_csv_imports(entries, settings):
    files = render("canvas", entries, settings)
    text = files["exports/canvas.csv"]
    parsed = validate_canvas(text)
    assert parsed["assignments"] == [settings.title] and parsed["points"] == ["5"]
    by_login = {ids[2]: (name, grades) for ids, name, grades in parsed["students"]}
    assert by_login["jsmith"] == ("Smith, John", ["5"])
    assert by_login["alee"][1] == ["4"] and by_login["alee"][0].startswith("'=")  # no formula for Excel
    assert "张三" in by_login and "crashy" not in by_login and all(n != "Crash, Y" for n, _ in by_login.values())
    ids = {ids[2]: ids for ids, _, _ in parsed["students"]}
    assert ids["jsmith"] == ("12345", "S1", "jsmith")


def test_canvas_existing_assignment_and_rescaling(entries, callback_assignment):
    settings = ExportSettings.for_assignment(callback_assignment, lang="en", canvas_assignment_id="987", out_of=10)
    parsed = validate_canvas(render("canvas", entries, settings)["exports/canvas.csv"])
    assert parsed["assignments"] == [f"{settings.title} (987)"] and parsed["points"] == ["10"]
    assert sorted(g[0] for _, _, g in parsed["students"]) == ["10", "10", "6", "8"]


def test_number_format():
    assert [number(x) for x in (5.0, 4.5, 10 / 3, 0.0, -0.0001, 100)] == ["5", "4.5", "3.33", "0", "0", "100"]
    with pytest.raises(ValueError):
        number(float("nan"))


# ------------------------------------------------------------------------------------------- Moodle


def test_moodle_csv_imports(entries, settings):
    parsed = validate_moodle(render("moodle", entries, settings)["exports/moodle.csv"])
    header, rows = parsed["header"], parsed["rows"]
    assert header == ["Username", "Email address", "ID number", "Full name", settings.title, f"{settings.title} feedback"]
    by_user = {r[0]: r for r in rows}
    assert set(by_user) == {"jsmith", "alee", "张三", "<script>alert(1)</script>"}
    assert by_user["jsmith"][1] == "js@x.edu" and by_user["jsmith"][4] == "5"
    assert "failed checks: execution, test_accuracy" in by_user["张三"][5]


def test_moodle_refuses_nothing_after_rescaling(entries, callback_assignment):
    big = ExportSettings.for_assignment(callback_assignment, out_of=100)
    validate_moodle(render("moodle", entries, big)["exports/moodle.csv"])


# --------------------------------------------------------------------------------------- Gradescope


def test_gradescope_results_follow_the_spec(entries, settings):
    files = render("gradescope", entries, settings)
    assert set(files) == {f"exports/gradescope/{e.folder}/results.json" for e in entries}
    for e in entries:
        data = json.loads(files[f"exports/gradescope/{e.folder}/results.json"])
        validate_gradescope(data)
        assert data["score"] == e.result.score == sum(t["score"] for t in data["tests"])
        if e.result.lang == "en":
            assert [t["name"] for t in data["tests"]][:2] == ["Runs without error", "Epoch limit"]
        assert [t["status"] for t in data["tests"]] == ["passed" if c.passed else "failed" for c in e.result.checks]
        assert [t["tags"][0] for t in data["tests"]] == [c.id for c in e.result.checks]
    hidden = gs.results(entries[0].result, visibility="after_due_date")
    validate_gradescope(hidden)
    assert {t["visibility"] for t in hidden["tests"]} == {"after_due_date"}
    with pytest.raises(ValueError):
        gs.results(entries[0].result, visibility="sometimes")


def test_the_validator_catches_bad_documents():
    with pytest.raises(AssertionError):
        validate_gradescope({"score": 1, "tests": [{"score": 1, "status": "ok"}]})
    with pytest.raises(AssertionError):
        validate_gradescope({"score": 1, "output_format": "pdf"})
    with pytest.raises(AssertionError):
        validate_gradescope({"tests": [{"name": "no score anywhere"}]})
    with pytest.raises(AssertionError):
        validate_canvas("Name,Score\nann,1\n")
    with pytest.raises(AssertionError):
        validate_moodle("Username,Grade\nann,150\n")


# -------------------------------------------------------------------------------------------- JUnit


def test_junit_xml(entries, settings):
    root = validate_junit(render("junit", entries, settings)["exports/junit.xml"])
    suites = {s.get("name"): s for s in root}
    assert set(suites) == {e.student for e in entries}
    assert suites["jsmith"].get("failures") == "0" and suites["jsmith"].get("tests") == str(len(entries[0].result.checks))
    alee = suites["alee"]
    assert alee.get("failures") == "1" and alee.get("skipped") == "1"  # advisory skeleton check: skipped, not failed
    assert suites["crashy"].get("errors") == "1" and suites["crashy"].find("testcase/error").get("type") == "grader-crash"
    assert "\x00" not in ET.tostring(root, encoding="unicode")
    props = {p.get("name"): p.get("value") for p in suites["jsmith"].iter("property")}
    assert props["score"] == "5" and props["passed"] == "true"


# -------------------------------------------------------------------------------------------- JSONL


def test_jsonl_round_trips(entries, settings):
    text = render("jsonl", entries, settings)["exports/results.jsonl"]
    lines = text.splitlines()
    assert len(lines) == len(entries)
    for line in lines:
        record = json.loads(line)
        original = next(e for e in entries if e.student == record["student"])
        assert GradeResult.from_dict(record["result"]) == original.result and record["outcome"] == original.outcome


# ------------------------------------------------------------------------------------ summary page


def test_summary_page(entries, settings):
    page = render("summary", entries, settings)["summary.html"]
    links = Links()
    links.feed(page)
    assert links.scripts == 0 and "<script>alert(1)</script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert links.rects == 6  # one bar per score 0..5
    for e in entries:
        assert any(h.startswith(e.folder.replace("张三", "%E5%BC%A0%E4%B8%89")) and h.endswith("/report.html") for h in links.hrefs)
    assert "absent1" in page and "Pass rate" in page and "Epoch limit" in page
    assert re.search(r">\s*4/5\s*<", page)  # execution passed by 4 of 5


def test_summary_page_in_chinese_without_reports(entries, callback_assignment):
    settings = ExportSettings.for_assignment(callback_assignment, lang="zh", reports=False)
    page = render("summary", entries, settings)["summary.html"]
    links = Links()
    links.feed(page)
    assert "全班汇总" in page and 'lang="zh-CN"' in page and not any(h.endswith("report.html") for h in links.hrefs)
    assert all(h.endswith("result.json") for h in links.hrefs)


def test_summary_histogram_buckets_for_fractional_scores(callback_assignment):
    from grader.exports.summary import histogram

    bars = histogram([0.5, 2.5, 5.0, 5.0], 5.0)
    assert len(bars) == 10 and bars[-1]["count"] == 2 and bars[-1]["height"] == 100.0
    assert [b["count"] for b in histogram([0, 5, 5], 5)] == [1, 0, 0, 0, 0, 2]


# ------------------------------------------------------------------------------------- the command


@pytest.fixture
def batch_outdir(tmp_path, entries, callback_assignment) -> Path:
    """An output folder as `grader batch` leaves it: a gradebook and result.json files."""
    out = tmp_path / "out"
    with Gradebook(out / "gradebook.sqlite") as book:
        book.bind_assignment(callback_assignment.id)
        book.set_meta("assignment_json", json.dumps({"id": callback_assignment.id, "title": "MNIST callback", "title_zh": "回调",
                                                     "default_lang": "en", "max_score": 5.0, "missing": ["absent1"]}))
        book.save_students({e.student: e.info for e in entries if e.info})
        for e in entries:
            book.record(student=e.student, key="k", content_sha256="0" * 64, source="s", folder=e.folder, result=e.result,
                        outcome=e.outcome)
            (out / e.folder).mkdir(parents=True, exist_ok=True)
            (out / e.folder / "result.json").write_text(json.dumps(e.result.to_dict()))
    return out


def test_export_command_writes_every_format_inside_the_folder(batch_outdir, capsys):
    assert main(["export", "-o", str(batch_outdir), "--format", "all", "--canvas-assignment-id", "55"]) == EXIT_PASSED
    out = capsys.readouterr()
    assert "crashy" in out.err and "left out" in out.err
    validate_canvas((batch_outdir / "exports/canvas.csv").read_text())
    assert "MNIST callback (55)" in (batch_outdir / "exports/canvas.csv").read_text()
    validate_moodle((batch_outdir / "exports/moodle.csv").read_text())
    validate_junit((batch_outdir / "exports/junit.xml").read_text())
    assert len((batch_outdir / "exports/results.jsonl").read_text().splitlines()) == 5
    for folder in ("jsmith", "alee", "张三", "x-1234", "crashy"):
        validate_gradescope(json.loads((batch_outdir / "exports/gradescope" / folder / "results.json").read_text()))
    page = (batch_outdir / "summary.html").read_text()
    assert "MNIST callback" in page and "absent1" in page
    # Rows come back with the roster's columns.
    assert '"Smith, John",12345,S1,jsmith,A,5' in (batch_outdir / "exports/canvas.csv").read_text()


def test_export_command_without_a_gradebook_reads_result_files(batch_outdir):
    (batch_outdir / "gradebook.sqlite").unlink()
    for extra in ("gradebook.sqlite-wal", "gradebook.sqlite-shm"):
        (batch_outdir / extra).unlink(missing_ok=True)
    assert len(entries_from_results(batch_outdir)) == 5
    assert main(["export", "-o", str(batch_outdir), "--format", "jsonl", "--format", "canvas"]) == EXIT_PASSED
    validate_canvas((batch_outdir / "exports/canvas.csv").read_text())


def test_export_usage_errors(tmp_path, batch_outdir):
    assert main(["export", "-o", str(tmp_path / "missing"), "--format", "canvas"]) == EXIT_USAGE
    (tmp_path / "empty").mkdir()
    assert main(["export", "-o", str(tmp_path / "empty"), "--format", "canvas"]) == EXIT_USAGE
    assert main(["export", "-o", str(batch_outdir), "--format", "canvas", "--out-of", "0"]) == EXIT_USAGE


def test_write_export_stays_inside_the_folder(tmp_path, entries, settings, monkeypatch):
    monkeypatch.setattr("grader.exports.render", lambda *a: {"../escape.txt": "x"})
    with pytest.raises(ValueError, match="outside"):
        write_export("jsonl", entries, tmp_path / "out", settings)


def test_every_format_is_registered():
    assert FORMATS == ("canvas", "moodle", "gradescope", "junit", "jsonl", "summary")
