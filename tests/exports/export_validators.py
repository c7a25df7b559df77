"""What each export format's consumer reads, as validators the export tests hold the files to.

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
import re
import xml.etree.ElementTree as ET
from typing import Any

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
