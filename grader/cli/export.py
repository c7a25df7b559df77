"""`grader export -o OUTDIR --format F`: write exports of a batch from its gradebook (:mod:`grader.batch.export`)."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from grader.cli.options import LANGS, VISIBILITIES, PathType
from grader.errors import EXIT_PASSED
from grader.exports import FORMATS


@click.command(
    "export",
    short_help="export a batch's grades: canvas, moodle, gradescope, junit, jsonl, summary",
    help="Write exports of the results in OUTDIR's gradebook inside OUTDIR: exports/canvas.csv, exports/moodle.csv, "
    "exports/gradescope/<student>/results.json, exports/junit.xml, exports/results.jsonl, summary.html.",
)
@click.option("-o", "--out", type=PathType, required=True, metavar="OUTDIR", help="the batch's output folder")
@click.option("-f", "--format", "formats", type=click.Choice([*FORMATS, "all"]), multiple=True, required=True,
              help="export format (repeat for several, or 'all')")
@click.option("--gradebook", type=PathType, help="gradebook file (default: OUTDIR/gradebook.sqlite)")
@click.option("--title", help="the grade column's title in the LMS (default: the assignment's title)")
@click.option("--canvas-assignment-id", help="Canvas: the id of the existing assignment to update (the column becomes 'Title (id)')")
@click.option("--out-of", type=float, metavar="POINTS", help="rescale scores to this many points (canvas, moodle)")
@click.option("--lang", type=click.Choice(LANGS), help="language of the summary page (default: the assignment's)")
@click.option("--visibility", type=click.Choice(VISIBILITIES), default="visible", help="Gradescope test visibility (default: visible)")
def export(out: Path, formats: tuple[str, ...], gradebook: Path | None, title: str | None, canvas_assignment_id: str | None,
           out_of: float | None, lang: str | None, visibility: str) -> int:
    from grader.batch.export import ExportRequest, export_batch

    request = ExportRequest(formats=formats, gradebook=gradebook, title=title, canvas_assignment_id=canvas_assignment_id,
                            out_of=out_of, lang=lang, visibility=visibility)
    exported = export_batch(out, request)
    for fmt, written in exported.written.items():
        where = written[0] if len(written) == 1 else f"{len(written)} files under {out / 'exports' / fmt}"
        print(f"{fmt}: {where}")
    left_out = exported.lms_left_out
    if left_out:
        print(f"export: the grading of {len(left_out)} submission(s) crashed; they are left out of the LMS files: "
              f"{', '.join(left_out[:10])}{'…' if len(left_out) > 10 else ''} (grade them again with `grader batch --retry-crashed`)",
              file=sys.stderr)
    return EXIT_PASSED
