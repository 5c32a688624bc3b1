"""The bench corpora are reproducible and carry the planted overlap."""

from __future__ import annotations

import numpy as np

from bench.corpus import KINDS, audit_chunks, dedup_chunks, render, vocabulary


def test_corpora_are_reproducible_and_planted() -> None:
    a = next(dedup_chunks(2000, seed=3, chunk=1000))
    b = next(dedup_chunks(2000, seed=3, chunk=1000))
    assert a.texts.equals(b.texts) and np.array_equal(a.pairs, b.pairs) and len(a.pairs) > 20
    words = [len(t.split()) for t in a.texts.to_pylist()]
    assert 450 < np.mean(words) < 650
    copy, orig = a.pairs[0]
    assert a.texts[int(copy)].as_py() != "" and a.texts[int(orig)].as_py() != ""
    chunk = next(audit_chunks(3000, seed=4, chunk=3000))
    counts = np.bincount(chunk.kind, minlength=len(KINDS))
    assert counts[0] > 2500 and (counts[1:] > 0).all()
    assert (chunk.origin[chunk.kind > 0] >= 0).all() and (chunk.origin[chunk.kind == 0] < 0).all()
    assert render is not None and vocabulary().size == 40_000
