"""Exports: each format validated against what its consumer reads.

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

import csv
import html.parser
import io
import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from grader import __version__
from grader.batch.results import crash_result
from grader.cli import main
from grader.errors import EXIT_PASSED, EXIT_USAGE
from grader.exports import FORMATS, ExportSettings, SimpleEntry, entries_from_results, number, render, write_export
from grader.exports import gradescope as gs
from grader.gradebook import Gradebook
from grader.models import CheckResult, ExecutionInfo, GradeResult, Metrics

# ------------------------------------------------------------------------------------ validators

CANVAS_SCORE = re.compile(r"^-?\d+(\.\d{1,2})?$")
CANVAS_NON_ASSIGNMENT = ("Current Score", "Current Points", "Current Grade", "Final Score", "Final Points", "Final Grade",
                         "Override Score", "Override Grade", "Override Status")


def validate_canvas(text: str) -> dict[str, Any]:
    """Parse as Canvas' importer does; returns {'assignments': [...], 'points': [...], 'students': [(ids), grades]}."""
    assert text.count(";") < text.count(","), "Canvas sniffs ';' vs ',': keep commas dominant"
    rows = [r for r in csv.reader(io.StringIO(text)) if not all(c.strip() in ("", ";", ",") for c in r)]
    header = rows[0]
    assert len(header) > 3 and "Student" in header[0] and "ID" in header[1], "not a Canvas header row"
    columns = 3
    if re.search(r"SIS\s+Login\s+ID", header[2]):
        columns += 1
    elif re.search(r"SIS\s+User\s+ID", header[2]) and re.search(r"SIS\s+Login\s+ID", header[3]):
        columns += 2 + (1 if len(header) > 4 and re.search(r"Integration\s+ID", header[4]) else 0)
    assert "Section" in header[columns - 1], "the last student column must be Section"
    assignments = [h for h in header[columns:] if not any(n in h for n in CANVAS_NON_ASSIGNMENT)]
    assert assignments and all(a.strip() for a in assignments)
    points, students = None, []
    for row in rows[1:]:
        assert len(row) == len(header), f"ragged row {row}"
        if "Points Possible" in row[0]:
            points = [row[header.index(a)] for a in assignments]
            assert all(CANVAS_SCORE.match(p) for p in points)
            continue
        ids = (row[1], row[columns - 3] if columns >= 5 else "", row[columns - 2] if columns >= 4 else "")
        assert any(ids) or row[0].strip(), "a student row needs an ID, a SIS id or a name"
        assert not row[1] or row[1].isdigit(), "ID is Canvas' numeric user id"
        grades = [row[header.index(a)].strip() for a in assignments]
        assert all(g == "" or g.upper() == "EX" or CANVAS_SCORE.match(g) for g in grades), grades
        students.append((ids, row[0], grades))
    keys = [s[0] for s in students]
    assert len(set(keys)) == len(keys), "a student listed twice"
    return {"assignments": assignments, "points": points, "students": students}


def validate_moodle(text: str, identity: str = "Username", grade_max: float = 100.0) -> dict[str, Any]:
    rows = list(csv.reader(io.StringIO(text)))
    header = [h.strip() for h in rows[0]]
    assert all(header) and len(set(header)) == len(header), "headers must be non-empty and distinct"
    assert identity in header
    ident = header.index(identity)
    grade_columns = [i for i, h in enumerate(header) if i != ident and not h.endswith("feedback") and h not in
                     ("Username", "Email address", "ID number", "Full name")]
    assert grade_columns, "no grade column"
    ids = []
    for row in rows[1:]:
        assert len(row) == len(header)
        assert row[ident].strip(), "Moodle skips a row with a blank identity"
        ids.append(row[ident])
        for i in grade_columns:
            value = row[i].strip()
            if value in ("", "-"):
                continue
            grade = float(value)  # unformat_float: a plain number with '.' decimals
            assert 0 <= grade <= grade_max, f"Moodle refuses grades above gradepointmax ({grade})"
    assert len(set(ids)) == len(ids)
    return {"header": header, "rows": rows[1:]}


VISIBILITY = {"hidden", "after_due_date", "after_published", "visible"}
FORMATS_GS = {"text", "html", "simple_format", "md", "ansi"}
NUM = (int, float)


