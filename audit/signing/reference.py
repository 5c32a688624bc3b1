"""The reference signer: ``datasketch.MinHash`` itself, with the contract's shingles and hash."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pyarrow as pa
from datasketch import MinHash

from audit.config import SCHEME
from audit.signing.contract import (
    EMPTY_VALUE,
    ShingleSets,
    SignedBatch,
    anchors_of,
    exact_set,
    shingle_hash,
)
from commons.normalize import shingles, words


class DatasketchSigner:
    """Signs with ``datasketch.MinHash.generator`` and xxh32 shingle hashes (pure Python).

    Args:
        num_perm: permutations per signature (datasketch's ``num_perm``).
        seed: datasketch's ``seed``; it fixes the permutations.
        ngram: words per shingle.
        window: shingles per winnowing window of the anchors.

    >>> sig = DatasketchSigner(num_perm=4, seed=1, ngram=2).sign(["a b c", ""])
    >>> sig.shape, bool((sig[1] == 2**32 - 1).all())
    ((2, 4), True)
    """

    def __init__(self, num_perm: int = 128, seed: int = 1, ngram: int = 5,
                 window: int = 46) -> None:
        self.num_perm = num_perm
        self.seed = seed
        self.ngram = ngram
        self.window = window
        self._empty = np.full(num_perm, EMPTY_VALUE, dtype=np.uint32)

    def sign(self, texts: Sequence[str | None]) -> np.ndarray:
        """Signatures of ``texts``: ``uint32[len(texts), num_perm]``."""
        out = np.empty((len(texts), self.num_perm), dtype=np.uint32)
        encoded = [[s.encode("utf-8") for s in shingles(t, self.ngram)] for t in texts]
        nonempty = [i for i, e in enumerate(encoded) if e]
        gen = MinHash.generator(
            (encoded[i] for i in nonempty),
            num_perm=self.num_perm,
            seed=self.seed,
            scheme=SCHEME,
            hashfunc=shingle_hash,
        )
        out[:] = self._empty
        for i, m in zip(nonempty, gen, strict=True):
            out[i] = m.hashvalues
        return out

    def sign_batch(self, texts: pa.Array | pa.ChunkedArray) -> SignedBatch:
        """Signatures, word and shingle counts, and anchors of a string column."""
        values = texts.to_pylist()
        sigs = self.sign(values)
        per_text = [shingles(t if isinstance(t, str) else None, self.ngram) for t in values]
        n_words = [len(words(t if isinstance(t, str) else None)) for t in values]
        rows: list[int] = []
        anchors: list[int] = []
        for i, sh in enumerate(per_text):
            found = anchors_of(sh, self.window)
            rows += [i] * len(found)
            anchors += found
        return SignedBatch(sigs, np.asarray(n_words, dtype=np.int32),
                           np.asarray([len(sh) for sh in per_text], dtype=np.int32),
                           np.asarray(rows, dtype=np.int64), np.asarray(anchors, dtype=np.uint64))

    def shingle_sets(self, texts: pa.Array | pa.ChunkedArray) -> ShingleSets:
        """Exact shingle sets (sorted distinct xxh64 hashes) of a string column."""
        sets = [exact_set(shingles(t if isinstance(t, str) else None, self.ngram))
                for t in texts.to_pylist()]
        seg = np.zeros((len(sets), 2), dtype=np.int64)
        seg[:, 1] = [len(x) for x in sets]
        seg[1:, 0] = np.cumsum(seg[:-1, 1])
        flat = np.concatenate(sets) if sets else np.zeros(0, dtype=np.uint64)
        return ShingleSets(flat.astype(np.uint64), seg)
