"""datatrove's signature step, timed in datatrove's own virtual environment.

datatrove pins ``xxhash<4`` and brings spaCy, so ``make bench`` installs it into
``.venv-datatrove`` rather than the project's venv. From the repository root,
``.venv-datatrove/bin/python -m bench.datatrove_job CORPUS LIMIT OUT.npy`` signs the first
``LIMIT`` texts of the corpus with ``MinhashDedupSignature`` (its shingling and signature per
document, default ``MinhashConfig``: 14 buckets of 8 hashes, 5-grams of its English word
tokenizer), saves the signatures and prints one JSON line with the figures of
:mod:`bench.child` (``docs``, ``seconds``, ``cpu``, ``peak_rss_mb``; it imports only that
module of the project, which needs nothing but numpy) and the datatrove version.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from importlib import metadata
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq

from bench.child import _usage


def main(argv: list[str]) -> int:
    corpus, limit, out = Path(argv[0]), int(argv[1]), argv[2]
    from datatrove.pipeline.dedup.minhash import MinhashConfig, MinhashDedupSignature

    with tempfile.TemporaryDirectory() as tmp:
        step = MinhashDedupSignature(output_folder=tmp, config=MinhashConfig())
        step.get_signature(step.get_shingles("warm up the word tokenizer"))
        cpu0, _ = _usage()
        t0 = time.perf_counter()
        texts: list[str] = []
        for batch in pq.ParquetFile(corpus).iter_batches(batch_size=8192, columns=["text"]):
            texts += batch.column(0).to_pylist()
            if len(texts) >= limit:
                break
        sigs = []
        for text in texts[:limit]:
            buckets = step.get_signature(step.get_shingles(text))
            sigs.append([v for b in buckets for v in b])
        seconds = time.perf_counter() - t0
        cpu, peak = _usage()
    np.save(out, np.asarray(sigs, dtype=np.uint64))
    print(json.dumps({"docs": len(sigs), "seconds": seconds, "cpu": round(cpu - cpu0, 3),
                      "peak_rss_mb": round(peak, 1),
                      "version": metadata.version("datatrove")}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
