"""Exact and estimated Jaccard and containment of shingle sets.

Exact values compare the sets of normalised word shingles (each reduced to a 64-bit
``xxh3`` hash; a collision needs ~2**32 shingles per document to become likely).
Estimated containment comes from the MinHash Jaccard and the two set sizes:
``C(A in B) = J * (|A| + |B|) / ((1 + J) * |A|)``, clipped to [0, 1].
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import xxhash

from commons.normalize import iter_shingles, words


def shingle_set(text: str | None, ngram: int) -> np.ndarray:
    """Sorted unique uint64 hashes of the text's shingles."""
    hashes = [xxhash.xxh3_64_intdigest(s.encode("utf-8"))
              for s in iter_shingles(words(text), ngram)]
    return np.unique(np.asarray(hashes, dtype=np.uint64))


@dataclass(frozen=True)
class Overlap:
    """Exact overlap of a training set A and a source set B."""

    shared: int
    jaccard: float
    a_in_b: float
    b_in_a: float


def exact_overlap(a: np.ndarray, b: np.ndarray) -> Overlap:
    """Jaccard and both containments of two sorted unique hash arrays."""
    if len(a) == 0 or len(b) == 0:
        return Overlap(0, 0.0, 0.0, 0.0)
    shared = int(np.intersect1d(a, b, assume_unique=True).size)
    union = len(a) + len(b) - shared
    return Overlap(shared, shared / union, shared / len(a), shared / len(b))


def covered_fraction(a: np.ndarray, others: list[np.ndarray]) -> float:
    """Share of ``a``'s shingles found in the union of ``others``."""
    if len(a) == 0 or not others:
        return 0.0
    hit = np.zeros(len(a), dtype=bool)
    for b in others:
        hit |= np.isin(a, b, assume_unique=True)
    return float(hit.mean())


def estimated_jaccard(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Row-wise MinHash Jaccard estimates of two ``(n, num_perm)`` signature arrays."""
    return np.asarray((a == b).mean(axis=1), dtype=np.float64)


def estimated_containment(j: np.ndarray, size_a: np.ndarray, size_b: np.ndarray) -> np.ndarray:
    """Estimated ``C(A in B)`` from Jaccard estimates and set sizes (row-wise)."""
    j = np.asarray(j, dtype=np.float64)
    a = np.maximum(np.asarray(size_a, dtype=np.float64), 1.0)
    b = np.asarray(size_b, dtype=np.float64)
    return np.clip(j * (a + b) / ((1.0 + j) * a), 0.0, 1.0)


class ShingleCache:
    """An LRU of shingle sets by row, filled by ``load(rows) -> texts``."""

    def __init__(self, ngram: int, load: Callable[[list[int]], list[str | None]],
                 capacity: int = 4096) -> None:
        self.ngram = ngram
        self.load = load
        self.capacity = capacity
        self._items: OrderedDict[int, np.ndarray] = OrderedDict()

    def prefetch(self, rows: list[int]) -> None:
        """Load the rows not yet cached in one call."""
        missing = sorted({r for r in rows if r not in self._items})
        if not missing:
            return
        for r, text in zip(missing, self.load(missing), strict=True):
            self._put(r, shingle_set(text, self.ngram))

    def get(self, row: int) -> np.ndarray:
        if row in self._items:
            self._items.move_to_end(row)
            return self._items[row]
        self.prefetch([row])
        return self._items[row]

    def _put(self, row: int, value: np.ndarray) -> None:
        self._items[row] = value
        self._items.move_to_end(row)
        while len(self._items) > self.capacity:
            self._items.popitem(last=False)
