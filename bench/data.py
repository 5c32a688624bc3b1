"""Writes the benchmark corpora to disk: a Parquet corpus, a source snapshot, a training set."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from bench.corpus import audit_chunks, dedup_chunks
from commons.schema import DOCUMENT_SCHEMA
from commons.store import DataDir, SnapshotManifest, SnapshotWriter

SOURCE = "benchwiki"
SNAPSHOT = "20260101T000000Z"
ROW_GROUP = 8192


def write_dedup_corpus(path: Path, n: int, seed: int) -> np.ndarray:
    """The signature corpus as Parquet (``id``, ``text``); returns the planted pairs."""
    pairs = []
    writer = pq.ParquetWriter(path, pa.schema([("id", pa.string()), ("text", pa.string())]),
                              compression="zstd")
    start = 0
    for chunk in dedup_chunks(n, seed):
        ids = pa.array([f"doc-{i}" for i in range(start, start + len(chunk.texts))])
        writer.write_table(pa.table({"id": ids, "text": chunk.texts.cast(pa.string())}),
                           row_group_size=ROW_GROUP)
        pairs.append(chunk.pairs)
        start += len(chunk.texts)
    writer.close()
    return np.concatenate(pairs) if pairs else np.zeros((0, 2), np.int64)


def _snapshot_table(texts: pa.Array, start: int) -> pa.Table:
    n = len(texts)
    ids = [f"page-{i}" for i in range(start, start + n)]
    cols = {f.name: pa.nulls(n, f.type) for f in DOCUMENT_SCHEMA}
    cols.update(source=pa.array([SOURCE] * n), snapshot_id=pa.array([SNAPSHOT] * n),
                doc_id=pa.array(ids), kind=pa.array(["page"] * n),
                url=pa.array([f"http://bench.test/{i}" for i in ids]),
                title=pa.array(ids), text=texts.cast(pa.string()),
                license=pa.array(["CC-BY-SA-4.0"] * n),
                fetched_at=pa.array([datetime(2026, 1, 1, tzinfo=UTC)] * n,
                                    DOCUMENT_SCHEMA.field("fetched_at").type),
                is_redirect=pa.array([False] * n), is_deleted=pa.array([False] * n))
    return pa.table(cols, schema=DOCUMENT_SCHEMA)


def write_audit_corpus(root: Path, n: int, seed: int) -> tuple[DataDir, Path, np.ndarray,
                                                                np.ndarray]:
    """A data store with a complete ``benchwiki`` snapshot of ``n`` pages, and ``n``
    training documents in ``root/train/*.parquet``; returns (data, train dir, kind, origin).
    """
    data = DataDir(root / "data")
    snap = data.snapshot_dir(SOURCE, SNAPSHOT)
    snap.mkdir(parents=True, exist_ok=True)
    train_dir = root / "train"
    train_dir.mkdir(parents=True, exist_ok=True)
    kinds, origins = [], []
    start = 0
    for k, chunk in enumerate(audit_chunks(n, seed)):
        m = len(chunk.source)
        pq.write_table(_snapshot_table(chunk.source, start), snap / f"part-{k:05d}.parquet",
                       compression="zstd", row_group_size=ROW_GROUP)
        ids = pa.array([f"train-{i}" for i in range(start, start + m)])
        pq.write_table(pa.table({"id": ids, "text": chunk.train.cast(pa.string())}),
                       train_dir / f"part-{k:05d}.parquet", compression="zstd",
                       row_group_size=ROW_GROUP)
        kinds.append(chunk.kind)
        origins.append(chunk.origin)
        start += m
    manifest = SnapshotManifest(source=SOURCE, snapshot_id=SNAPSHOT, crawler="bench",
                                base_url="http://bench.test/",
                                license={"spdx": "CC-BY-SA-4.0"})
    writer = SnapshotWriter(data, manifest)
    writer.open()  # counts the parts written above
    writer.complete()
    return data, train_dir, np.concatenate(kinds), np.concatenate(origins)
