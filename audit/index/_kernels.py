"""Numba kernels of the index stage: the 64-bit keys of LSH bands.

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
    """``out[d, b]``: the 64-bit key of band ``b`` of signature ``d`` (see audit.index.bands).

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
