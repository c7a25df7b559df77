"""`run_similar_command`: what `grader similar GRADES_DIR` and `grader batch --similar` run."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import IO

from grader.errors import EXIT_INTERNAL, EXIT_PASSED, GraderError
from grader.i18n import LANGS, t
from grader.similar.analysis import find_similar
from grader.similar.model import SimilarUsageError, Thresholds
from grader.similar.page import write_similarity


def run_similar_command(
    grades_dir: Path,
    out_dir: Path | None = None,
    lang: str | None = None,
    thresholds: Thresholds | None = None,
    *,
    assignment: str | None = None,
    gradebook: Path | None = None,
    out: IO[str] | None = None,
    err: IO[str] | None = None,
) -> int:
    """Compare a batch's submissions, write `similarity.html` and `similarity.csv` to `out_dir`
    (default: `grades_dir`) and print where they are. Exit code: 0 when the pages were written
    (whether or not a pair was found: similarity is no failure), 2 for bad usage (no gradebook, an
    unknown assignment, a bad threshold), 3 when a page could not be written."""
    out, err = out or sys.stdout, err or sys.stderr
    message_lang = lang if lang in LANGS else "en"
    try:
        report = find_similar(Path(grades_dir), assignment, thresholds=thresholds, gradebook=gradebook, lang=lang)
    except GraderError as exc:
        print(t(message_lang, "similar.cli.error", error=exc.localised(message_lang) if isinstance(exc, SimilarUsageError) else exc), file=err)
        return exc.exit_code
    lang = lang if lang in LANGS else report.lang
    target = Path(out_dir) if out_dir is not None else Path(grades_dir)
    try:
        page, table = write_similarity(report, target, lang)
    except OSError as exc:
        print(t(lang, "similar.cli.write_error", path=target, error=exc.strerror or type(exc).__name__), file=err)
        return EXIT_INTERNAL
    flagged = report.flagged
    lines = [t(lang, "similar.cli.done", compared=len(report.submissions), seconds=f"{report.elapsed_s:.1f}", flagged=len(flagged),
               code=sum(1 for p in flagged if "code" in p.reasons), training=sum(1 for p in flagged if "training" in p.reasons))]
    if report.skipped:
        names = ", ".join(s.student for s in report.skipped[:10]) + ("…" if len(report.skipped) > 10 else "")
        lines.append(t(lang, "similar.cli.skipped", count=len(report.skipped), names=names))
    lines += [t(lang, "similar.cli.page", path=page), t(lang, "similar.cli.csv", path=table)]
    print("\n".join(lines), file=out)
    return EXIT_PASSED
