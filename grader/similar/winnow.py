"""Winnowing (Schleimer, Wilkerson and Aiken, SIGMOD 2003): a document's fingerprints.

Every run of `k` consecutive tokens (a k-gram) is hashed; in every window of `w` consecutive
k-gram hashes the smallest is selected (the rightmost on a tie), and each selected position is a
fingerprint. Two documents that share a run of at least `w + k - 1` tokens share a fingerprint;
runs shorter than `k` are never matched (noise).
"""

from __future__ import annotations

import hashlib
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field

MODULUS = (1 << 61) - 1  # a Mersenne prime: hashes are ints below it
BASE = 1_000_003


@dataclass
class Vocabulary:
    """A stable 60-bit value for each token text (the same in every process and every run)."""

    values: dict[str, int] = field(default_factory=dict)

    def value(self, text: str) -> int:
        found = self.values.get(text)
        if found is None:
            found = int.from_bytes(hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=8).digest(), "big") % MODULUS
            self.values[text] = found
        return found


def kgram_hashes(tokens: Sequence[str], k: int, vocabulary: Vocabulary) -> list[int]:
    """The hash of the k-gram starting at each position (a rolling polynomial hash); none when
    there are fewer than `k` tokens."""
    if k < 1:
        raise ValueError("k must be at least 1")
    if len(tokens) < k:
        return []
    values = [vocabulary.value(t) for t in tokens]
    top = pow(BASE, k - 1, MODULUS)
    h = 0
    for v in values[:k]:
        h = (h * BASE + v) % MODULUS
    hashes = [h]
    for i in range(k, len(values)):
        h = ((h - values[i - k] * top) * BASE + values[i]) % MODULUS
        hashes.append(h)
    return hashes


def winnow(hashes: Sequence[int], w: int) -> list[tuple[int, int]]:
    """(hash, position) of each fingerprint: the rightmost minimum of every window of `w` hashes,
    each position once. Fewer hashes than a window: their minimum alone."""
    if w < 1:
        raise ValueError("the window must be at least 1")
    if not hashes:
        return []
    if len(hashes) < w:
        position = min(range(len(hashes)), key=lambda i: (hashes[i], -i))
        return [(hashes[position], position)]
    selected: list[tuple[int, int]] = []
    window: deque[int] = deque()  # positions whose hashes increase strictly: the front is the window's rightmost minimum
    last = -1
    for i, h in enumerate(hashes):
        while window and hashes[window[-1]] >= h:
            window.pop()
        window.append(i)
        if window[0] <= i - w:
            window.popleft()
        if i >= w - 1 and window[0] != last:
            last = window[0]
            selected.append((hashes[last], last))
    return selected
