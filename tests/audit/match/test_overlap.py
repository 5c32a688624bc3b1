"""Exact set overlaps: the compiled merge kernels equal numpy set operations."""

from __future__ import annotations

import numpy as np
import pytest

from audit.match import _kernels


def test_set_overlap_kernels_equal_numpy() -> None:
    rng = np.random.default_rng(4)
    sets = [np.unique(rng.integers(0, 60, size=rng.integers(0, 40)).astype(np.uint64))
            for _ in range(30)]
    seg = np.zeros((30, 2), dtype=np.int64)
    seg[:, 1] = [len(s) for s in sets]
    seg[1:, 0] = np.cumsum(seg[:-1, 1])
    flat = np.concatenate(sets)
    a = rng.integers(0, 30, 200)
    b = rng.integers(0, 30, 200)
    shared = _kernels.pair_shared(flat, seg, a, flat, seg, b)
    want = [len(np.intersect1d(sets[i], sets[j])) for i, j in zip(a, b, strict=True)]
    assert shared.tolist() == want
    groups = np.array([0, 3, 3, 10], dtype=np.int64)
    cover = _kernels.covered(flat, seg, a[:3], flat, seg, b[:10], groups)
    for g in range(3):
        others = [sets[j] for j in b[groups[g] : groups[g + 1]]]
        hit = np.isin(sets[a[g]], np.concatenate(others)) if others else np.zeros(0, bool)
        want = float(hit.mean()) if len(sets[a[g]]) and others else 0.0
        assert cover[g] == pytest.approx(want)
