"""The DuckDB banding join finds exactly the candidates datasketch.MinHashLSH finds."""

from __future__ import annotations

import contextlib
import random
import threading
import time
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
from datasketch import MinHash, MinHashLSH

from audit.config import lsh_params
from audit.index.bands import BandWriter
from audit.index.join import JoinSettings, band_join, connect
from audit.signing.reference import DatasketchSigner
from tests.audit.fixtures import prose_pools


def _texts(n_source: int, n_train: int, seed: int) -> tuple[list[str], list[str]]:
    """Source docs of real prose and training docs: copies, edits, halves, unrelated."""
    rng = random.Random(seed)
    src_pool, other = prose_pools()
    source = [" ".join(rng.sample(src_pool, 3)) for _ in range(n_source)]
    train = []
    for i in range(n_train):
        base = source[rng.randrange(n_source)].split()
        r = i % 4
        if r == 0:
            train.append(" ".join(base))
        elif r == 1:
            train.append(" ".join(w if rng.random() > 0.04 else "edit" for w in base))
        elif r == 2:
            train.append(" ".join(base[: int(len(base) * rng.uniform(0.5, 0.95))]))
        else:
            train.append(" ".join(rng.sample(other, 2)))
    return source, train


def _lsh_pairs(src: np.ndarray, train: np.ndarray, threshold: float, num_perm: int) -> set:
    lsh = MinHashLSH(threshold=threshold, num_perm=num_perm)
    for i, sig in enumerate(src):
        lsh.insert(i, MinHash(num_perm=num_perm, hashvalues=sig, scheme="affine32"))
    return {(t, s) for t, sig in enumerate(train)
            for s in lsh.query(MinHash(num_perm=num_perm, hashvalues=sig, scheme="affine32"))}


def _bands(path: Path, sigs: np.ndarray, threshold: float, num_perm: int) -> Path:
    w = BandWriter(path, *lsh_params(threshold, num_perm))
    w.add(np.arange(len(sigs), dtype=np.int64), sigs)
    w.close()
    return path


@pytest.mark.parametrize(("threshold", "num_perm"), [(0.8, 128), (0.5, 64), (0.9, 128)])
def test_band_join_equals_minhash_lsh(tmp_path: Path, threshold: float, num_perm: int) -> None:
    source, train = _texts(150, 300, seed=int(threshold * 10))
    signer = DatasketchSigner(num_perm=num_perm, seed=1, ngram=5)
    s_sig, t_sig = signer.sign(source), signer.sign(train)
    expected = _lsh_pairs(s_sig, t_sig, threshold, num_perm)
    con = connect(JoinSettings("256MB", tmp_path / "tmp"))
    out = tmp_path / "pairs.parquet"
    n = band_join(con, _bands(tmp_path / "t.parquet", t_sig, threshold, num_perm),
                  _bands(tmp_path / "s.parquet", s_sig, threshold, num_perm), out)
    got = set(zip(*pq.read_table(out).to_pydict().values(), strict=True))
    assert len(expected) > 60  # the test exercises real candidates
    assert got == expected and n == len(expected)


def test_band_join_spills_with_memory_limit_below_the_index(tmp_path: Path) -> None:
    """800k source signatures in many-to-many buckets; the join index exceeds memory_limit.

    A thread watches DuckDB's temp_directory during the join to prove it spilled.
    """
    rng = np.random.default_rng(0)
    n, num_perm = 800_000, 128
    bands, rows = lsh_params(0.8, num_perm)
    base = rng.integers(0, 2**32, size=(3000, num_perm), dtype=np.uint64).astype(np.uint32)
    src = base[rng.integers(0, 3000, n)]
    src[:, rows:] = rng.integers(0, 2**32, size=(n, num_perm - rows), dtype=np.uint64)
    train = src[rng.permutation(n)[:20_000]]
    s_path = _bands(tmp_path / "s.parquet", src, 0.8, num_perm)
    t_path = _bands(tmp_path / "t.parquet", train, 0.8, num_perm)
    limit_bytes = 64 * 1024 * 1024
    assert n * bands * (8 + 2 + 8) > limit_bytes  # the source index alone exceeds the limit
    spill = tmp_path / "spill"
    con = connect(JoinSettings("64MB", spill, threads=1))
    peak = [0]
    done = threading.Event()

    def watch() -> None:
        while not done.is_set():
            with contextlib.suppress(FileNotFoundError):
                peak[0] = max(peak[0], sum(f.stat().st_size for f in spill.iterdir()))
            time.sleep(0.002)

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        count = band_join(con, t_path, s_path, tmp_path / "pairs.parquet")
    finally:
        done.set()
        watcher.join()
    # each training row shares band 0 with every source row of its base: about n / 3000
    assert count > 20_000 * (n / 3000) * 0.9
    assert peak[0] > 0, "DuckDB did not spill to temp_directory"