def validate_gradescope(data: dict[str, Any]) -> None:
    top = {"score": NUM, "execution_time": NUM, "output": str, "output_format": str, "test_output_format": str, "test_name_format": str,
           "visibility": str, "stdout_visibility": str, "extra_data": dict, "tests": list, "leaderboard": list}
    assert set(data) <= set(top), f"unknown keys {set(data) - set(top)}"
    for key, kind in top.items():
        if key in data:
            assert isinstance(data[key], kind) and not isinstance(data[key], bool), key
    for key in ("output_format", "test_output_format", "test_name_format"):
        assert data.get(key, "text") in FORMATS_GS
    for key in ("visibility", "stdout_visibility"):
        assert data.get(key, "visible") in VISIBILITY
    test_keys = {"score": NUM, "max_score": NUM, "status": str, "name": str, "name_format": str, "number": str, "output": str,
                 "output_format": str, "tags": list, "visibility": str, "extra_data": dict}
    for test in data.get("tests", []):
        assert set(test) <= set(test_keys), f"unknown test keys {set(test) - set(test_keys)}"
        for key, kind in test_keys.items():
            if key in test:
                assert isinstance(test[key], kind) and not isinstance(test[key], bool), key
        assert test.get("status", "passed") in ("passed", "failed")
        assert test.get("visibility", "visible") in VISIBILITY and test.get("output_format", "text") in FORMATS_GS
        assert all(isinstance(t, str) for t in test.get("tags", []))
        assert "score" in data or "score" in test, "a score at the top or on every test"
    if "tests" not in data:
        assert "score" in data


XS_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}$")
DECIMAL = re.compile(r"^\d+(\.\d+)?$")


def validate_junit(text: str) -> ET.Element:
    assert text.startswith('<?xml version="1.0" encoding="UTF-8"?>')
    root = ET.fromstring(text.encode())
    assert root.tag == "testsuites"
    totals = {"tests": 0, "failures": 0, "errors": 0}
    for suite in root:
        assert suite.tag == "testsuite"
        for attr in ("name", "tests", "failures", "errors", "time", "timestamp", "hostname"):
            assert attr in suite.attrib, attr
        assert XS_DATETIME.match(suite.get("timestamp")) and DECIMAL.match(suite.get("time"))
        children = [c.tag for c in suite]
        order = {"properties": 0, "testcase": 1, "system-out": 2, "system-err": 3}
        assert [order[c] for c in children] == sorted(order[c] for c in children), children
        counts = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
        for case in suite.iter("testcase"):
            counts["tests"] += 1
            assert case.get("name") and case.get("classname") and DECIMAL.match(case.get("time"))
            outcomes = [c for c in case if c.tag in ("failure", "error", "skipped")]
            assert len(outcomes) <= 1
            for o in outcomes:
                key = {"failure": "failures", "error": "errors", "skipped": "skipped"}[o.tag]
                counts[key] += 1
                if o.tag != "skipped":
                    assert o.get("message") is not None and o.get("type")
        for key in ("tests", "failures", "errors"):
            assert int(suite.get(key)) == counts[key], key
            totals[key] += counts[key]
        for prop in suite.iter("property"):
            assert prop.get("name") and prop.get("value") is not None
    for key, value in totals.items():
        assert int(root.get(key)) == value
    return root


class Links(html.parser.HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.hrefs: list[str] = []
        self.rects = 0
        self.scripts = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.hrefs += [v for k, v in attrs if k == "href" and v]
        self.rects += tag == "rect"
        self.scripts += tag == "script"


# ------------------------------------------------------------------------------------------ entries


def result(assignment: Any, passes: dict[str, bool], lang: str = "en", status: str = "ok", printed: str = "") -> GradeResult:
    checks = tuple(
        CheckResult(id=c, passed=passes.get(c, True), score=p if passes.get(c, True) else 0.0, max_score=p,
                    message=f"{c} {'ok' if passes.get(c, True) else 'failed'}{printed}", required=f"{c} required",
                    measured="measured", hint="" if passes.get(c, True) else "do better", blocking=c != "skeleton_integrity")
        for c, p in assignment.points.items()
    )
    passed = all(c.passed for c in checks if c.blocking)
    return GradeResult(assignment=assignment.id, submission="nb.ipynb", passed=passed, score=sum(c.score for c in checks),
                       max_score=sum(c.max_score for c in checks), checks=checks, metrics=Metrics(epochs_run=3),
                       errors=() if passed else ("Cell 2 raised ValueError",), duration_s=12.3,
                       execution=ExecutionInfo(status=status, message="" if status == "ok" else "failed"), lang=lang,
                       grader_version=__version__)


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
