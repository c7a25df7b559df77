"""Code similarity: each submission's student-written code fingerprinted, pairs found through an
inverted index, and the shared runs located back in the source for highlighting.

The skeleton's own code is left out twice: a submitted line whose tokens are a skeleton line's
(whatever its spacing or comments) is dropped before fingerprinting, and a fingerprint that the
skeleton's code (or code its text gives away) also has is dropped after. A fingerprint found in
more submissions than `Thresholds.common_limit` is what everybody writes (the tutorial's model,
the usual `compile` call): it is neither shared nor counted in a submission's own total.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from grader.similar.model import CodeMatch, Span, Thresholds
from grader.similar.tokens import Token, imported_names, lex, line_keys, normalise
from grader.similar.winnow import Vocabulary, kgram_hashes, winnow

MAX_TOKENS = 60_000  # of one submission, after the skeleton's lines are left out


@dataclass(frozen=True)
class Skeleton:
    """What the assignment gives: its lines (as token texts) and every k-gram of its code."""

    lines: frozenset[tuple[str, ...]]
    hashes: frozenset[int]

    @classmethod
    def of(cls, sources: Sequence[str] | None, thresholds: Thresholds, vocabulary: Vocabulary) -> Skeleton:
        if not sources:
            return cls(frozenset(), frozenset())
        lines: set[tuple[str, ...]] = set()
        hashes: set[int] = set()
        imported = imported_names([lex(source) for source in sources])  # its import cell binds `tf` for every other
        for source in sources:
            tokens = normalise([source], imported)
            lines.update(line_keys(tokens).values())
            hashes.update(kgram_hashes([t.norm for t in tokens], thresholds.kgram, vocabulary))
        return cls(frozenset(lines), frozenset(hashes))


@dataclass(frozen=True)
class Document:
    """One submission's student-written code, fingerprinted."""

    tokens: tuple[Token, ...]  # what is left once the skeleton's lines are dropped
    hashes: tuple[int, ...]  # the hash of the k-gram at each token
    prints: frozenset[int]  # winnowed fingerprints, the skeleton's left out
    given: frozenset[tuple[int, int]]  # (cell, line) of the lines dropped as the skeleton's


def document(cells: Sequence[str], skeleton: Skeleton, thresholds: Thresholds, vocabulary: Vocabulary) -> Document:
    """Fingerprint one submission's code cells."""
    tokens = normalise(cells)
    keys = line_keys(tokens)
    given = frozenset(where for where, key in keys.items() if key in skeleton.lines)
    own = tuple(t for t in tokens if (t.cell, t.line) not in given)[:MAX_TOKENS]
    hashes = kgram_hashes([t.norm for t in own], thresholds.kgram, vocabulary)
    prints = frozenset(h for h, _ in winnow(hashes, thresholds.window) if h not in skeleton.hashes)
    return Document(own, tuple(hashes), prints, given)


def shared_counts(documents: Sequence[Document], limit: int) -> Counter[tuple[int, int]]:
    """(i, j) with i < j → fingerprints documents i and j share, through an inverted index: only
    documents that share a fingerprint are ever paired, and a fingerprint found in more than
    `limit` documents (common code) pairs none."""
    index: dict[int, list[int]] = {}
    for i, doc in enumerate(documents):
        for h in doc.prints:
            index.setdefault(h, []).append(i)
    counts: Counter[tuple[int, int]] = Counter()
    for holders in index.values():
        if 2 <= len(holders) <= limit:
            for x, i in enumerate(holders):
                for j in holders[x + 1:]:
                    counts[(i, j)] += 1
    return counts


def common_prints(documents: Sequence[Document], limit: int) -> frozenset[int]:
    """The fingerprints found in more than `limit` documents."""
    seen: Counter[int] = Counter(h for doc in documents for h in doc.prints)
    return frozenset(h for h, n in seen.items() if n > limit)


def match(a: Document, b: Document, shared: int, common: frozenset[int]) -> CodeMatch:
    """The shares of a pair that shares `shared` fingerprints: of each one's fingerprints that are
    not common code (what everybody writes can be neither shared nor one's own)."""
    return CodeMatch(shared=shared, share_a=shared / max(1, len(a.prints - common)), share_b=shared / max(1, len(b.prints - common)))


def locate(a: Document, b: Document, skeleton: Skeleton, common: frozenset[int], k: int) -> tuple[tuple[Span, ...], tuple[Span, ...]]:
    """The runs of tokens two documents share, in each one's source: every k-gram they both have
    (the skeleton's left out), joined into runs, kept where a run holds a shared fingerprint that
    is not common code."""
    both = (set(a.hashes) & set(b.hashes)) - skeleton.hashes
    telling = (a.prints & b.prints) - common
    return _runs(a, both, telling, k), _runs(b, both, telling, k)


def _runs(doc: Document, both: set[int], telling: frozenset[int], k: int) -> tuple[Span, ...]:
    covered = [False] * len(doc.tokens)
    telling_at = [False] * len(doc.tokens)
    for i, h in enumerate(doc.hashes):
        if h in both:
            for j in range(i, i + k):
                covered[j] = True
            telling_at[i] = h in telling
    spans: list[Span] = []
    i = 0
    while i < len(covered):
        if not covered[i]:
            i += 1
            continue
        j = i
        while j < len(covered) and covered[j]:
            j += 1
        if any(telling_at[i:j]):
            spans += _spans(doc.tokens[i:j])
        i = j
    return tuple(spans)


def _spans(tokens: Sequence[Token]) -> list[Span]:
    """Per line, from the first token's start to the last token's end (a token over several lines
    marks the rest of its first line, its middle lines whole and the start of its last)."""
    spans: list[Span] = []
    current: Span | None = None
    for tok in tokens:
        pieces = [(tok.line, tok.col, tok.end_col if tok.end_line == tok.line else None)]
        if tok.end_line > tok.line:
            pieces += [(line, 0, None) for line in range(tok.line + 1, tok.end_line)] + [(tok.end_line, 0, tok.end_col)]
        for line, start, end in pieces:
            if current and current.cell == tok.cell and current.line == line and current.end is not None:
                current = Span(current.cell, line, current.start, end)
            else:
                if current:
                    spans.append(current)
                current = Span(tok.cell, line, start, end)
    if current:
        spans.append(current)
    return spans
