"""Numba kernels behind :mod:`audit.fast`: normalise, shingle, xxh32 and affine32 MinHash.

Every kernel works on an Arrow-style string column: ``data`` (UTF-8 bytes) and ``offsets``
(``n + 1`` int64 positions into ``data``). Kernels are compiled once per machine and cached
in ``__pycache__`` next to this file (``cache=True``); ``nogil=True`` lets threads share them.

Why the split into an ASCII pass and an "island" pass is exact: on ASCII text the reference
normalisation (NFKC, casefold, NFKC, non-L/N/M -> space) is "lowercase, keep [a-z0-9]".
Around non-ASCII characters, NFKC may compose an ASCII base with a following mark
("e" + U+0301, "<" + U+0338), but no ASCII character is ever the second half of a
composition and every ASCII character is a starter, so cutting the text just before any
ASCII character gives pieces that normalise independently. An island is a maximal run of
non-ASCII bytes, plus the ASCII character before it when that character is a composition
base (a letter or one of ``<=>``). Python normalises the islands; the kernels do the rest.
"""

from __future__ import annotations

import numpy as np
from numba import njit

_MASK32 = np.uint64(0xFFFFFFFF)
_P1 = np.uint64(2654435761)
_P2 = np.uint64(2246822519)
_P3 = np.uint64(3266489917)
_P4 = np.uint64(668265263)
_P5 = np.uint64(374761393)
_SPACE = np.uint8(32)


def _ascii_map() -> np.ndarray:
    """Byte -> normalised byte for ASCII (0 = separator); bytes >= 0x80 map to 0."""
    table = np.zeros(256, dtype=np.uint8)
    for c in b"abcdefghijklmnopqrstuvwxyz0123456789":
        table[c] = c
    for c in b"ABCDEFGHIJKLMNOPQRSTUVWXYZ":
        table[c] = c + 32
    return table


def _composition_bases() -> np.ndarray:
    """1 for ASCII bytes that start a canonical composition (letters and ``<=>``)."""
    table = np.zeros(256, dtype=np.uint8)
    for c in b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ<=>":
        table[c] = 1
    return table


ASCII_MAP = _ascii_map()
COMPOSITION_BASES = _composition_bases()


@njit(cache=True, nogil=True, inline="always")
def _rotl(x: np.uint64, r: int) -> np.uint64:
    return ((x << np.uint64(r)) | (x >> np.uint64(32 - r))) & _MASK32


@njit(cache=True, nogil=True, inline="always")
def _read32(buf: np.ndarray, i: int) -> np.uint64:
    # Unsigned indices skip numba's negative-index fix-up, so LLVM merges the four loads.
    u = np.uint64(i)
    return (
        np.uint64(buf[u])
        | (np.uint64(buf[u + np.uint64(1)]) << np.uint64(8))
        | (np.uint64(buf[u + np.uint64(2)]) << np.uint64(16))
        | (np.uint64(buf[u + np.uint64(3)]) << np.uint64(24))
    )


@njit(cache=True, nogil=True, inline="always")
def _round(acc: np.uint64, lane: np.uint64) -> np.uint64:
    acc = (acc + lane * _P2) & _MASK32
    return (_rotl(acc, 13) * _P1) & _MASK32


