"""`grader export -o OUTDIR --format F`: write exports of a batch from its gradebook."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from grader.errors import EXIT_PASSED
from grader.exports import FORMATS


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser(
        "export",
        help="export a batch's grades: canvas, moodle, gradescope, junit, jsonl, summary",
        description="Write exports of the results in OUTDIR's gradebook inside OUTDIR: exports/canvas.csv, exports/moodle.csv, "
        "exports/gradescope/<student>/results.json, exports/junit.xml, exports/results.jsonl, summary.html.",
    )
    p.add_argument("-o", "--out", type=Path, required=True, metavar="OUTDIR", help="the batch's output folder")
    p.add_argument("-f", "--format", dest="formats", action="append", choices=[*FORMATS, "all"], required=True,
                   help="export format (repeat for several, or 'all')")
    p.add_argument("--gradebook", type=Path, help="gradebook file (default: OUTDIR/gradebook.sqlite)")
    p.add_argument("--title", help="the grade column's title in the LMS (default: the assignment's title)")
    p.add_argument("--canvas-assignment-id", help="Canvas: the id of the existing assignment to update (the column becomes 'Title (id)')")
    p.add_argument("--out-of", type=float, metavar="POINTS", help="rescale scores to this many points (canvas, moodle)")
    p.add_argument("--lang", choices=["en", "zh"], help="language of the summary page (default: the assignment's)")
    p.add_argument("--visibility", default="visible", choices=["visible", "hidden", "after_due_date", "after_published"],
                   help="Gradescope test visibility (default: visible)")
    p.set_defaults(run=cmd_export)


def cmd_export(args: argparse.Namespace) -> int:
    from grader.batch.export import ExportRequest, export_batch

    request = ExportRequest(formats=tuple(args.formats), gradebook=args.gradebook, title=args.title,
                            canvas_assignment_id=args.canvas_assignment_id, out_of=args.out_of, lang=args.lang,
                            visibility=args.visibility)
    exported = export_batch(args.out, request)
    for fmt, written in exported.written.items():
        where = written[0] if len(written) == 1 else f"{len(written)} files under {args.out / 'exports' / fmt}"
        print(f"{fmt}: {where}")
    left_out = exported.lms_left_out
    if left_out:
        print(f"export: the grading of {len(left_out)} submission(s) crashed; they are left out of the LMS files: "
              f"{', '.join(left_out[:10])}{'…' if len(left_out) > 10 else ''} (grade them again with `grader batch --retry-crashed`)",
              file=sys.stderr)
    return EXIT_PASSED
