"""`find_similar`: a batch's submissions compared, pairs ranked (a pure read of the output folder)."""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path

from grader.assignment import Assignment
from grader.i18n import LANGS
from grader.similar.code import Document, Skeleton, common_prints, document, locate, match, shared_counts
from grader.similar.model import Pair, SimilarityReport, Skipped, Submission, Thresholds
from grader.similar.sources import open_class, read_code, skeleton_code
from grader.similar.training import curve, matching_trainings
from grader.similar.winnow import Vocabulary

MAX_LOCATED = 200  # pairs whose shared runs are located (the page shows these side by side)
MAX_UNFLAGGED = 20  # pairs below the thresholds kept for context: the nearest ones


def find_similar(
    grades_dir: Path,
    assignment: Assignment | str | None = None,
    *,
    thresholds: Thresholds | None = None,
    gradebook: Path | None = None,
    lang: str | None = None,
) -> SimilarityReport:
    """Compare every submission graded into `grades_dir` (a `grader batch` output folder).

    `assignment` defaults to the one the gradebook was graded against; `lang` (for the notes on
    skipped submissions) to the batch's language. Raises UsageError when there is no gradebook or
    no such assignment; a submission that cannot be read is a `Skipped` note, never an error."""
    started = time.monotonic()
    thresholds = thresholds or Thresholds()
    found = open_class(Path(grades_dir), assignment, gradebook)
    lang = lang if lang in LANGS else found.default_lang
    vocabulary = Vocabulary()
    skeleton_sources = skeleton_code(found.assignment)
    skeleton = Skeleton.of(skeleton_sources, thresholds, vocabulary)

    submissions: dict[str, Submission] = {}
    documents: list[tuple[str, Document]] = []
    skipped: list[Skipped] = []
    for record in found.records:
        epochs = curve(record.result)
        code = read_code(record, lang)
        if isinstance(code, Skipped):
            skipped.append(code)
            submissions[record.student] = Submission(record.student, record.folder, "", epochs=epochs)
            continue
        path, cells = code
        doc = document(cells, skeleton, thresholds, vocabulary)
        documents.append((record.student, doc))
        submissions[record.student] = Submission(record.student, record.folder, path.name, cells, doc.given, len(doc.tokens), len(doc.prints), epochs)

    limit = thresholds.common_limit(len(documents))
    pairs: dict[tuple[str, str], Pair] = {}
    counts = shared_counts([d for _, d in documents], limit)
    common = common_prints([d for _, d in documents], limit)
    for (i, j), shared in counts.items():
        if shared < thresholds.min_shared:
            continue
        (a, doc_a), (b, doc_b) = sorted((documents[i], documents[j]), key=lambda d: d[0])
        code_match = match(doc_a, doc_b, shared, common)
        pairs[(a, b)] = Pair(a, b, code=code_match, reasons=("code",) if code_match.score >= thresholds.code else ())
    curves = {s: sub.epochs for s, sub in submissions.items() if sub.epochs}
    trainings = matching_trainings(curves, thresholds.training_tolerance, thresholds.training_min_epochs)
    position = {student: i for i, (student, _) in enumerate(documents)}
    for key, training in trainings.items():
        pair = pairs.get(key, Pair(*key))
        if pair.code is None and key[0] in position and key[1] in position:  # the code of a training pair, however little it shares
            i, j = sorted((position[key[0]], position[key[1]]))
            pair = replace(pair, code=match(documents[position[key[0]]][1], documents[position[key[1]]][1], counts.get((i, j), 0), common))
        pairs[key] = replace(pair, training=training, reasons=(*pair.reasons, "training"))

    ranked = sorted(pairs.values(), key=lambda p: (not p.flagged, -p.score, p.a, p.b))
    flagged = [p for p in ranked if p.flagged]
    ranked = flagged + [p for p in ranked if not p.flagged][:MAX_UNFLAGGED]
    by_student = dict(documents)
    located = []
    for n, pair in enumerate(ranked):
        if pair.code and n < MAX_LOCATED and pair.a in by_student and pair.b in by_student:
            spans_a, spans_b = locate(by_student[pair.a], by_student[pair.b], skeleton, common, thresholds.kgram)
            pair = replace(pair, code=replace(pair.code, spans_a=spans_a, spans_b=spans_b))
        located.append(pair)

    seeds = sorted({r.result.recording.seed for r in found.records if r.result.recording.seed is not None})
    return SimilarityReport(
        assignment=found.assignment.id, title=found.assignment.title, title_zh=found.assignment.title_zh, lang=lang,
        grades_dir=Path(grades_dir), thresholds=thresholds, submissions=submissions, pairs=tuple(located),
        skipped=tuple(skipped), common_limit=limit, skeleton=skeleton_sources is not None, seeds=tuple(seeds),
        elapsed_s=round(time.monotonic() - started, 3),
    )
