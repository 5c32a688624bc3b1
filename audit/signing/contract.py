"""The signing contract: what every signer computes, its result types, and the reference
helpers for anchors and exact shingle sets.

The contract every signer meets, bit for bit: for each text, the shingles are
``commons.normalize.shingles(text, ngram)`` encoded as UTF-8, each hashed with
``xxhash.xxh32_intdigest(shingle_bytes)`` (seed 0), and the signature is the
``hashvalues`` of ``datasketch.MinHash(num_perm=num_perm, seed=seed, scheme="affine32",
hashfunc=...)`` updated with those hashes. A text with no shingles (None, empty, or only
punctuation) gets datasketch's empty signature, every value ``2**32 - 1``; the stages
never index or match such a document and count it as empty instead.

Anchors (the containment index) are winnowing fingerprints: with ``key(s) =
fmix32(xxh32(s))`` (datasketch's affine32 pre-mix), every run of ``window`` consecutive
shingles contributes its rightmost minimum-key shingle (a text of at most ``window``
shingles is one run), and an anchor is the ``xxhash.xxh64_intdigest`` of that shingle.
Two texts sharing ``window`` consecutive shingles therefore always share an anchor.
Exact shingle sets are the sorted distinct xxh64 hashes of the shingles.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import pyarrow as pa
import xxhash

EMPTY_VALUE = np.uint32(0xFFFFFFFF)
_M32 = 0xFFFFFFFF


def shingle_hash(shingle: bytes) -> int:
    """The 32-bit hash of one UTF-8 encoded shingle (the signature contract's hashfunc)."""
    return xxhash.xxh32_intdigest(shingle)


def fmix32(h: int) -> int:
    """MurmurHash3's finaliser, datasketch's affine32 pre-mix of a 32-bit hash."""
    h ^= h >> 16
    h = (h * 0x85EBCA6B) & _M32
    h ^= h >> 13
    h = (h * 0xC2B2AE35) & _M32
    return h ^ (h >> 16)


@dataclass
class SignedBatch:
    """What signing a batch of ``n`` texts gives.

    Attributes:
        signatures: ``uint32[n, num_perm]``.
        n_words: ``int32[n]`` normalised words.
        n_shingles: ``int32[n]`` shingles, repeats included (0: empty text).
        anchor_rows: ``int64`` batch position of each anchor.
        anchors: ``uint64`` anchor hashes (distinct within a text).
    """

    signatures: np.ndarray
    n_words: np.ndarray
    n_shingles: np.ndarray
    anchor_rows: np.ndarray
    anchors: np.ndarray


@dataclass
class ShingleSets:
    """Exact shingle sets of ``n`` texts: text ``i`` is ``flat[seg[i, 0]:seg[i, 0] + seg[i, 1]]``,
    sorted distinct xxh64 hashes."""

    flat: np.ndarray
    seg: np.ndarray

    def get(self, i: int) -> np.ndarray:
        start, length = self.seg[i]
        return self.flat[start : start + length]


class Signer(Protocol):
    """Turns texts into MinHash signatures, bit-identical to
    :class:`audit.signing.reference.DatasketchSigner`.

    Implementations are built as ``Signer(num_perm=..., seed=..., ngram=..., window=...)``.
    """

    def sign(self, texts: Sequence[str | None]) -> np.ndarray:
        """Signatures of ``texts``: an ``(len(texts), num_perm)`` uint32 array."""
        ...

    def sign_batch(self, texts: pa.Array | pa.ChunkedArray) -> SignedBatch:
        """Signatures, counts and anchors of a string column (nulls are empty)."""
        ...

    def shingle_sets(self, texts: pa.Array | pa.ChunkedArray) -> ShingleSets:
        """Exact shingle sets of a string column."""
        ...


def winnow(keys: Sequence[int], window: int) -> list[int]:
    """Positions of the rightmost minimum of every ``window`` consecutive keys (sorted).

    >>> winnow([5, 1, 4, 1, 3], 3)
    [1, 3]
    >>> winnow([2, 2], 5)
    [1]
    """
    if not keys:
        return []
    w = min(window, len(keys))
    picked: set[int] = set()
    for s in range(len(keys) - w + 1):
        part = keys[s : s + w]
        m = min(part)
        picked.add(s + max(i for i, k in enumerate(part) if k == m))
    return sorted(picked)


def anchors_of(shingle_list: Sequence[str], window: int) -> list[int]:
    """The anchors (sorted distinct xxh64 hashes) of a text's shingles, in pure Python."""
    encoded = [s.encode("utf-8") for s in shingle_list]
    keys = [fmix32(shingle_hash(e)) for e in encoded]
    return sorted({xxhash.xxh64_intdigest(encoded[i]) for i in winnow(keys, window)})


def exact_set(shingle_list: Sequence[str]) -> np.ndarray:
    """Sorted distinct xxh64 hashes of shingles (an exact shingle set)."""
    hashes = [xxhash.xxh64_intdigest(s.encode("utf-8")) for s in shingle_list]
    return np.unique(np.asarray(hashes, dtype=np.uint64))


def shingle_positions(n_words: np.ndarray, ngram: int) -> np.ndarray:
    """Shingles of texts of ``n_words`` normalised words, repeats included.

    >>> shingle_positions(np.array([0, 3, 7]), 5).tolist()
    [0, 1, 3]
    """
    n = np.asarray(n_words, dtype=np.int64)
    return np.where(n == 0, 0, np.maximum(1, n - ngram + 1))
