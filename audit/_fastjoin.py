"""Numba kernels of the index and match stages: band keys and exact set overlaps.

Self-contained on purpose: numba's on-disk cache is invalidated per source file, so these
kernels call nothing from another module.
"""

from __future__ import annotations

import numpy as np
from numba import njit

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)


@njit(cache=True, nogil=True, inline="always")
def _mix64(x: np.uint64) -> np.uint64:
    x = x ^ (x >> np.uint64(30))
    x = x * _M1
    x = x ^ (x >> np.uint64(27))
    x = x * _M2
    return x ^ (x >> np.uint64(31))


_BLOCK = 64


@njit(cache=True, nogil=True)
def band_keys(signatures: np.ndarray, bands: int, rows: int, out: np.ndarray) -> None:
    """``out[d, b]``: the 64-bit key of band ``b`` of signature ``d`` (see audit.index).

    Documents go in blocks of 64 with the block innermost, so the 64 independent hash
    chains fill the pipeline (and SIMD lanes) instead of waiting on one chain's multiplies.
    """
    n = signatures.shape[0]
    h = np.empty(_BLOCK, dtype=np.uint64)
    for lo in range(0, n, _BLOCK):
        m = min(_BLOCK, n - lo)
        for b in range(bands):
            start = np.uint64(b) * _GOLDEN + _GOLDEN
            for i in range(m):
                h[i] = start
            for j in range(b * rows, (b + 1) * rows):
                for i in range(m):
                    h[i] = _mix64(h[i] ^ (np.uint64(signatures[lo + i, j]) + _GOLDEN))
            for i in range(m):
                out[lo + i, b] = h[i]


@njit(cache=True, nogil=True)
def band_rows(signatures: np.ndarray, owners: np.ndarray, bands: int, rows: int,
              row: np.ndarray, band: np.ndarray, key: np.ndarray) -> None:
    """The long band table: entry ``d * bands + b`` is (owners[d], b, key of band b of d)."""
    n = signatures.shape[0]
    keys = np.empty((min(n, 4096), bands), dtype=np.uint64)
    for lo in range(0, n, 4096):
        m = min(4096, n - lo)
        band_keys(signatures[lo : lo + m], bands, rows, keys)
        for i in range(m):
            for b in range(bands):
                k = (lo + i) * bands + b
                row[k] = owners[lo + i]
                band[k] = b
                key[k] = keys[i, b]


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
