"""Exact and estimated Jaccard and containment of shingle sets.

Exact values compare sets of normalised word shingles, each reduced to its 64-bit
``xxh64`` hash (:class:`audit.signing.contract.ShingleSets`; a collision needs ~2**32 shingles per
document to become likely), with compiled merge kernels (:mod:`audit.match._kernels`).
Estimated containment comes from the MinHash Jaccard and the two set sizes:
``C(A in B) = J * (|A| + |B|) / ((1 + J) * |A|)``, clipped to [0, 1].
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from audit.match import _kernels
from audit.signing.contract import ShingleSets


@dataclass(frozen=True)
class PairOverlaps:
    """Exact overlap of training sets A and source sets B, pair by pair."""

    shared: np.ndarray
    jaccard: np.ndarray
    a_in_b: np.ndarray
    b_in_a: np.ndarray


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    out = np.zeros(len(num), dtype=np.float64)
    ok = den > 0
    out[ok] = num[ok] / den[ok]
    return out


def pair_overlaps(a: ShingleSets, rows_a: np.ndarray, b: ShingleSets,
                  rows_b: np.ndarray) -> PairOverlaps:
    """Shared shingles, Jaccard and both containments of pairs ``(a[rows_a[i]], b[rows_b[i]])``.

    An empty set overlaps nothing (all values 0).
    """
    rows_a = np.ascontiguousarray(rows_a, dtype=np.int64)
    rows_b = np.ascontiguousarray(rows_b, dtype=np.int64)
    shared = _kernels.pair_shared(a.flat, a.seg, rows_a, b.flat, b.seg, rows_b)
    na = a.seg[rows_a, 1]
    nb = b.seg[rows_b, 1]
    s = shared.astype(np.float64)
    both = (na > 0) & (nb > 0)
    return PairOverlaps(shared, _ratio(s, (na + nb - shared) * both),
                        _ratio(s, na * both), _ratio(s, nb * both))


def covered_fractions(a: ShingleSets, rows_a: np.ndarray, b: ShingleSets, rows_b: np.ndarray,
                      groups: np.ndarray) -> np.ndarray:
    """Share of set ``a[rows_a[g]]`` found in the union of ``b[rows_b[groups[g]:groups[g+1]]]``."""
    return _kernels.covered(a.flat, a.seg, np.ascontiguousarray(rows_a, dtype=np.int64),
                             b.flat, b.seg, np.ascontiguousarray(rows_b, dtype=np.int64),
                             np.ascontiguousarray(groups, dtype=np.int64))


def estimated_jaccard(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Row-wise MinHash Jaccard estimates of two ``(n, num_perm)`` signature arrays."""
    return np.asarray((a == b).mean(axis=1), dtype=np.float64)


def estimated_containment(j: np.ndarray, size_a: np.ndarray, size_b: np.ndarray) -> np.ndarray:
    """Estimated ``C(A in B)`` from Jaccard estimates and set sizes (row-wise)."""
    j = np.asarray(j, dtype=np.float64)
    a = np.maximum(np.asarray(size_a, dtype=np.float64), 1.0)
    b = np.asarray(size_b, dtype=np.float64)
    return np.clip(j * (a + b) / ((1.0 + j) * a), 0.0, 1.0)
