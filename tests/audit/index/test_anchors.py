"""The anchor index (containment candidates) finds shared passages and ignores common phrases.

Real-prose documents on both sides, joined by the real DuckDB join of audit.index.join.
"""

from __future__ import annotations

import random
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import xxhash

from audit.index.anchors import AnchorWriter
from audit.index.bands import BandWriter
from audit.index.join import JoinSettings, candidate_join
from audit.signing.compiled import FastSigner
from audit.signing.contract import fmix32, shingle_hash, shingle_positions, winnow
from commons.normalize import shingles, words
from tests.audit.fixtures import prose_pools

WINDOW = 46  # the default: --window-words 50, --ngram 5


def _anchors(path: Path, texts: list[str]) -> Path:
    signed = FastSigner(num_perm=16, window=WINDOW).sign_batch(pa.array(texts))
    writer = AnchorWriter(path, WINDOW)
    writer.add(signed.anchor_rows, signed.anchors,
               shingle_positions(signed.n_words[signed.anchor_rows], 5))
    writer.close()
    return path


def _prose(pool: list[str], n_words: int, rng: random.Random) -> list[str]:
    out: list[str] = []
    while len(out) < n_words:
        out += words(rng.choice(pool))
    return out[:n_words]


def _empty_bands(path: Path) -> Path:
    BandWriter(path, 9, 13).close()
    return path


def test_anchor_join_finds_passages_and_ignores_one_common_phrase(tmp_path: Path) -> None:
    rng = random.Random(2)
    src_pool, other = prose_pools()
    sources = [" ".join(_prose(src_pool, 800, rng)) for _ in range(6)]
    s0 = sources[0].split()
    sh = shingles(sources[0], 5)
    picks = winnow([fmix32(shingle_hash(x.encode())) for x in sh], WINDOW)
    phrase = sh[picks[len(picks) // 2]]  # an anchor of source 0
    train = [
        # 0: a 96-word passage (2 x 46 shingles + 4) of source 0 inside unrelated prose
        " ".join(_prose(other, 500, rng) + s0[100:196] + _prose(other, 500, rng)),
        # 1: a short text (60 words, < 2 x 46 shingles) lifted whole from source 0
        " ".join(s0[600:660]),
        # 2: unrelated long prose that repeats one 5-gram of source 0 many times
        " ".join(_prose(other, 300, rng) + (phrase.split() + _prose(other, 40, rng)) * 8),
        # 3: unrelated
        " ".join(_prose(other, 700, rng)),
    ]
    signed = FastSigner(num_perm=16, window=WINDOW).sign_batch(pa.array(train))
    common = xxhash.xxh64_intdigest(phrase.encode())
    assert common in signed.anchors[signed.anchor_rows == 2].tolist()  # the test bites
    out = tmp_path / "cand.parquet"
    bands = _empty_bands(tmp_path / "b.parquet")
    candidate_join(JoinSettings("256MB", tmp_path / "spill"), (bands, bands),
                   (_anchors(tmp_path / "t", train), _anchors(tmp_path / "s", sources)), out)
    pairs = {(r["train_row"], r["source_row"]): r["shared_anchors"]
             for r in pq.read_table(out).to_pylist()}
    assert pairs.get((0, 0), 0) >= 2
    assert (1, 0) in pairs
    assert not any(t in (2, 3) for t, _ in pairs), pairs
