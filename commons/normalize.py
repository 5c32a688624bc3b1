"""The one text normalisation shared by snapshots (content hashes) and audits (shingles).

``normalize`` is the reference: Unicode NFKC, case-folded, every character that is not a
letter, digit or mark becomes a space, and runs of white space fold to one space.
"""

from __future__ import annotations

import hashlib
import unicodedata
from collections.abc import Iterator

_KEEP_CATEGORIES = frozenset({"L", "N", "M"})


def _is_word_char(ch: str) -> bool:
    return unicodedata.category(ch)[0] in _KEEP_CATEGORIES


def normalize(text: str | None) -> str:
    """Return ``text`` normalised for comparison.

    >>> normalize("  Hello,   WORLD!\\n\\nStraße ")
    'hello world strasse'
    >>> normalize(None)
    ''
    """
    if not text:
        return ""
    if not isinstance(text, str):
        return ""
    folded = unicodedata.normalize("NFKC", text).casefold()
    # casefold can produce characters outside NFKC (e.g. "ǰ" -> "ǰ"); normalise again.
    folded = unicodedata.normalize("NFKC", folded)
    chars = [ch if _is_word_char(ch) else " " for ch in folded]
    return " ".join("".join(chars).split())


def words(text: str | None) -> list[str]:
    """The normalised words of ``text``."""
    return normalize(text).split()


def shingles(text: str | None, ngram: int) -> list[str]:
    """Word ``ngram``-shingles of the normalised text, in order, duplicates kept.

    A text shorter than ``ngram`` words yields one shingle of all its words; an empty text
    yields none.

    >>> shingles("a b c d", 3)
    ['a b c', 'b c d']
    >>> shingles("a b", 3)
    ['a b']
    """
    if ngram < 1:
        raise ValueError(f"ngram must be >= 1, got {ngram}")
    toks = words(text)
    if not toks:
        return []
    if len(toks) <= ngram:
        return [" ".join(toks)]
    return [" ".join(toks[i : i + ngram]) for i in range(len(toks) - ngram + 1)]


def iter_shingles(tokens: list[str], ngram: int) -> Iterator[str]:
    """Shingles of already-normalised tokens (see :func:`shingles`)."""
    if not tokens:
        return
    if len(tokens) <= ngram:
        yield " ".join(tokens)
        return
    for i in range(len(tokens) - ngram + 1):
        yield " ".join(tokens[i : i + ngram])


def content_sha1(text: str | None) -> str:
    """SHA-1 (hex) of the normalised text: equal for texts that differ only in case/punctuation."""
    return hashlib.sha1(normalize(text).encode("utf-8")).hexdigest()
