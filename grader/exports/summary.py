"""The class summary page, `OUTDIR/summary.html`: score histogram, pass rate of each check, and a
table of every student linking their report. `context()` is a pure function of the entries; the
page is `templates/summary.html.j2` rendered with it (self-contained: no script, no external file).
"""

from __future__ import annotations

import collections
import datetime as _dt
import statistics
from collections.abc import Sequence
from typing import Any

from grader import __version__
from grader.exports.common import Entry, ExportSettings

FILENAME = "summary.html"
TEMPLATE = "summary.html.j2"


def histogram(scores: list[float], max_score: float) -> list[dict[str, Any]]:
    """Bars: one per whole score when there are few points (0, 1, ..., max), else ten ranges of 10%."""
    whole = max_score <= 20 and float(max_score).is_integer() and all(float(s).is_integer() for s in scores)
    if whole:
        counts = collections.Counter(int(s) for s in scores)
        bars: list[dict[str, Any]] = [{"label": f"{v}", "count": counts.get(v, 0)} for v in range(int(max_score) + 1)]
    else:
        counts = collections.Counter(min(9, int(10 * s / max_score)) if max_score else 0 for s in scores)
        bars = [{"label": f"{10 * i}–{10 * (i + 1)}%", "count": counts.get(i, 0)} for i in range(10)]
    top = max((b["count"] for b in bars), default=0) or 1
    for b in bars:
        b["height"] = round(100 * b["count"] / top, 1)
    return bars


def context(entries: Sequence[Entry], settings: ExportSettings, now: _dt.datetime | None = None) -> dict[str, Any]:
    from grader.exports.gradescope import check_name
    from grader.i18n import t

    lang = settings.lang
    results = [e.result for e in entries]
    scores = [r.score for r in results]
    max_score = settings.max_score if settings.max_score is not None else max((r.max_score for r in results), default=0.0)
    check_ids: list[str] = []
    for r in results:
        check_ids += [c.id for c in r.checks if c.id not in check_ids]
    checks = []
    for check_id in check_ids:
        graded = [c for r in results for c in r.checks if c.id == check_id]
        passed = sum(1 for c in graded if c.passed)
        checks.append({
            "id": check_id,
            "name": check_name(graded[0], lang),
            "passed": passed,
            "total": len(graded),
            "rate": round(100 * passed / len(graded), 1) if graded else 0.0,
            "blocking": graded[0].blocking,
        })
    statuses = collections.Counter(r.execution.status for r in results)
    rows = []
    for e in entries:
        r = e.result
        rows.append({
            "student": e.student,
            "name": e.info.get("name", ""),
            "score": f"{r.score:g}",
            "max_score": f"{r.max_score:g}",
            "passed": r.passed,
            "crashed": e.outcome == "crashed",
            "status": r.execution.status,
            "failed_checks": [c.id for c in r.checks if not c.passed and c.blocking],
            "duration": f"{r.duration_s:.0f} s",
            "graded_at": (e.graded_at or "")[:19].replace("T", " "),
            "report": f"{e.folder}/report.html" if settings.reports else "",
            "json": f"{e.folder}/result.json",
        })
    count = len(results)
    passed_count = sum(1 for r in results if r.passed)
    return {
        "lang": lang,
        "t": lambda key, **v: t(lang, f"summary.{key}", **v),
        "title": settings.title,
        "assignment": settings.assignment_id,
        "generated": t(lang, "summary.generated", when=(now or _dt.datetime.now()).strftime("%Y-%m-%d %H:%M"), version=__version__),
        "count": count,
        "passed": passed_count,
        "failed": count - passed_count,
        "crashed": sum(1 for e in entries if e.outcome == "crashed"),
        "pass_rate": round(100 * passed_count / count, 1) if count else 0.0,
        "mean": f"{statistics.fmean(scores):.2f}" if scores else "—",
        "median": f"{statistics.median(scores):g}" if scores else "—",
        "max_score": f"{max_score:g}",
        "histogram": histogram(scores, max_score),
        "checks": checks,
        "statuses": sorted(statuses.items(), key=lambda kv: (-kv[1], kv[0])),
        "rows": rows,
        "missing": list(settings.missing),
        "unsafe": sum(1 for r in results if r.execution.unsafe),
    }


def render(entries: Sequence[Entry], settings: ExportSettings, now: _dt.datetime | None = None) -> str:
    from grader.common import templates

    return templates.render(TEMPLATE, **context(entries, settings, now))


def files(entries: Sequence[Entry], settings: ExportSettings) -> dict[str, str]:
    return {FILENAME: render(entries, settings)}
