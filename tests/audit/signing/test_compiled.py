"""The compiled path (audit.signing.compiled) equals the pure-Python reference bit for bit.

References: ``datasketch.MinHash`` (affine32) through
:class:`audit.signing.reference.DatasketchSigner`, ``commons.normalize.normalize`` and
``xxhash``.
"""

from __future__ import annotations

import random
import shutil
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import xxhash
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from audit.read.readers import TrainingBatch
from audit.run import AuditResult, run_audit
from audit.signing._kernels import xxh64
from audit.signing.compiled import FastSigner, fast_normalize
from audit.signing.contract import ShingleSets, anchors_of
from audit.signing.reference import DatasketchSigner
from commons.normalize import normalize, shingles
from commons.store import DataDir
from tests.audit.conftest import config_for
from tests.audit.fixtures import World, prose_pools

# Words that exercise the non-ASCII paths: final sigma, dotted/dotless I, combining marks,
# ligatures, full-width forms, compatibility digits, CJK, Hangul, RTL, emoji, ß -> ss.
TRICKY = [
    "ΣΑΣ", "σοφός", "ΌΣΟΣ", "İstanbul", "ıi", "e\u0301te", "cafe\u0301", "<\u0338", "ﬁne",
    "Ｆｕｌｌ", "①②", "²³", "日本語", "한국어", "\u1100\u1161\u11a8", "עברית", "مرحبا", "😀x",
    "Straße", "ǰ", "\u0130\u0307", "ﬀ", "Å", "\u212b", "\u00a0nbsp", "a\u200db", "x\u0345",
    "\U0001d400bold", "ｶﾀｶﾅ", "Ⅻ", "\ufb2a", "e\u0301\u0301", "\u0345", "A\u030a",
]
ASCII_WORDS = ["the", "of", "and", "data", "Data", "DATA", "x2", "42", "it's", "re-use",
               "a.b", "end.", "(paren)", "--", "Ünïcödé", "naïve"]
words_st = st.sampled_from(ASCII_WORDS + TRICKY) | st.text(min_size=1, max_size=6)
seps_st = st.sampled_from([" ", "  ", "\n\n", ", ", "\t", " — ", "…", "\u3000", "-"])
text_st = st.lists(st.tuples(words_st, seps_st), max_size=80).map(
    lambda parts: "".join(w + s for w, s in parts))
maybe_text = st.one_of(st.none(), st.just(""), text_st, st.text(max_size=60))
# Any code point, lone surrogates included: Python strings can hold them (JSON "\ud800"),
# Arrow strings cannot, so they only reach the list API.
any_text = st.one_of(st.none(), text_st, st.text(st.characters(exclude_categories=()),
                                                  max_size=60))
FAST = FastSigner(num_perm=32, seed=3, ngram=3, window=6)
REF = DatasketchSigner(num_perm=32, seed=3, ngram=3, window=6)
SETTINGS = settings(max_examples=150, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def _anchor_pairs(rows: np.ndarray, anchors: np.ndarray) -> list[tuple[int, int]]:
    return sorted(zip(rows.tolist(), anchors.tolist(), strict=True))


def _sets(sets: ShingleSets, n: int) -> list[list[int]]:
    return [sets.get(i).tolist() for i in range(n)]


@SETTINGS
@given(st.lists(maybe_text, min_size=1, max_size=12))
def test_signed_batch_equals_the_reference(texts: list[str | None]) -> None:
    column = pa.array(texts, pa.large_string())
    fast, ref = FAST.sign_batch(column), REF.sign_batch(column)
    assert np.array_equal(fast.signatures, ref.signatures)
    assert np.array_equal(fast.n_words, ref.n_words)
    assert np.array_equal(fast.n_shingles, ref.n_shingles)
    assert _anchor_pairs(fast.anchor_rows, fast.anchors) == _anchor_pairs(
        ref.anchor_rows, ref.anchors)
    assert _sets(FAST.shingle_sets(column), len(texts)) == _sets(
        REF.shingle_sets(column), len(texts))


@SETTINGS
@given(st.lists(any_text, max_size=12))
def test_compiled_normalisation_equals_the_reference(texts: list[str | None]) -> None:
    assert fast_normalize(texts) == [normalize(t) for t in texts]


@SETTINGS
@given(st.lists(any_text, min_size=1, max_size=8))
def test_signatures_of_any_python_string_equal_datasketch(texts: list[str | None]) -> None:
    assert np.array_equal(FAST.sign(texts), REF.sign(texts))


@pytest.mark.parametrize("text", TRICKY + [
    "ΣΑΣ ΣΑΣ.", "ὈΔΥΣΣΕΎΣ", "İİ I\u0307", "\ud800 lone surrogate", "\x00null\x00byte",
    "é" * 300, "<\u0338=\u0338>\u0338", "x" * 5000, "A\u030a\u0301 Å", "", " ", "...",
])
def test_normalisation_of_hard_cases(text: str) -> None:
    assert fast_normalize([text]) == [normalize(text)]


def test_non_strings_and_nulls_sign_as_empty() -> None:
    out = FastSigner(num_perm=8).sign([None, 17, b"bytes", "", "!!", "real words here"])
    assert (out[:5] == 2**32 - 1).all() and not (out[5] == 2**32 - 1).all()
    batch = FastSigner(num_perm=8).sign_batch(pa.array([None, "a b c d e f"]))
    assert batch.n_words.tolist() == [0, 6] and batch.n_shingles.tolist() == [0, 2]


def test_real_prose_signatures_equal_datasketch() -> None:
    """2,000 real-prose documents at the audit's defaults (128 permutations, 5-grams)."""
    rng = random.Random(5)
    src, other = prose_pools()
    pool = src + other
    docs = [" ".join(rng.sample(pool, rng.randint(1, 6))) for _ in range(2000)]
    docs += [d.replace("e", "é").replace("the", "Thé") for d in docs[:100]]
    column = pa.array(docs)
    fast = FastSigner().sign_batch(column)
    ref_sigs = DatasketchSigner().sign(docs)
    assert np.array_equal(fast.signatures, ref_sigs)
    for i in rng.sample(range(len(docs)), 40):
        mine = np.sort(fast.anchors[fast.anchor_rows == i]).tolist()
        assert mine == anchors_of(shingles(docs[i], 5), 46)
    assert FastSigner().sign_arrow(pa.chunked_array([column[:700], column[700:]])).tolist() \
        == ref_sigs.tolist()


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=120))
def test_xxh64_kernel_equals_xxhash(data: bytes) -> None:
    buf = np.frombuffer(data + bytes(16), dtype=np.uint8)
    assert int(xxh64(buf, 0, len(data))) == xxhash.xxh64_intdigest(data)
    if len(data) > 3:
        assert int(xxh64(buf, 3, len(data))) == xxhash.xxh64_intdigest(data[3:])


