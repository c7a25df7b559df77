"""`similarity.html` and `similarity.csv`: pure functions of a `SimilarityReport`.

Student code is hostile: each line is cleaned (control characters dropped, direction overrides
made visible, as in the report) and bounded, and Jinja escapes it. The page is self-contained:
no script, no request, the report's Content-Security-Policy; each pair opens (a `<details>`)
onto the two submissions side by side with the shared runs marked.
"""

from __future__ import annotations

import csv
import datetime as _dt
import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from grader import __version__
from grader.common.files import atomic_write
from grader.common.templates import environment
from grader.exports.common import safe_cell
from grader.i18n import translator
from grader.report.html import clean, field
from grader.similar.model import Pair, SimilarityReport, Span, Submission

TEMPLATE = "similarity.html.j2"
MAX_TABLE = 500  # flagged pairs listed in the table (the CSV has them all)
MAX_VIEWS = 100  # pairs that open side by side
MAX_VIEW_LINES = 400  # lines of one submission's code shown in a view
MAX_LINE = 300  # characters of one line
CSV_COLUMNS = ("rank", "student_a", "student_b", "flagged", "reasons", "code_share", "share_a", "share_b", "shared_fingerprints",
               "training_match", "training_epochs", "training_largest_difference", "folder_a", "folder_b")


@dataclass(frozen=True)
class Line:
    number: int
    segments: tuple[tuple[str, bool], ...]  # (text, shared)
    given: bool  # the skeleton's own line


def segments(text: str, spans: list[tuple[int, int | None]]) -> tuple[tuple[str, bool], ...]:
    """`text` cut into (piece, marked) at the spans (merged), each piece cleaned; at most MAX_LINE characters."""
    cut = len(text) > MAX_LINE
    text = text[:MAX_LINE]
    marks = [False] * len(text)
    for start, end in spans:
        for i in range(max(0, start), min(len(text), len(text) if end is None else end)):
            marks[i] = True
    pieces: list[tuple[str, bool]] = []
    i = 0
    while i < len(text):
        j = i
        while j < len(text) and marks[j] == marks[i]:
            j += 1
        pieces.append((clean(text[i:j]), marks[i]))
        i = j
    if cut:
        pieces.append(("…", False))
    return tuple(p for p in pieces if p[0])


def code_view(submission: Submission, spans: tuple[Span, ...]) -> dict[str, Any]:
    """The submission's own cells, line by line, with the shared runs marked and the skeleton's lines greyed."""
    by_line: dict[tuple[int, int], list[tuple[int, int | None]]] = {}
    for span in spans:
        by_line.setdefault((span.cell, span.line), []).append((span.start, span.end))
    cells, shown, cut = [], 0, 0
    for index, source in enumerate(submission.cells):
        lines = source.replace("\r\n", "\n").replace("\r", "\n").split("\n")
        own = any(line.strip() and not line.strip().startswith("#") and (index, n) not in submission.given for n, line in enumerate(lines, start=1))
        if not own:
            continue
        rows = []
        for n, line in enumerate(lines, start=1):
            if shown >= MAX_VIEW_LINES:
                cut += 1
                continue
            rows.append(Line(n, segments(line, by_line.get((index, n), [])), (index, n) in submission.given))
            shown += 1
        if rows:
            cells.append({"number": index + 1, "lines": rows})
    return {"student": field(submission.student, 200), "file": field(submission.file, 200), "cells": cells, "cut": cut, "read": bool(submission.cells)}


def pair_row(rank: int, pair: Pair, report: SimilarityReport) -> dict[str, Any]:
    code = pair.code
    return {
        "rank": rank,
        "id": f"pair-{rank}",
        "a": field(pair.a, 200),
        "b": field(pair.b, 200),
        "share_a": f"{code.share_a:.0%}" if code else "—",
        "share_b": f"{code.share_b:.0%}" if code else "—",
        "bar_a": round(100 * code.share_a) if code else 0,
        "bar_b": round(100 * code.share_b) if code else 0,
        "shared": code.shared if code else 0,
        "training": pair.training,
        "reasons": pair.reasons,
        "view": rank <= MAX_VIEWS,
    }


