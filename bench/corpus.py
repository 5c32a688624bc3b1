"""Reproducible benchmark corpora: Zipfian prose with planted near-duplicates.

Words follow a Zipf-Mandelbrot law (``p(r) ~ 1 / (r + 2.7) ** 1.07``) over a seeded
vocabulary of 40,000 words: the 120 most common English words, then pseudo-words that get
longer with rank; 0.1% of the words past rank 5,000 carry a non-ASCII letter or a curly
apostrophe, so about one document in six takes the non-ASCII path. Sentences end with a
period about every 15 words (the next word capitalised), commas fall about every 12
words, paragraphs break about every 8 sentences. Documents have ``N(550, 120)`` words,
clipped to [120, 1500].

Generation works on token ids in chunks and renders bytes with a numba kernel, so a
million documents take tens of seconds, not hours.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
from numba import njit

_COMMON_TEXT = (
    "the of and to a in is that for it as was with be by on not he i this are or his from at "
    "which but have an they you were her she there been one all we their has would when if "
    "so no will more can out up who what about them into some could him than then only its "
    "other time two may these any do new first our like also after over most made many such "
    "well where very through just before my your must should because each those how me "
    "even us while here both did does between much being under same another around against "
    "during without again often however"
)
COMMON = _COMMON_TEXT.split()
VOCAB = 40_000
SEPARATORS = (b" ", b", ", b". ", b".\n\n")
_SYLLABLES = ("ka", "to", "ri", "en", "mo", "sa", "lu", "ne", "di", "ar", "po", "vi", "te",
              "or", "an", "is", "ul", "ce", "ba", "fe", "go", "hi", "ja", "qu", "wy", "zo",
              "str", "ph", "th", "ng")
_ACCENTS = ("é", "ü", "ñ", "ø", "’s", "ç")


@dataclass(frozen=True)
class Vocabulary:
    """Word bytes (lower-case and capitalised), their offsets, and the rank CDF."""

    data: np.ndarray
    offsets: np.ndarray
    cdf: np.ndarray

    @property
    def size(self) -> int:
        return len(self.cdf)


@functools.cache
def vocabulary(seed: int = 0) -> Vocabulary:
    """The seeded vocabulary: ids ``[0, V)`` lower-case, ``[V, 2V)`` capitalised."""
    rng = np.random.default_rng(seed)
    words: list[str] = list(COMMON)
    seen = set(words)
    while len(words) < VOCAB:
        rank = len(words)
        n = int(rng.integers(1, 2 + int(np.log10(rank + 1))))
        w = "".join(_SYLLABLES[i] for i in rng.integers(0, len(_SYLLABLES), n))
        if rank >= 5000 and rng.random() < 0.001:
            w += _ACCENTS[int(rng.integers(len(_ACCENTS)))]
        if w not in seen:
            seen.add(w)
            words.append(w)
    forms = [w.encode() for w in words] + [w[:1].upper().encode() + w[1:].encode()
                                           for w in words]
    offsets = np.zeros(len(forms) + 1, dtype=np.int64)
    offsets[1:] = np.cumsum([len(f) for f in forms])
    weights = 1.0 / (np.arange(VOCAB) + 2.7) ** 1.07
    cdf = np.cumsum(weights / weights.sum())
    return Vocabulary(np.frombuffer(b"".join(forms), dtype=np.uint8), offsets, cdf)


@dataclass
class Tokens:
    """Documents as token ids and separator codes; doc ``d`` is ``[starts[d], starts[d+1])``."""

    ids: np.ndarray
    seps: np.ndarray
    starts: np.ndarray

    def __len__(self) -> int:
        return len(self.starts) - 1

    def doc(self, d: int) -> tuple[np.ndarray, np.ndarray]:
        s, e = self.starts[d], self.starts[d + 1]
        return self.ids[s:e], self.seps[s:e]


_BUCKETS = 1 << 20


@njit(cache=True)
def _uniform(state: np.ndarray) -> float:
    """splitmix64: the next uniform in [0, 1) from ``state[0]``."""
    state[0] += np.uint64(0x9E3779B97F4A7C15)
    z = state[0]
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    z = z ^ (z >> np.uint64(31))
    return float(z >> np.uint64(11)) * (1.0 / 9007199254740992.0)


@njit(cache=True)
def _draw(state: np.ndarray, cdf: np.ndarray, table: np.ndarray, ids: np.ndarray,
          seps: np.ndarray) -> None:
    """Word ids by inverse CDF (bucket table, then a short scan) and separator codes."""
    last = cdf.shape[0] - 1
    for i in range(ids.shape[0]):
        x = _uniform(state)
        w = table[int(x * _BUCKETS)]
        while w < last and cdf[w] < x:
            w += 1
        ids[i] = w
        y = _uniform(state)
        if y < 1 / 15:
            seps[i] = 3 if _uniform(state) < 1 / 8 else 2
        elif y < 1 / 15 + 1 / 12:
            seps[i] = 1
        else:
            seps[i] = 0


@functools.cache
def _bucket_table(key: int, cdf_bytes: bytes) -> np.ndarray:
    cdf = np.frombuffer(cdf_bytes, dtype=np.float64)
    return np.searchsorted(cdf, np.arange(_BUCKETS) / _BUCKETS).astype(np.int64)


def _table(vocab: Vocabulary) -> np.ndarray:
    return _bucket_table(len(vocab.cdf), vocab.cdf.tobytes())


def draw_tokens(rng: np.random.Generator, vocab: Vocabulary, lengths: np.ndarray) -> Tokens:
    """Fresh documents of the given word counts."""
    total = int(lengths.sum())
    ids = np.empty(total, dtype=np.int32)
    seps = np.empty(total, dtype=np.int8)
    state = rng.integers(0, 2**63, size=1, dtype=np.int64).astype(np.uint64)
    _draw(state, vocab.cdf, _table(vocab), ids, seps)
    starts = np.zeros(len(lengths) + 1, dtype=np.int64)
    starts[1:] = np.cumsum(lengths)
    return Tokens(ids, seps, starts)


def doc_lengths(rng: np.random.Generator, n: int, mean: int = 550) -> np.ndarray:
    """Word counts ``N(mean, 120)`` clipped to [120, 1500]."""
    return np.clip(rng.normal(mean, 120, n), 120, 1500).astype(np.int64)


@njit(cache=True)
def _render(ids: np.ndarray, seps: np.ndarray, starts: np.ndarray, vdata: np.ndarray,
            voffs: np.ndarray, vocab: int, sdata: np.ndarray,
            soffs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    n = starts.shape[0] - 1
    size = 0
    for i in range(ids.shape[0]):
        size += voffs[ids[i] + 1] - voffs[ids[i]] + soffs[seps[i] + 1] - soffs[seps[i]]
    out = np.empty(size + n, dtype=np.uint8)
    offsets = np.zeros(n + 1, dtype=np.int64)
    p = 0
    for d in range(n):
        capital = True
        for i in range(starts[d], starts[d + 1]):
            w = ids[i] + (vocab if capital else 0)
            for k in range(voffs[w], voffs[w + 1]):
                out[p] = vdata[k]
                p += 1
            s = seps[i] if i + 1 < starts[d + 1] else 2
            stop = soffs[s + 1] - (1 if i + 1 == starts[d + 1] else 0)
            for k in range(soffs[s], stop):
                out[p] = sdata[k]
                p += 1
            capital = s >= 2
        offsets[d + 1] = p
    return out[:p], offsets


def render(tokens: Tokens, vocab: Vocabulary) -> pa.LargeStringArray:
    """The documents as an Arrow string column (no per-document Python objects)."""
    sdata = np.frombuffer(b"".join(SEPARATORS), dtype=np.uint8)
    soffs = np.zeros(len(SEPARATORS) + 1, dtype=np.int64)
    soffs[1:] = np.cumsum([len(s) for s in SEPARATORS])
    data, offsets = _render(tokens.ids, tokens.seps, tokens.starts, vocab.data,
                            vocab.offsets, vocab.size, sdata, soffs)
    return pa.LargeStringArray.from_buffers(len(offsets) - 1, pa.py_buffer(offsets),
                                            pa.py_buffer(data))


def concat(parts: list[tuple[np.ndarray, np.ndarray]]) -> Tokens:
    """Documents from (ids, seps) pairs."""
    lengths = np.array([len(i) for i, _ in parts], dtype=np.int64)
    starts = np.zeros(len(parts) + 1, dtype=np.int64)
    starts[1:] = np.cumsum(lengths)
    if not parts:
        return Tokens(np.zeros(0, np.int32), np.zeros(0, np.int8), starts)
    return Tokens(np.concatenate([i for i, _ in parts]).astype(np.int32),
                  np.concatenate([s for _, s in parts]).astype(np.int8), starts)


def edited(rng: np.random.Generator, vocab: Vocabulary, ids: np.ndarray, seps: np.ndarray,
           rate: float) -> tuple[np.ndarray, np.ndarray]:
    """A copy with about ``rate`` of its words replaced by random vocabulary words."""
    ids = ids.copy()
    hit = rng.random(len(ids)) < rate
    ids[hit] = np.minimum(np.searchsorted(vocab.cdf, rng.random(int(hit.sum()))),
                          vocab.size - 1).astype(ids.dtype)
    return ids, seps.copy()


@dataclass
class DedupChunk:
    """One chunk of the signature corpus: texts and the planted (copy, original) pairs."""

    texts: pa.LargeStringArray
    pairs: np.ndarray


def _fill(tokens: Tokens, d: int, ids: np.ndarray, seps: np.ndarray) -> None:
    s, e = tokens.starts[d], tokens.starts[d + 1]
    assert e - s == len(ids), "a planted document must fill its slot exactly"
    tokens.ids[s:e] = ids
    tokens.seps[s:e] = seps


def dedup_chunks(n: int, seed: int = 7, dup_rate: float = 0.05, chunk: int = 50_000,
                 max_edit: float = 0.06) -> Iterator[DedupChunk]:
    """The signature corpus: ``n`` documents, ``dup_rate`` of them edited copies of an
    earlier document at most 500 positions back (edit rate uniform in [0, max_edit])."""
    vocab = vocabulary()
    for c, lo in enumerate(range(0, n, chunk)):
        rng = np.random.default_rng([seed, c])
        size = min(chunk, n - lo)
        lengths = doc_lengths(rng, size)
        dups = np.flatnonzero(rng.random(size) < dup_rate)
        dups = dups[dups > 0]
        origins = np.array([int(rng.integers(max(0, int(d) - 500), int(d))) for d in dups],
                           np.int64)
        originals = np.isin(np.arange(size), origins)
        keep = ~np.isin(dups, np.flatnonzero(originals))  # a copy is never itself copied
        dups, origins = dups[keep], origins[keep]
        lengths[dups] = lengths[origins]
        tokens = draw_tokens(rng, vocab, lengths)
        for d, o in zip(dups.tolist(), origins.tolist(), strict=True):
            _fill(tokens, d, *edited(rng, vocab, *tokens.doc(o), float(rng.uniform(0, max_edit))))
        yield DedupChunk(render(tokens, vocab), np.stack([dups + lo, origins + lo], axis=1))


#: Kinds of planted training documents in the audit corpus.
KINDS = ("unrelated", "near_duplicate", "truncation", "embedded")


@dataclass
class AuditChunk:
    """One chunk of the audit corpus: source texts, training texts, and the truth.

    ``kind[i]`` indexes :data:`KINDS`; ``origin[i]`` is the source row a planted training
    document came from (-1 for unrelated ones).
    """

    source: pa.LargeStringArray
    train: pa.LargeStringArray
    kind: np.ndarray
    origin: np.ndarray


def audit_chunks(n: int, seed: int = 11, chunk: int = 50_000,
                 rates: tuple[float, float, float] = (0.03, 0.01, 0.01)) -> Iterator[AuditChunk]:
    """``n`` source and ``n`` training documents; of the training ones, ``rates`` are
    near-duplicates (edit rate in [0, 2%]), 60% truncations and 120-word passages embedded
    in unrelated text, each planted from a source document of the same chunk."""
    vocab = vocabulary()
    for c, lo in enumerate(range(0, n, chunk)):
        rng = np.random.default_rng([seed, c])
        size = min(chunk, n - lo)
        source = draw_tokens(rng, vocab, doc_lengths(rng, size))
        src_len = np.diff(source.starts)
        kind = np.searchsorted(np.cumsum(rates), rng.random(size), side="right")
        kind = np.where(kind < len(rates), kind + 1, 0).astype(np.int8)
        origin = np.where(kind > 0, rng.integers(0, size, size), -1)
        lengths = doc_lengths(rng, size)
        at = np.maximum(1, (rng.random(size) * lengths).astype(np.int64))
        cut = np.zeros(size, dtype=np.int64)
        start = np.zeros(size, dtype=np.int64)
        o = np.maximum(origin, 0)
        cut[kind == 2] = np.maximum(1, (src_len[o] * 0.6).astype(np.int64))[kind == 2]
        start = (rng.random(size) * np.maximum(1, src_len[o] - 120)).astype(np.int64)
        host = lengths.copy()
        lengths = np.where(kind == 1, src_len[o], lengths)
        lengths = np.where(kind == 2, cut, lengths)
        lengths = np.where(kind == 3, host + np.minimum(120, src_len[o]), lengths)
        train = draw_tokens(rng, vocab, lengths)
        for d in np.flatnonzero(kind > 0).tolist():
            ids, seps = source.doc(int(origin[d]))
            if kind[d] == 1:
                _fill(train, d, *edited(rng, vocab, ids, seps, float(rng.uniform(0, 0.02))))
            elif kind[d] == 2:
                _fill(train, d, ids[: cut[d]], seps[: cut[d]])
            else:
                s0, a = int(start[d]), int(at[d])
                h_ids, h_seps = train.doc(d)
                h_ids, h_seps = h_ids[: host[d]].copy(), h_seps[: host[d]].copy()
                _fill(train, d, np.concatenate([h_ids[:a], ids[s0 : s0 + 120], h_ids[a:]]),
                      np.concatenate([h_seps[:a], seps[s0 : s0 + 120], h_seps[a:]]))
        yield AuditChunk(render(source, vocab), render(train, vocab), kind,
                         np.where(origin >= 0, origin + lo, -1))