@settings(max_examples=60, deadline=None)
@given(st.lists(st.sampled_from(["alpha", "beta", "gamma", "delta", "eps", "zeta", "eta",
                                 "theta", "iota", "kappa"]), min_size=9, max_size=40),
       st.integers(0, 30), st.integers(0, 30))
def test_a_shared_run_of_window_shingles_always_shares_an_anchor(
        run: list[str], left: int, right: int) -> None:
    """Winnowing's guarantee: 6 shared consecutive 3-gram shingles (8 words) -> an anchor."""
    rng = random.Random(left * 31 + right)
    filler = [f"w{rng.randrange(10**6)}" for _ in range(left + right)]
    a = " ".join(filler[:left] + run + filler[left:])
    b = " ".join([f"v{rng.randrange(10**6)}" for _ in range(right)] + run)
    batch = FAST.sign_batch(pa.array([a, b]))
    assert set(batch.anchors[batch.anchor_rows == 0].tolist()) & set(
        batch.anchors[batch.anchor_rows == 1].tolist())


def test_fast_engine_audit_equals_the_reference_audit(world: World, audited: AuditResult,
                                                      tmp_path: Path) -> None:
    """The whole audit with the compiled signer gives the reference engine's results."""
    data = DataDir(tmp_path / "data")
    shutil.copytree(world.data.snapshots, data.snapshots)  # no shared signature cache
    fast = run_audit(config_for(world, "base", signer="fast"), data)
    assert fast.meta["signer"] == "audit.signing.compiled.FastSigner"
    assert fast.summary == audited.summary
    cols = ["train_id", "doc_id", "match_kind", "found_by", "est_jaccard", "exact_jaccard",
            "containment_train_in_source", "containment_source_in_train", "shared_shingles"]

    def rows(run_dir: Path) -> list[tuple]:
        table = pq.read_table(run_dir / "matches.parquet", columns=cols)
        return sorted(zip(*table.to_pydict().values(), strict=True), key=repr)

    assert rows(fast.run_dir) == rows(audited.run_dir)


def test_json_strings_with_lone_surrogates_sign_as_the_reference() -> None:
    """JSON Lines may carry "\\ud800"; Arrow cannot, so the read pass replaces it (U+FFFD)."""
    texts = ["alpha beta \ud800 gamma delta epsilon zeta", "a\udfffb c d e f g h", None, 7]
    batch = TrainingBatch.from_values(["x", "y", "z", "w"], texts)
    assert batch.non_strings == 1 and batch.texts.null_count == 2
    assert np.array_equal(FastSigner().sign_batch(batch.texts).signatures,
                          DatasketchSigner().sign([t if isinstance(t, str) else None
                                                   for t in texts]))
