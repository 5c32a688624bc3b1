"""The signature methods compared by ``make bench``, each end to end from a Parquet file.

Every method reads the ``text`` column of the first ``limit`` rows of the corpus file,
tokenises and signs them, and returns ``(signatures, LSH layout)``; the clock covers all
of it (after imports and, for ours, after loading the compiled kernels from their cache).
Peers tokenise as peer pipelines do: lower-case, ``\\w+`` words, 5-word shingles.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from audit.config import lsh_params

NUM_PERM = 128
NGRAM = 5
SEED = 1
THRESHOLD = 0.8
_WORD = re.compile(r"\w+")


#: The Python of datatrove's own venv (``make bench`` creates it: datatrove pins
#: ``xxhash<4`` and brings spaCy, so it stays out of the project's venv).
DATATROVE_PYTHON = Path(os.environ.get(
    "BENCH_DATATROVE_PYTHON", Path(__file__).resolve().parents[1] / ".venv-datatrove/bin/python"))


@dataclass(frozen=True)
class Method:
    """A signature method: its name, how it signs, its LSH layout, and its default cap.

    A method with ``python`` runs :mod:`bench.datatrove_job` under that interpreter (another
    venv) instead of calling ``sign`` in :mod:`bench.child`.
    """

    name: str
    sign: Callable[[Path, int], np.ndarray] | None
    layout: tuple[int, int]
    cap: int
    library: str
    python: Path | None = None


def _texts(path: Path, limit: int) -> list[str]:
    """The first ``limit`` texts (only the row groups that hold them are read)."""
    out: list[str] = []
    for batch in pq.ParquetFile(path).iter_batches(batch_size=8192, columns=["text"]):
        out += batch.column(0).to_pylist()
        if len(out) >= limit:
            break
    return out[:limit]


def _shingles(text: str) -> list[str]:
    toks = _WORD.findall(text.lower())
    if len(toks) <= NGRAM:
        return [" ".join(toks)] if toks else []
    return [" ".join(toks[i : i + NGRAM]) for i in range(len(toks) - NGRAM + 1)]


def _by_row_group(path: Path, limit: int,
                  sign: Callable[[pa.ChunkedArray], np.ndarray]) -> np.ndarray:
    """``sign`` over the first ``limit`` texts, a row group at a time (as ``sign_parquet``)."""
    pf = pq.ParquetFile(path)
    out = np.empty((min(limit, pf.metadata.num_rows), NUM_PERM), dtype=np.uint32)
    n = 0
    for group in range(pf.metadata.num_row_groups):
        if n >= len(out):
            break
        texts = pf.read_row_group(group, columns=["text"], use_threads=False).column(0)
        sigs = sign(texts[: len(out) - n])
        out[n : n + len(sigs)] = sigs
        n += len(sigs)
    return out


def ours(path: Path, limit: int, workers: int = 1) -> np.ndarray:
    """audit.signing.compiled.FastSigner over Parquet row groups (read, normalise, sign in
    kernels)."""
    from audit.signing.compiled import FastSigner

    signer = FastSigner(NUM_PERM, SEED, NGRAM)
    if limit >= pq.ParquetFile(path).metadata.num_rows:
        return signer.sign_parquet(path, "text", workers=workers)
    return _by_row_group(path, limit, signer.sign_arrow)


def ours_with_anchors(path: Path, limit: int) -> np.ndarray:
    """What an audit's sign stage does on one core: signatures plus the containment anchors
    (winnowed shingle hashes), which a signatures-only run does not compute."""
    from audit.signing.compiled import FastSigner

    signer = FastSigner(NUM_PERM, SEED, NGRAM)
    return _by_row_group(path, limit, lambda texts: signer.sign_batch(texts).signatures)


def datasketch_naive(path: Path, limit: int) -> np.ndarray:
    """datasketch ``MinHash.update()`` once per shingle (default sha1 hash)."""
    from datasketch import MinHash

    out = []
    for text in _texts(path, limit):
        m = MinHash(num_perm=NUM_PERM, seed=SEED)
        for s in _shingles(text):
            m.update(s.encode("utf-8"))
        out.append(m.hashvalues)
    return np.asarray(out, dtype=np.uint32)


def datasketch_bulk(path: Path, limit: int) -> np.ndarray:
    """datasketch ``MinHash.bulk`` with ``xxhash.xxh32_intdigest`` (its fastest path)."""
    import xxhash
    from datasketch import MinHash

    docs = [[s.encode("utf-8") for s in _shingles(t)] for t in _texts(path, limit)]
    sigs = MinHash.bulk(docs, num_perm=NUM_PERM, seed=SEED, hashfunc=xxhash.xxh32_intdigest)
    return np.asarray([m.hashvalues for m in sigs], dtype=np.uint32)


def rensa_per_doc(path: Path, limit: int) -> np.ndarray:
    """rensa ``RMinHash`` (Rust), one object per document."""
    from rensa import RMinHash

    out = []
    for text in _texts(path, limit):
        m = RMinHash(num_perm=NUM_PERM, seed=SEED)
        m.update(_shingles(text))
        out.append(m.digest())
    return np.asarray(out, dtype=np.uint32)


def rensa_bulk(path: Path, limit: int) -> np.ndarray:
    """rensa ``digest_matrix_from_token_sets`` (its bulk path) on Python-tokenised shingles."""
    from rensa import RMinHash

    shingle_sets = [_shingles(t) for t in _texts(path, limit)]
    matrix: Any = RMinHash.digest_matrix_from_token_sets(shingle_sets, NUM_PERM, SEED)
    return np.asarray(matrix.to_rows(), dtype=np.uint32).reshape(len(shingle_sets), NUM_PERM)


def methods() -> list[Method]:
    """Every method, ours first; ``cap`` bounds the documents of the slow ones."""
    layout = lsh_params(THRESHOLD, NUM_PERM)
    return [
        Method("ours (1 core)", ours, layout, 10**9, "commons-provenance"),
        Method("ours (2 threads)", lambda p, n: ours(p, n, workers=2), layout, 10**9,
               "commons-provenance"),
        Method("ours + anchors (1 core)", ours_with_anchors, layout, 10**9, "commons-provenance"),
        Method("datasketch update()", datasketch_naive, layout, 1_500, "datasketch"),
        Method("datasketch bulk+xxhash", datasketch_bulk, layout, 15_000, "datasketch"),
        Method("rensa per doc", rensa_per_doc, layout, 40_000, "rensa"),
        Method("rensa bulk", rensa_bulk, layout, 60_000, "rensa"),
        Method("datatrove signature", None, (14, 8), 3_000, "datatrove", DATATROVE_PYTHON),
    ]