def pair_view(row: dict[str, Any], pair: Pair, report: SimilarityReport, skipped: dict[str, str]) -> dict[str, Any]:
    a, b = report.submissions[pair.a], report.submissions[pair.b]
    epochs = []
    if pair.training:
        epochs = [{"number": n, "a": x, "b": y} for n, (x, y) in enumerate(zip(a.epochs, b.epochs, strict=False), start=1)][:200]
    return {
        **row,
        "left": {**code_view(a, pair.code.spans_a if pair.code else ()), "skipped": field(skipped.get(pair.a, ""), 500)},
        "right": {**code_view(b, pair.code.spans_b if pair.code else ()), "skipped": field(skipped.get(pair.b, ""), 500)},
        "epochs": epochs,
        "largest": f"{pair.training.largest_difference:.2g}" if pair.training else "",
    }


def render_page(report: SimilarityReport, lang: str | None = None, now: _dt.datetime | None = None) -> str:
    """The page in `lang` (default: the report's)."""
    lang = lang or report.lang
    t = translator(lang, "similar")  # an unknown language: ValueError

    flagged = report.flagged
    nearest = [p for p in report.pairs if not p.flagged]
    skipped = {s.student: s.detail or t(f"skip.{s.reason}", path="", chars="", cells="", limit="") for s in report.skipped}
    rows = [pair_row(n, p, report) for n, p in enumerate(flagged[:MAX_TABLE], start=1)]
    near_rows = [pair_row(len(flagged) + n, p, report) for n, p in enumerate(nearest, start=1)]
    views = [pair_view(r, p, report, skipped) for r, p in zip(rows, flagged, strict=False) if r["view"]]  # rows: the first MAX_TABLE
    near_views = [pair_view(r, p, report, skipped) for r, p in zip(near_rows, nearest, strict=True)][: max(0, MAX_VIEWS - len(views))]
    for r in near_rows:
        r["view"] = any(v["id"] == r["id"] for v in near_views)
    th = report.thresholds
    when = (now or _dt.datetime.now()).strftime("%Y-%m-%d %H:%M")
    return environment().get_template(TEMPLATE).render(
        t=t,
        lang=lang,
        title=field(report.title_for(lang), 300),
        assignment=field(report.assignment, 200),
        generated=t("generated", when=when, version=__version__, folder=clean(str(report.grades_dir))[:300]),
        compared=len(report.submissions),
        flagged=len(flagged),
        by_code=sum(1 for p in flagged if "code" in p.reasons),
        by_training=sum(1 for p in flagged if "training" in p.reasons),
        rows=rows,
        more=max(0, len(flagged) - MAX_TABLE),
        shown=min(len(flagged), MAX_TABLE),
        views=views + near_views,
        near_rows=near_rows,
        skipped=[{"student": field(s.student, 200), "reason": field(skipped[s.student], 500)} for s in report.skipped],
        skeleton=report.skeleton,
        how={
            "kgram": th.kgram, "window": th.window, "min_shared": th.min_shared, "share": f"{th.code:.0%}", "common": report.common_limit,
            "tolerance": f"{th.training_tolerance:g}", "seeds": t("list_separator").join(str(s) for s in report.seeds) or t("seed_unknown"),
        },
    )


def render_csv(report: SimilarityReport) -> str:
    """Every pair of the report, ranked, one row each; free text made safe for a spreadsheet."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for rank, pair in enumerate(report.pairs, start=1):
        code, training = pair.code, pair.training
        writer.writerow([
            rank, safe_cell(pair.a), safe_cell(pair.b), "yes" if pair.flagged else "no", " ".join(pair.reasons),
            f"{code.score:.4f}" if code else "", f"{code.share_a:.4f}" if code else "", f"{code.share_b:.4f}" if code else "",
            code.shared if code else "", "yes" if training else "no", training.epochs if training else "",
            f"{training.largest_difference:.3g}" if training else "",
            safe_cell(report.submissions[pair.a].folder), safe_cell(report.submissions[pair.b].folder),
        ])
    return out.getvalue()


def write_similarity(report: SimilarityReport, out_dir: Path, lang: str | None = None) -> list[Path]:
    """`similarity.html` and `similarity.csv` in `out_dir`, each written atomically."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    page, table = render_page(report, lang), render_csv(report)
    return [atomic_write(out_dir / "similarity.html", page), atomic_write(out_dir / "similarity.csv", table)]
