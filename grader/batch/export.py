"""Exports of a batch already graded (`grader export`): its results read back from the gradebook (or,
without one, from the `OUTDIR/<student>/result.json` files) and written in the formats of
:mod:`grader.exports` inside the batch's output folder."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from grader.batch.gradebook import Gradebook, gradebook_path, open_existing
from grader.errors import UsageError
from grader.exports import FORMATS, ExportSettings, crashed, entries_from_results, write_export


@dataclass(frozen=True)
class ExportRequest:
    """What to export, and how: the choices of `grader export`."""

    formats: tuple[str, ...]  # names in FORMATS, or "all"
    gradebook: Path | None = None  # default: OUTDIR/gradebook.sqlite
    title: str | None = None  # the grade column's title (default: the assignment's, in `lang`)
    canvas_assignment_id: str | None = None
    out_of: float | None = None  # rescale scores to this many points (canvas, moodle)
    lang: str | None = None  # default: the assignment's
    visibility: str = "visible"  # Gradescope tests


@dataclass(frozen=True)
class Exported:
    """The files written, by format, and the students whose grading crashed (left out of LMS files)."""

    written: dict[str, list[Path]] = field(default_factory=dict)
    crashed: tuple[str, ...] = ()

    @property
    def lms_left_out(self) -> tuple[str, ...]:
        """The crashed students, where an LMS file (which leaves them out) was written."""
        return self.crashed if {"canvas", "moodle"} & set(self.written) else ()


def assignment_meta(book: Gradebook) -> dict[str, Any]:
    """The assignment as the batch stored it in its gradebook (id, titles, points, missing students)."""
    raw = book.meta("assignment_json")
    data = json.loads(raw) if raw else {}
    data.setdefault("id", book.meta("assignment") or "")
    return data


def export_batch(outdir: Path, request: ExportRequest) -> Exported:
    """Write the requested exports of the batch in `outdir`; a usage error where there is nothing to export."""
    if not outdir.is_dir():
        raise UsageError(f"no such folder: {outdir}")
    if request.out_of is not None and request.out_of <= 0:
        raise UsageError("--out-of must be a positive number of points")
    formats = list(FORMATS) if "all" in request.formats else list(dict.fromkeys(request.formats))
    entries: list[Any]
    if gradebook_path(outdir, request.gradebook).is_file() or request.gradebook:
        with open_existing(outdir, request.gradebook) as book:
            meta = assignment_meta(book)
            entries = list(book.results(meta["id"] or None))
    else:
        entries = list(entries_from_results(outdir))
        if not entries:
            raise UsageError(f"no gradebook and no result.json in {outdir}: run `grader batch ... -o {outdir}` first")
        meta = {"id": entries[0].result.assignment}
    if not entries:
        raise UsageError(f"the gradebook of {outdir} holds no result yet")
    lang = request.lang or meta.get("default_lang") or entries[0].result.lang
    title = request.title or (meta.get("title_zh") if lang == "zh" and meta.get("title_zh") else meta.get("title")) or meta["id"]
    settings = ExportSettings(
        assignment_id=meta["id"],
        title=title,
        lang=lang,
        max_score=meta.get("max_score"),
        out_of=request.out_of,
        canvas_assignment_id=request.canvas_assignment_id,
        visibility=request.visibility,
        missing=tuple(meta.get("missing") or ()),
    )
    written = {fmt: write_export(fmt, entries, outdir, settings) for fmt in formats}
    return Exported(written=written, crashed=tuple(crashed(entries)))
