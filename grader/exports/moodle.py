"""Moodle grade import CSV (Grades → Import → CSV file).

Moodle's importer reads a header row, then one row per student; on import the teacher maps an
identity column ("Map from") to a user field ("Map to": username, email address, ID number or
user id), the grade column to a grade item (or a new one) and the feedback column to that item's
feedback. This file has one column for each identity Moodle can map, the grade, and feedback:

    Username,Email address,ID number,Full name,<title>,<title> feedback

`Username` is the roster's `username` column, else the student id. Grades use '.' as decimal
separator and must fit the grade item (Moodle refuses grades above its `gradepointmax`, 100 by
default: use `--out-of` to rescale). Results whose grading crashed are left out (Moodle would
read an empty grade as "no grade" and could clear one).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence

from grader.exports.common import Entry, ExportSettings, number, safe_cell, scaled

FILENAME = "exports/moodle.csv"


def feedback(entry: Entry) -> str:
    r = entry.result
    failed = [c.id for c in r.checks if not c.passed]
    verdict = "passed" if r.passed else "failed"
    text = f"{verdict} {r.score:g}/{r.max_score:g}"
    if failed:
        text += "; failed checks: " + ", ".join(failed)
    if r.errors:
        text += "; " + " ".join(r.errors[0].split())[:300]
    return text


def render(entries: Sequence[Entry], settings: ExportSettings) -> str:
    title = " ".join(settings.title.split()) or settings.assignment_id
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["Username", "Email address", "ID number", "Full name", title, f"{title} feedback"])
    for e in entries:
        if e.outcome == "crashed":
            continue
        info = e.info
        writer.writerow([
            info.get("username") or e.student,
            info.get("email", ""),
            info.get("id_number", ""),
            safe_cell(info.get("name", "")),
            number(scaled(e.result, settings.out_of)),
            safe_cell(feedback(e)),
        ])
    return out.getvalue()


def files(entries: Sequence[Entry], settings: ExportSettings) -> dict[str, str]:
    return {FILENAME: render(entries, settings)}
