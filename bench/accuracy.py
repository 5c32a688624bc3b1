"""Recall and precision of a signature method on the planted near-duplicates.

Candidates are the pairs sharing an LSH band (the method's own layout); a candidate is
predicted a duplicate when its estimated Jaccard reaches the threshold (methods with 64-bit
values and their own layout, i.e. datatrove, predict every candidate, as datatrove does).
The truth is the exact Jaccard of the normalised 5-gram shingle sets: a pair is a true
duplicate when it reaches the threshold.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from audit.match.overlap import pair_overlaps
from audit.signing.compiled import FastSigner


@dataclass(frozen=True)
class Accuracy:
    """How a method's decisions compare with the exact truth."""

    true_pairs: int
    predicted: int
    true_positive: int

    @property
    def recall(self) -> float:
        return self.true_positive / self.true_pairs if self.true_pairs else float("nan")

    @property
    def precision(self) -> float:
        return self.true_positive / self.predicted if self.predicted else float("nan")


def band_pairs(signatures: np.ndarray, bands: int, rows: int) -> set[tuple[int, int]]:
    """Pairs ``(i, j)``, ``i > j``, that share at least one band."""
    pairs: set[tuple[int, int]] = set()
    sig = np.ascontiguousarray(signatures)
    for b in range(bands):
        part = np.ascontiguousarray(sig[:, b * rows : (b + 1) * rows])
        keys = part.view(np.dtype((np.void, part.dtype.itemsize * rows))).ravel()
        _, inverse, counts = np.unique(keys, return_inverse=True, return_counts=True)
        for g in np.flatnonzero(counts > 1):
            members = np.flatnonzero(inverse == g)
            for x in members:
                for y in members:
                    if x > y:
                        pairs.add((int(x), int(y)))
    return pairs


def take(texts: pa.ChunkedArray, rows: np.ndarray) -> pa.Array:
    """``texts[rows]`` for sorted ``rows``, chunk by chunk (no concatenation of the column)."""
    starts = np.concatenate([[0], np.cumsum([len(c) for c in texts.chunks])])
    which = np.searchsorted(starts, rows, side="right") - 1
    parts = [texts.chunk(int(c)).take(pa.array(rows[which == c] - starts[c]))
             .cast(pa.large_string()) for c in np.unique(which)]
    return pa.concat_arrays(parts) if parts else pa.array([], pa.large_string())


def exact_jaccard(texts: pa.ChunkedArray, pairs: np.ndarray) -> np.ndarray:
    """Exact Jaccard of the shingle sets of each pair of rows of ``texts``."""
    if len(pairs) == 0:
        return np.zeros(0)
    rows = np.unique(pairs)
    sets = FastSigner().shingle_sets(take(texts, rows))
    local = np.searchsorted(rows, pairs)
    return pair_overlaps(sets, local[:, 0], sets, local[:, 1]).jaccard


def accuracy(signatures: np.ndarray, layout: tuple[int, int], texts: pa.ChunkedArray,
             planted: np.ndarray, threshold: float) -> Accuracy:
    """Recall and precision of ``signatures`` (rows of ``texts``) at ``threshold``."""
    n = len(signatures)
    planted = planted[(planted < n).all(axis=1)] if len(planted) else planted.reshape(0, 2)
    candidates = band_pairs(signatures, *layout)
    cand = np.array(sorted(candidates), dtype=np.int64).reshape(-1, 2)
    if signatures.dtype == np.uint64:
        predicted = cand
    else:
        est = (signatures[cand[:, 0]] == signatures[cand[:, 1]]).mean(axis=1) if len(cand) \
            else np.zeros(0)
        predicted = cand[est >= threshold]
    every = np.unique(np.concatenate([planted, cand]), axis=0) if len(cand) else planted
    truth_j = exact_jaccard(texts, every)
    truth = {tuple(p) for p, j in zip(every.tolist(), truth_j, strict=True) if j >= threshold}
    pred = {tuple(p) for p in predicted.tolist()}
    return Accuracy(len(truth), len(pred), len(truth & pred))