@njit(cache=True, nogil=True, inline="always")
def xxh32(buf: np.ndarray, start: int, end: int) -> np.uint32:
    """xxHash32 (seed 0) of ``buf[start:end]``, equal to ``xxhash.xxh32_intdigest``.

    The tail rounds are computed unconditionally and selected, which avoids branch
    misses on word-length tails; so ``buf`` must hold 12 readable bytes past ``end``.
    """
    length = end - start
    p = start
    if length >= 16:
        v1 = (_P1 + _P2) & _MASK32
        v2 = _P2
        v3 = np.uint64(0)
        v4 = (np.uint64(1 << 32) - _P1) & _MASK32
        limit = end - 16
        while p <= limit:
            v1 = _round(v1, _read32(buf, p))
            v2 = _round(v2, _read32(buf, p + 4))
            v3 = _round(v3, _read32(buf, p + 8))
            v4 = _round(v4, _read32(buf, p + 12))
            p += 16
        h = (_rotl(v1, 1) + _rotl(v2, 7) + _rotl(v3, 12) + _rotl(v4, 18)) & _MASK32
    else:
        h = _P5
    h = (h + np.uint64(length)) & _MASK32
    words = (end - p) >> 2
    for j in range(3):
        nh = (_rotl((h + _read32(buf, p + 4 * j) * _P3) & _MASK32, 17) * _P4) & _MASK32
        h = nh if j < words else h
    p += 4 * words
    rest = end - p
    for j in range(3):
        byte = np.uint64(buf[np.uint64(p + j)])
        nh = (_rotl((h + byte * _P5) & _MASK32, 11) * _P1) & _MASK32
        h = nh if j < rest else h
    h ^= h >> np.uint64(15)
    h = (h * _P2) & _MASK32
    h ^= h >> np.uint64(13)
    h = (h * _P3) & _MASK32
    h ^= h >> np.uint64(16)
    return np.uint32(h)


@njit(cache=True, nogil=True, inline="always")
def _fmix32(h: np.uint32) -> np.uint32:
    """MurmurHash3 finaliser, datasketch's affine32 pre-mix."""
    x = np.uint64(h)
    x ^= x >> np.uint64(16)
    x = (x * np.uint64(0x85EBCA6B)) & _MASK32
    x ^= x >> np.uint64(13)
    x = (x * np.uint64(0xC2B2AE35)) & _MASK32
    x ^= x >> np.uint64(16)
    return np.uint32(x)


@njit(cache=True, nogil=True)
def _sign_words(
    buf: np.ndarray,
    end: int,
    starts: np.ndarray,
    nwords: int,
    ngram: int,
    hashes: np.ndarray,
    a: np.ndarray,
    b: np.ndarray,
    out_row: np.ndarray,
) -> None:
    """MinHash of the word n-grams of ``buf[:end]`` (words at ``starts``, one space apart)."""
    if nwords == 0:
        out_row[:] = np.uint32(0xFFFFFFFF)
        return
    if nwords <= ngram:
        nsh = 1
        hashes[0] = _fmix32(xxh32(buf, starts[0], end))
    else:
        nsh = nwords - ngram + 1
        for i in range(nsh):
            j = i + ngram
            stop = end if j == nwords else starts[j] - 1
            hashes[i] = _fmix32(xxh32(buf, starts[i], stop))
    for k in range(a.shape[0]):
        ak = a[k]
        bk = b[k]
        m = np.uint32(0xFFFFFFFF)
        for i in range(nsh):
            v = np.uint32(ak * hashes[i] + bk)
            m = min(m, v)
        out_row[k] = m


@njit(cache=True, nogil=True, inline="always")
def _ascii_run(
    data: np.ndarray,
    p: int,
    end: int,
    ascii_map: np.ndarray,
    buf: np.ndarray,
    starts: np.ndarray,
    pos: int,
    nwords: int,
    in_word: bool,
) -> tuple[int, int, bool, np.int64]:
    """Append normalised ASCII ``data[p:]`` to ``buf`` up to ``end`` or the first non-ASCII byte.

    Words go in one space apart; ``starts`` gets each word's first position. Returns the new
    (length, word count, inside a word, where it stopped).
    """
    for i in range(np.uint64(p), np.uint64(end)):
        c = data[i]
        if c >= 128:
            return pos, nwords, in_word, np.int64(i)
        m = ascii_map[c]
        if m != 0:
            if not in_word:
                if nwords > 0:
                    buf[pos] = _SPACE
                    pos += 1
                starts[nwords] = pos
                nwords += 1
                in_word = True
            buf[pos] = m
            pos += 1
        else:
            in_word = False
    return pos, nwords, in_word, np.int64(end)


