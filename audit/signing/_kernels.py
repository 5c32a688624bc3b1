"""Numba kernels behind :mod:`audit.signing.compiled`: normalise, shingle, xxh32 and
affine32 MinHash, winnowing anchors (xxh64) and exact shingle sets.

One module on purpose, though long: numba's on-disk cache is invalidated per source file,
so a kernel that inlined a helper from another module could keep running a stale copy.

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
    (length, word count, inside a word, where it stopped). Branch-free but for the
    non-ASCII exit: the space, the word start and the byte are always written, and the
    counters advance only when they should (``buf`` and ``starts`` have room for that).
    """
    word = np.int64(1) if in_word else np.int64(0)
    for i in range(np.uint64(p), np.uint64(end)):
        c = data[i]
        if c >= 128:
            return pos, nwords, word != 0, np.int64(i)
        m = ascii_map[c]
        w = np.int64(1) if m != 0 else np.int64(0)
        boundary = w & (1 - word)
        buf[pos] = _SPACE
        pos += int(boundary & (np.int64(1) if nwords > 0 else np.int64(0)))
        starts[nwords] = pos
        nwords += int(boundary)
        buf[pos] = m
        pos += int(w)
        word = w
    return pos, nwords, word != 0, np.int64(end)


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
        first, p = _island_bounds(data, p, int(q), end, bases)
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


_Q1 = np.uint64(0x9E3779B185EBCA87)
_Q2 = np.uint64(0xC2B2AE3D27D4EB4F)
_Q3 = np.uint64(0x165667B19E3779F9)
_Q4 = np.uint64(0x85EBCA77C2B2AE63)
_Q5 = np.uint64(0x27D4EB2F165667C5)
_EMPTY32 = np.uint32(0xFFFFFFFF)


@njit(cache=True, nogil=True, inline="always")
def _rotl64(x: np.uint64, r: int) -> np.uint64:
    return (x << np.uint64(r)) | (x >> np.uint64(64 - r))


@njit(cache=True, nogil=True, inline="always")
def _round64(acc: np.uint64, lane: np.uint64) -> np.uint64:
    return _rotl64(acc + lane * _Q2, 31) * _Q1


@njit(cache=True, nogil=True)
def xxh64(buf: np.ndarray, start: int, end: int) -> np.uint64:
    """xxHash64 (seed 0) of ``buf[start:end]``, equal to ``xxhash.xxh64_intdigest``."""
    length = end - start
    p = start
    if length >= 32:
        v1 = _Q1 + _Q2
        v2 = _Q2
        v3 = np.uint64(0)
        v4 = np.uint64(0) - _Q1
        while p + 32 <= end:
            v1 = _round64(v1, _read32(buf, p) | (_read32(buf, p + 4) << np.uint64(32)))
            v2 = _round64(v2, _read32(buf, p + 8) | (_read32(buf, p + 12) << np.uint64(32)))
            v3 = _round64(v3, _read32(buf, p + 16) | (_read32(buf, p + 20) << np.uint64(32)))
            v4 = _round64(v4, _read32(buf, p + 24) | (_read32(buf, p + 28) << np.uint64(32)))
            p += 32
        h = _rotl64(v1, 1) + _rotl64(v2, 7) + _rotl64(v3, 12) + _rotl64(v4, 18)
        h = (h ^ _round64(np.uint64(0), v1)) * _Q1 + _Q4
        h = (h ^ _round64(np.uint64(0), v2)) * _Q1 + _Q4
        h = (h ^ _round64(np.uint64(0), v3)) * _Q1 + _Q4
        h = (h ^ _round64(np.uint64(0), v4)) * _Q1 + _Q4
    else:
        h = _Q5
    h += np.uint64(length)
    while p + 8 <= end:
        lane = _read32(buf, p) | (_read32(buf, p + 4) << np.uint64(32))
        h ^= _round64(np.uint64(0), lane)
        h = _rotl64(h, 27) * _Q1 + _Q4
        p += 8
    if p + 4 <= end:
        h ^= _read32(buf, p) * _Q1
        h = _rotl64(h, 23) * _Q2 + _Q3
        p += 4
    while p < end:
        h ^= np.uint64(buf[np.uint64(p)]) * _Q5
        h = _rotl64(h, 11) * _Q1
        p += 1
    h ^= h >> np.uint64(33)
    h *= _Q2
    h ^= h >> np.uint64(29)
    h *= _Q3
    h ^= h >> np.uint64(32)
    return h


@njit(cache=True, nogil=True, inline="always")
def _shingle_end(starts: np.ndarray, nwords: int, end: int, ngram: int, i: int) -> int:
    """End of shingle ``i`` (words ``i .. i + ngram - 1``; one space between words)."""
    j = i + ngram
    return end if j >= nwords else starts[j] - 1


