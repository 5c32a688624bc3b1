"""Numba kernels of the match stage: overlaps of exact shingle sets (sorted distinct hashes).

Self-contained on purpose: numba's on-disk cache is invalidated per source file, so these
kernels call nothing from another module.
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True, nogil=True, inline="always")
def _shared(flat_a: np.ndarray, sa: int, na: int, flat_b: np.ndarray, sb: int, nb: int) -> int:
    i = 0
    j = 0
    n = 0
    while i < na and j < nb:
        x = flat_a[sa + i]
        y = flat_b[sb + j]
        if x == y:
            n += 1
            i += 1
            j += 1
        elif x < y:
            i += 1
        else:
            j += 1
    return n


@njit(cache=True, nogil=True)
def pair_shared(flat_a: np.ndarray, seg_a: np.ndarray, rows_a: np.ndarray,
                flat_b: np.ndarray, seg_b: np.ndarray, rows_b: np.ndarray) -> np.ndarray:
    """Shared hashes of each pair ``(rows_a[i], rows_b[i])`` of sorted distinct sets.

    Set ``r`` of side A is ``flat_a[seg_a[r, 0] : seg_a[r, 0] + seg_a[r, 1]]``.
    """
    out = np.empty(rows_a.shape[0], dtype=np.int64)
    for i in range(rows_a.shape[0]):
        ra = rows_a[i]
        rb = rows_b[i]
        out[i] = _shared(flat_a, seg_a[ra, 0], seg_a[ra, 1], flat_b, seg_b[rb, 0], seg_b[rb, 1])
    return out


@njit(cache=True, nogil=True)
def covered(flat_a: np.ndarray, seg_a: np.ndarray, rows_a: np.ndarray,
            flat_b: np.ndarray, seg_b: np.ndarray, rows_b: np.ndarray,
            groups: np.ndarray) -> np.ndarray:
    """Share of set ``rows_a[g]`` found in the union of sets ``rows_b[groups[g]:groups[g+1]]``."""
    out = np.zeros(rows_a.shape[0], dtype=np.float64)
    longest = 1
    for g in range(rows_a.shape[0]):
        longest = max(longest, seg_a[rows_a[g], 1])
    hit = np.empty(longest, dtype=np.bool_)
    for g in range(rows_a.shape[0]):
        sa = seg_a[rows_a[g], 0]
        na = seg_a[rows_a[g], 1]
        if na == 0:
            continue
        hit[:na] = False
        for k in range(groups[g], groups[g + 1]):
            sb = seg_b[rows_b[k], 0]
            nb = seg_b[rows_b[k], 1]
            i = 0
            j = 0
            while i < na and j < nb:
                x = flat_a[sa + i]
                y = flat_b[sb + j]
                if x == y:
                    hit[i] = True
                    i += 1
                    j += 1
                elif x < y:
                    i += 1
                else:
                    j += 1
        out[g] = hit[:na].sum() / na
    return out