@njit(cache=True, nogil=True, inline="always")
def _island_bounds(
    data: np.ndarray, run_start: int, q: int, end: int, bases: np.ndarray
) -> tuple[int, int]:
    """The island around the non-ASCII byte ``q``, the first after ASCII ``data[run_start:q]``."""
    first = q - 1 if q > run_start and bases[data[q - 1]] != 0 else q
    stop = q + 1
    while stop < end and data[stop] >= 128:
        stop += 1
    return first, stop


@njit(cache=True, nogil=True)
def _normalize_islands(
    data: np.ndarray,
    p: int,
    end: int,
    islands: np.ndarray,
    island_offsets: np.ndarray,
    island: int,
    keep: np.ndarray,
    ascii_map: np.ndarray,
    bases: np.ndarray,
    buf: np.ndarray,
    starts: np.ndarray,
) -> tuple[int, int, int]:
    """Normalise ``data[p:end]``, taking islands from ``island`` on: (length, words, next island).

    ``islands[island_offsets[i]:island_offsets[i + 1] - 1]`` is island ``i`` (in
    :func:`island_spans` order) after NFKC, casefold, NFKC, and a NUL follows it; ``keep[cp]``
    is 1 when code point ``cp`` is a letter, number or mark.
    """
    pos = 0
    nwords = 0
    in_word = False
    while True:
        pos, nwords, in_word, q = _ascii_run(
            data, p, end, ascii_map, buf, starts, pos, nwords, in_word
        )
        if q >= end:
            return pos, nwords, island
        first, p = _island_bounds(data, p, q, end, bases)
        if first < q and ascii_map[data[first]] != 0:
            # The island took back a letter that the ASCII run already wrote ("<=>" only
            # wrote a separator, and their islands start with a separator anyway).
            pos -= 1
            if starts[nwords - 1] == pos:
                nwords -= 1
                in_word = False
                if nwords > 0:
                    pos -= 1  # the space written before that word
        r = island_offsets[island]
        r_end = island_offsets[island + 1] - 1  # each island ends with a NUL separator
        island += 1
        while r < r_end:
            lead = islands[r]
            if lead < 0x80:
                size = 1
                cp = np.int64(lead)
            elif lead < 0xE0:
                size = 2
                cp = np.int64(lead & 0x1F)
            elif lead < 0xF0:
                size = 3
                cp = np.int64(lead & 0x0F)
            else:
                size = 4
                cp = np.int64(lead & 0x07)
            for j in range(1, size):
                cp = (cp << 6) | np.int64(islands[r + j] & 0x3F)
            if keep[cp] != 0:
                if not in_word:
                    if nwords > 0:
                        buf[pos] = _SPACE
                        pos += 1
                    starts[nwords] = pos
                    nwords += 1
                    in_word = True
                for j in range(size):
                    buf[pos] = islands[r + j]
                    pos += 1
            else:
                in_word = False
            r += size


@njit(cache=True, nogil=True)
def island_spans(
    data: np.ndarray, offsets: np.ndarray, docs: np.ndarray, bases: np.ndarray
) -> np.ndarray:
    """(start, end) byte spans of the islands of documents ``docs``, in document order."""
    spans = np.empty((16, 2), dtype=np.int64)
    count = 0
    for d in docs:
        end = offsets[d + 1]
        p = offsets[d]
        while True:
            q = p
            while q < end and data[q] < 128:
                q += 1
            if q >= end:
                break
            first, p = _island_bounds(data, p, q, end, bases)
            if count == spans.shape[0]:
                grown = np.empty((2 * count, 2), dtype=np.int64)
                grown[:count] = spans
                spans = grown
            spans[count, 0] = first
            spans[count, 1] = p
            count += 1
    return spans[:count]