@njit(cache=True, nogil=True)
def _hash_shingles(buf: np.ndarray, end: int, starts: np.ndarray, nwords: int, ngram: int,
                   hashes: np.ndarray) -> int:
    """``fmix32(xxh32(shingle))`` of every shingle into ``hashes``; returns the count."""
    if nwords == 0:
        return 0
    nsh = 1 if nwords <= ngram else nwords - ngram + 1
    for i in range(nsh):
        hashes[i] = _fmix32(xxh32(buf, starts[i], _shingle_end(starts, nwords, end, ngram, i)))
    return nsh


@njit(cache=True, nogil=True)
def _minhash(hashes: np.ndarray, nsh: int, a: np.ndarray, b: np.ndarray,
             out_row: np.ndarray) -> None:
    """datasketch affine32: slot k is ``min((a[k] * h + b[k]) mod 2**32)`` over the hashes."""
    if nsh == 0:
        out_row[:] = _EMPTY32
        return
    for k in range(a.shape[0]):
        ak = a[k]
        bk = b[k]
        m = _EMPTY32
        for i in range(nsh):
            m = min(m, np.uint32(ak * hashes[i] + bk))
        out_row[k] = m


@njit(cache=True, nogil=True)
def _winnow(hashes: np.ndarray, nsh: int, window: int, pre: np.ndarray,
            picked: np.ndarray) -> int:
    """Positions picked by winnowing: the rightmost minimum of every ``window`` shingles.

    A text of at most ``window`` shingles is one window. Returns how many positions
    (increasing, distinct) were written to ``picked``. Branch-free van Herk/Gil-Werman
    sliding minimum over keys ``hash << 32 | ~position`` (ties go to the rightmost): a
    forward pass takes prefix minima within blocks of ``window``, a backward pass takes
    suffix minima and picks each window's minimum from the two.
    """
    if nsh == 0:
        return 0
    w = min(window, nsh)
    low = np.uint64(0xFFFFFFFF)
    top = low << np.uint64(32) | low
    for lo in range(0, nsh, w):
        m = top
        for i in range(lo, min(lo + w, nsh)):
            m = min(m, (np.uint64(hashes[i]) << np.uint64(32)) | (low - np.uint64(i)))
            pre[i] = m
    count = 0
    last = np.int64(-1)
    first_block = ((nsh - 1) // w) * w
    for lo in range(first_block, -1, -w):
        m = top
        for s in range(min(lo + w, nsh) - 1, lo - 1, -1):
            m = min(m, (np.uint64(hashes[s]) << np.uint64(32)) | (low - np.uint64(s)))
            if s + w <= nsh:
                p = np.int64(low - (min(m, pre[s + w - 1]) & low))
                if p != last:
                    picked[count] = p
                    count += 1
                    last = p
    for i in range(count // 2):
        picked[i], picked[count - 1 - i] = picked[count - 1 - i], picked[i]
    return count


@njit(cache=True, nogil=True)
def _scratch(size: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Buffers for one document of ``size`` normalised bytes: text (padded), word starts, hashes."""
    return (
        np.empty(size + 16, dtype=np.uint8),
        np.empty(size // 2 + 2, dtype=np.int64),
        np.empty(size // 2 + 2, dtype=np.uint32),
    )


@njit(cache=True, nogil=True)
def _longest(offsets: np.ndarray, docs: np.ndarray) -> int:
    longest = 0
    for d in docs:
        longest = max(longest, offsets[d + 1] - offsets[d])
    return longest


@njit(cache=True, nogil=True, inline="always")
def _normalize_doc(data: np.ndarray, offsets: np.ndarray, d: int, ascii_only: bool,
                   islands: np.ndarray, island_offsets: np.ndarray, island: int,
                   keep: np.ndarray, ascii_map: np.ndarray, bases: np.ndarray,
                   buf: np.ndarray, starts: np.ndarray) -> tuple[int, int, int, bool]:
    """Normalise document ``d`` into ``buf``: (length, words, next island, done).

    With ``ascii_only`` a document holding a non-ASCII byte is left undone (``done`` is
    False); otherwise its islands are taken from ``island`` on.
    """
    start = offsets[d]
    end = offsets[d + 1]
    if ascii_only:
        pos, nwords, _, stop = _ascii_run(data, start, end, ascii_map, buf, starts, 0, 0, False)
        return pos, nwords, island, stop == end
    pos, nwords, island = _normalize_islands(
        data, start, end, islands, island_offsets, island, keep, ascii_map, bases, buf, starts)
    return pos, nwords, island, True


@njit(cache=True, nogil=True)
def sign_docs(data: np.ndarray, offsets: np.ndarray, valid: np.ndarray, docs: np.ndarray,
              ascii_only: bool, islands: np.ndarray, island_offsets: np.ndarray,
              keep: np.ndarray, ascii_map: np.ndarray, bases: np.ndarray, a: np.ndarray,
              b: np.ndarray, ngram: int, window: int, sigs: np.ndarray, n_words: np.ndarray,
              n_shingles: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Signature, word count, shingle count (repeats included) and anchors of ``docs``.

    Rows of ``sigs``, ``n_words`` and ``n_shingles`` are written for every document done.
    Returns (anchor documents, anchor xxh64 hashes, documents left undone); each
    document's anchors are distinct. A ``window`` of 0 computes no anchors.
    """
    longest = _longest(offsets, docs) + island_offsets[-1] - island_offsets[0]
    buf, starts, hashes = _scratch(longest)
    pre = np.empty(hashes.shape[0], dtype=np.uint64)
    picked = np.empty(hashes.shape[0], dtype=np.int64)
    anchor_doc = np.empty(max(16, docs.shape[0] * 8), dtype=np.int64)
    anchor_hash = np.empty(anchor_doc.shape[0], dtype=np.uint64)
    undone = np.empty(docs.shape[0], dtype=np.int64)
    n_undone = 0
    count = 0
    island = 0
    for d in docs:
        if not valid[d]:
            sigs[d, :] = _EMPTY32
            n_words[d] = 0
            n_shingles[d] = 0
            continue
        pos, nwords, island, done = _normalize_doc(
            data, offsets, d, ascii_only, islands, island_offsets, island, keep, ascii_map,
            bases, buf, starts)
        if not done:
            undone[n_undone] = d
            n_undone += 1
            continue
        nsh = _hash_shingles(buf, pos, starts, nwords, ngram, hashes)
        _minhash(hashes, nsh, a, b, sigs[d])
        n_words[d] = nwords
        n_shingles[d] = nsh
        if window == 0:  # signatures only: no anchors wanted
            continue
        npick = _winnow(hashes, nsh, window, pre, picked)
        if count + npick > anchor_doc.shape[0]:
            grow = max(2 * anchor_doc.shape[0], count + npick)
            anchor_doc = _grown(anchor_doc, grow, count)
            anchor_hash = _grown(anchor_hash, grow, count)
        first = count
        for k in range(npick):
            i = picked[k]
            h = xxh64(buf, starts[i], _shingle_end(starts, nwords, pos, ngram, i))
            j = count  # insertion sort, dropping repeats (a shingle can recur)
            while j > first and anchor_hash[j - 1] > h:
                j -= 1
            if j > first and anchor_hash[j - 1] == h:
                continue
            for m in range(count, j, -1):
                anchor_hash[m] = anchor_hash[m - 1]
            anchor_hash[j] = h
            anchor_doc[count] = d
            count += 1
    return anchor_doc[:count], anchor_hash[:count], undone[:n_undone]


@njit(cache=True, nogil=True)
def _grown(array: np.ndarray, size: int, used: int) -> np.ndarray:
    out = np.empty(size, dtype=array.dtype)
    out[:used] = array[:used]
    return out


@njit(cache=True, nogil=True)
def shingle_sets(data: np.ndarray, offsets: np.ndarray, docs: np.ndarray, ascii_only: bool,
                 islands: np.ndarray, island_offsets: np.ndarray, keep: np.ndarray,
                 ascii_map: np.ndarray, bases: np.ndarray, ngram: int, flat: np.ndarray,
                 used: int, seg: np.ndarray) -> tuple[np.ndarray, int, np.ndarray]:
    """Sorted distinct xxh64 hashes of each document's shingles, appended to ``flat``.

    ``seg[d]`` gets (start, length) of document ``d``'s hashes. Returns (flat, used,
    documents left undone).
    """
    longest = _longest(offsets, docs) + island_offsets[-1] - island_offsets[0]
    buf, starts, _ = _scratch(longest)
    undone = np.empty(docs.shape[0], dtype=np.int64)
    n_undone = 0
    island = 0
    for d in docs:
        pos, nwords, island, done = _normalize_doc(
            data, offsets, d, ascii_only, islands, island_offsets, island, keep, ascii_map,
            bases, buf, starts)
        if not done:
            undone[n_undone] = d
            n_undone += 1
            continue
        nsh = 0 if nwords == 0 else (1 if nwords <= ngram else nwords - ngram + 1)
        if used + nsh > flat.shape[0]:
            flat = _grown(flat, max(2 * flat.shape[0], used + nsh), used)
        part = flat[used : used + nsh]
        for i in range(nsh):
            part[i] = xxh64(buf, starts[i], _shingle_end(starts, nwords, pos, ngram, i))
        part.sort()
        n = 0
        for i in range(nsh):
            if n == 0 or part[i] != part[n - 1]:
                part[n] = part[i]
                n += 1
        seg[d, 0] = used
        seg[d, 1] = n
        used += n
    return flat, used, undone[:n_undone]


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
