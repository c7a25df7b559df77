"""`grader export -o OUTDIR --format F`: write exports of a batch from its gradebook."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from grader.errors import EXIT_PASSED, UsageError
from grader.exports import FORMATS, ExportSettings, crashed, entries_from_results, write_export


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


def assignment_meta(book: Any) -> dict[str, Any]:
    raw = book.meta("assignment_json")
    data = json.loads(raw) if raw else {}
    data.setdefault("id", book.meta("assignment") or "")
    return data


def cmd_export(args: argparse.Namespace) -> int:
    from grader.batch.gradebook import gradebook_path, open_existing

    outdir: Path = args.out
    if not outdir.is_dir():
        raise UsageError(f"no such folder: {outdir}")
    if args.out_of is not None and args.out_of <= 0:
        raise UsageError("--out-of must be a positive number of points")
    formats = list(FORMATS) if "all" in args.formats else list(dict.fromkeys(args.formats))
    if gradebook_path(outdir, args.gradebook).is_file() or args.gradebook:
        with open_existing(outdir, args.gradebook) as book:
            meta = assignment_meta(book)
            entries: list[Any] = book.results(meta["id"] or None)
    else:
        entries = entries_from_results(outdir)
        if not entries:
            raise UsageError(f"no gradebook and no result.json in {outdir}: run `grader batch ... -o {outdir}` first")
        meta = {"id": entries[0].result.assignment}
    if not entries:
        raise UsageError(f"the gradebook of {outdir} holds no result yet")
    lang = args.lang or meta.get("default_lang") or entries[0].result.lang
    title = args.title or (meta.get("title_zh") if lang == "zh" and meta.get("title_zh") else meta.get("title")) or meta["id"]
    settings = ExportSettings(
        assignment_id=meta["id"],
        title=title,
        lang=lang,
        max_score=meta.get("max_score"),
        out_of=args.out_of,
        canvas_assignment_id=args.canvas_assignment_id,
        visibility=args.visibility,
        missing=tuple(meta.get("missing") or ()),
    )
    for fmt in formats:
        written = write_export(fmt, entries, outdir, settings)
        where = written[0] if len(written) == 1 else f"{len(written)} files under {outdir / 'exports' / fmt}"
        print(f"{fmt}: {where}")
    left_out = crashed(entries)
    if left_out and {"canvas", "moodle"} & set(formats):
        print(f"export: the grading of {len(left_out)} submission(s) crashed; they are left out of the LMS files: "
              f"{', '.join(left_out[:10])}{'…' if len(left_out) > 10 else ''} (grade them again with `grader batch --retry-crashed`)",
              file=sys.stderr)
    return EXIT_PASSED
