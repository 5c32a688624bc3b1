"""MinHash signing: the ``Signer`` contract, the datasketch reference, and anchors.

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

import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

import numpy as np
import pyarrow as pa
import xxhash
from datasketch import MinHash

from audit.config import SCHEME, AuditConfig
from commons.exceptions import ConfigError
from commons.normalize import shingles, words

EMPTY_VALUE = np.uint32(0xFFFFFFFF)
_M32 = 0xFFFFFFFF
T = TypeVar("T")
R = TypeVar("R")


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
    """Turns texts into MinHash signatures, bit-identical to :class:`DatasketchSigner`.

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


def _texts(texts: pa.Array | pa.ChunkedArray) -> list[Any]:
    return texts.to_pylist()


class DatasketchSigner:
    """The reference signer: ``datasketch.MinHash.generator`` with xxh32 shingle hashes.

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
        values = _texts(texts)
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
        sets = [exact_set(shingles(t if isinstance(t, str) else None, self.ngram))
                for t in _texts(texts)]
        seg = np.zeros((len(sets), 2), dtype=np.int64)
        seg[:, 1] = [len(x) for x in sets]
        seg[1:, 0] = np.cumsum(seg[:-1, 1])
        flat = np.concatenate(sets) if sets else np.zeros(0, dtype=np.uint64)
        return ShingleSets(flat.astype(np.uint64), seg)


def make_signer(config: AuditConfig) -> Signer:
    """The compiled ``audit.fast.FastSigner`` when available and allowed, else the reference.

    Raises:
        ConfigError: ``signer="fast"`` but ``audit.fast`` cannot be imported.
    """
    kwargs = {"num_perm": config.num_perm, "seed": config.seed, "ngram": config.ngram,
              "window": anchor_window(config)}
    if config.signer in ("auto", "fast"):
        try:
            from audit.fast import FastSigner  # type: ignore[import-not-found,unused-ignore]
        except ImportError as exc:
            if config.signer == "fast":
                raise ConfigError(
                    f"--signer fast: audit.fast is not importable ({exc}); build it or use "
                    "--signer reference"
                ) from exc
        else:
            signer: Signer = FastSigner(**kwargs)
            return signer
    return DatasketchSigner(**kwargs)


def anchor_window(config: AuditConfig) -> int:
    """Shingles per winnowing window: a shared passage of ``window_words`` words is found."""
    return config.window_words - config.ngram + 1


def shingle_positions(n_words: np.ndarray, ngram: int) -> np.ndarray:
    """Shingles of texts of ``n_words`` normalised words, repeats included.

    >>> shingle_positions(np.array([0, 3, 7]), 5).tolist()
    [0, 1, 3]
    """
    n = np.asarray(n_words, dtype=np.int64)
    return np.where(n == 0, 0, np.maximum(1, n - ngram + 1))


def signer_name(signer: Signer) -> str:
    """``module.Class`` of a signer, for run.json."""
    return f"{type(signer).__module__}.{type(signer).__qualname__}"


def bounded_map(fn: Callable[[T], R], items: Iterable[T], workers: int) -> Iterator[tuple[T, R]]:
    """``(item, fn(item))`` in input order, at most ``2 * workers`` items in flight.

    ``fn`` runs in ``workers`` threads; the compiled signers release the GIL, so signing
    overlaps reading and writing in the calling thread.
    """
    with ThreadPoolExecutor(workers) as pool:
        pending: deque[tuple[T, Future[R]]] = deque()
        for item in items:
            pending.append((item, pool.submit(fn, item)))
            while len(pending) > workers:
                done, future = pending.popleft()
                yield done, future.result()
        while pending:
            done, future = pending.popleft()
            yield done, future.result()


def workers() -> int:
    """Threads that sign side by side: the CPUs this process may use."""
    return max(1, len(os.sched_getaffinity(0)))