@njit(cache=True, nogil=True)
def _scratch(size: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Buffers for one document of ``size`` normalised bytes: text (padded), word starts, hashes."""
    return (
        np.empty(size + 16, dtype=np.uint8),
        np.empty(size // 2 + 2, dtype=np.int64),
        np.empty(size // 2 + 2, dtype=np.uint32),
    )


@njit(cache=True, nogil=True)
def sign_ascii(
    data: np.ndarray,
    offsets: np.ndarray,
    valid: np.ndarray,
    a: np.ndarray,
    b: np.ndarray,
    ngram: int,
    ascii_map: np.ndarray,
    out: np.ndarray,
    non_ascii: np.ndarray,
) -> None:
    """Sign every valid ASCII document into ``out``; flag the others in ``non_ascii``."""
    n = offsets.shape[0] - 1
    longest = 0
    for d in range(n):
        longest = max(longest, offsets[d + 1] - offsets[d])
    buf, starts, hashes = _scratch(longest)
    for d in range(n):
        non_ascii[d] = False
        if not valid[d]:
            out[d, :] = np.uint32(0xFFFFFFFF)
            continue
        end = offsets[d + 1]
        pos, nwords, _, stop = _ascii_run(
            data, offsets[d], end, ascii_map, buf, starts, 0, 0, False
        )
        if stop == end:
            _sign_words(buf, pos, starts, nwords, ngram, hashes, a, b, out[d])
        else:
            non_ascii[d] = True


@njit(cache=True, nogil=True)
def sign_islands(
    data: np.ndarray,
    offsets: np.ndarray,
    docs: np.ndarray,
    islands: np.ndarray,
    island_offsets: np.ndarray,
    keep: np.ndarray,
    a: np.ndarray,
    b: np.ndarray,
    ngram: int,
    ascii_map: np.ndarray,
    bases: np.ndarray,
    out: np.ndarray,
) -> None:
    """Sign documents ``docs`` given their normalised islands (see :func:`_normalize_islands`)."""
    longest = 0
    for d in docs:
        longest = max(longest, offsets[d + 1] - offsets[d])
    # A document normalises to at most its own bytes plus its islands' output.
    buf, starts, hashes = _scratch(longest + island_offsets[-1] - island_offsets[0])
    island = 0
    for d in docs:
        pos, nwords, island = _normalize_islands(
            data, offsets[d], offsets[d + 1], islands, island_offsets, island,
            keep, ascii_map, bases, buf, starts,
        )
        _sign_words(buf, pos, starts, nwords, ngram, hashes, a, b, out[d])


@njit(cache=True, nogil=True)
def normalize_docs(
    data: np.ndarray,
    offsets: np.ndarray,
    islands: np.ndarray,
    island_offsets: np.ndarray,
    keep: np.ndarray,
    ascii_map: np.ndarray,
    bases: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Normalised text of every document as (UTF-8 bytes, offsets), by the signing code paths."""
    n = offsets.shape[0] - 1
    longest = 0
    for d in range(n):
        longest = max(longest, offsets[d + 1] - offsets[d])
    buf, starts, _ = _scratch(longest + island_offsets[-1] - island_offsets[0])
    text = np.empty(offsets[-1] - offsets[0] + island_offsets[-1] - island_offsets[0], np.uint8)
    text_offsets = np.zeros(n + 1, dtype=np.int64)
    island = 0
    for d in range(n):
        end = offsets[d + 1]
        pos, nwords, _, stop = _ascii_run(
            data, offsets[d], end, ascii_map, buf, starts, 0, 0, False
        )
        if stop < end:
            pos, nwords, island = _normalize_islands(
                data, offsets[d], offsets[d + 1], islands, island_offsets, island,
                keep, ascii_map, bases, buf, starts,
            )
        text[text_offsets[d] : text_offsets[d] + pos] = buf[:pos]
        text_offsets[d + 1] = text_offsets[d] + pos
    return text, text_offsets
