"""Canvas gradebook import CSV (Grades → Import), one column for the assignment.

The layout is Canvas' own gradebook export, which its importer reads back:

    Student,ID,SIS User ID,SIS Login ID,Section,<Assignment title>[ (<Canvas assignment id>)]
    Points Possible,,,,,<points>
    <name>,<Canvas user id>,<SIS user id>,<SIS login id>,<section>,<score>

Canvas finds each student by `ID` (its user id), else `SIS User ID`, else `SIS Login ID`, else
by name; the identity columns come from the roster (a Canvas gradebook export works as roster).
Without a roster the student id is written as the SIS Login ID. With `(<id>)` after the title
the scores go to that existing assignment; without, Canvas matches the title or creates an
assignment of that name worth the "Points Possible". Results whose grading crashed are left
out: a blank cell would change nothing anyway, and a 0 would be unfair.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence

from grader.exports.common import Entry, ExportSettings, number, safe_cell, scaled

HEADER = ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]
FILENAME = "exports/canvas.csv"


def column_title(settings: ExportSettings) -> str:
    title = " ".join(settings.title.replace("\n", " ").split()) or settings.assignment_id
    return f"{title} ({settings.canvas_assignment_id})" if settings.canvas_assignment_id else title


def render(entries: Sequence[Entry], settings: ExportSettings) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([*HEADER, column_title(settings)])
    points = settings.out_of if settings.out_of is not None else settings.max_score
    if points is None:
        points = max((e.result.max_score for e in entries), default=0.0)
    writer.writerow(["Points Possible", "", "", "", "", number(points)])
    for e in entries:
        if e.outcome == "crashed":
            continue
        info = e.info
        canvas_id = info.get("canvas_id", "")
        sis_user = info.get("sis_user_id", "")
        sis_login = info.get("sis_login_id", "") or ("" if (canvas_id or sis_user) else e.student)
        name = info.get("name") or e.student
        writer.writerow([safe_cell(name), canvas_id, sis_user, sis_login, info.get("section", ""), number(scaled(e.result, settings.out_of))])
    return out.getvalue()


def files(entries: Sequence[Entry], settings: ExportSettings) -> dict[str, str]:
    return {FILENAME: render(entries, settings)}
