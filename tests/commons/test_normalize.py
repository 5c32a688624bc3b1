"""Property tests of the one normalisation and shingling shared by snapshots and audits."""

from __future__ import annotations

import unicodedata

from hypothesis import given, settings
from hypothesis import strategies as st

from commons.normalize import content_sha1, iter_shingles, normalize, shingles, words

texts = st.one_of(st.none(), st.text(max_size=300),
                  st.lists(st.sampled_from(["Hello", "WORLD", "straße", "Σίσυφος", "İstanbul",
                                            "e\u0301", "ﬁne", "x²", "—", "...", " ", "\n\n",
                                            "\t", "ǰ", "ς", "123"]), max_size=40).map("".join))


@settings(max_examples=300, deadline=None)
@given(texts)
def test_normalize_is_idempotent_and_keeps_only_word_characters(text: str | None) -> None:
    out = normalize(text)
    assert normalize(out) == out
    assert out == out.strip() and "  " not in out
    for ch in out.replace(" ", ""):
        assert unicodedata.category(ch)[0] in "LNM", repr(ch)
    assert unicodedata.normalize("NFKC", out) == out


@settings(max_examples=300, deadline=None)
@given(st.lists(st.from_regex(r"[A-Za-z0-9]{1,8}", fullmatch=True), max_size=40),
       st.sampled_from([" ", "  ", ", ", ".\n\n", " - ", "\t"]))
def test_case_and_punctuation_do_not_change_words_or_hash(toks: list[str], sep: str) -> None:
    plain = " ".join(t.lower() for t in toks)
    noisy = sep.join(t.upper() for t in toks) + "!"
    assert words(noisy) == plain.split()
    assert content_sha1(noisy) == content_sha1(plain)


@settings(max_examples=300, deadline=None)
@given(texts, st.integers(min_value=1, max_value=8))
def test_shingles_cover_the_words_in_order(text: str | None, n: int) -> None:
    toks = words(text)
    sh = shingles(text, n)
    if not toks:
        assert sh == []
    elif len(toks) <= n:
        assert sh == [" ".join(toks)]
    else:
        assert len(sh) == len(toks) - n + 1
        assert all(len(s.split()) == n for s in sh)
        assert " ".join([s.split()[0] for s in sh] + toks[len(sh):]) == " ".join(toks)
    assert list(iter_shingles(toks, n)) == sh
    assert shingles(normalize(text), n) == sh


def test_known_unicode_cases() -> None:
    assert normalize("ΣΊΣΥΦΟΣ") == normalize("σίσυφος") == "σίσυφοσ"  # final sigma folded
    assert normalize("STRASSE") == normalize("Straße")
    assert normalize("e\u0301") == normalize("\u00e9")  # combining mark composes
    assert normalize("ﬁne x²") == "fine x2"
    assert normalize("İ") == "i\u0307"  # dotted capital I keeps its dot as a mark
    assert normalize(b"bytes") == ""  # type: ignore[arg-type]
