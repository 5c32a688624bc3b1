"""The anchor index (containment candidates): partitioned anchor files and their join.

Anchors are winnowing fingerprints (:mod:`audit.signing.contract`). Each side writes them into
:data:`PARTITIONS` Parquet files by the top bits of the hash, so the join runs partition by
partition: DuckDB then holds one partition's hash table at a time (memory stays flat as
the index grows) and still spills within a partition beyond its memory limit.

A pair is a candidate when it shares two anchors, or one when either text is short (fewer
than ``2 * window`` shingles). So a text of at least ``window`` shingles inside another is
always a candidate, and so is a passage of ``2 * window`` shingles shared by two long texts
(two disjoint windows of it each give both texts the same anchor); a single anchor shared
by two long texts, usually a common phrase, is not enough.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from commons.sql import sql_literal

ANCHOR_SCHEMA = pa.schema([("row", pa.int64()), ("h", pa.uint64()), ("short", pa.bool_())])
#: Partitions of every anchor index (a power of two; both sides must agree).
PARTITIONS = 16
_SHIFT = np.uint64(64 - PARTITIONS.bit_length() + 1)
_FLUSH_ROWS = 64 * 1024


def partition_path(folder: Path, k: int) -> Path:
    """The file of anchor partition ``k`` in an anchor folder."""
    return folder / f"part-{k:02d}.parquet"


class AnchorWriter:
    """Appends ``(row, h, short)`` anchors to the partition files of one folder.

    ``short`` marks the anchors of a text with fewer than ``2 * window`` shingles.
    """

    def __init__(self, folder: Path, window: int) -> None:
        self.folder = folder
        self.window = window
        folder.mkdir(parents=True, exist_ok=True)
        self._writers = [pq.ParquetWriter(partition_path(folder, k), ANCHOR_SCHEMA,
                                          compression="none", use_dictionary=False,
                                          write_statistics=False)
                         for k in range(PARTITIONS)]
        self._buffers: list[list[pa.Table]] = [[] for _ in range(PARTITIONS)]
        self._buffered = [0] * PARTITIONS
        self.count = 0

    def add(self, rows: np.ndarray, anchors: np.ndarray, shingles: np.ndarray) -> None:
        """Anchors of documents ``rows``; ``shingles`` is each anchor's text's shingle count."""
        if not len(rows):
            return
        h = np.asarray(anchors, dtype=np.uint64)
        part = (h >> _SHIFT).astype(np.int64)
        order = np.argsort(part, kind="stable")
        bounds = np.searchsorted(part[order], np.arange(PARTITIONS + 1))
        table = pa.table({"row": np.asarray(rows, dtype=np.int64)[order], "h": h[order],
                          "short": (np.asarray(shingles) < 2 * self.window)[order]},
                         schema=ANCHOR_SCHEMA)
        for k in range(PARTITIONS):
            lo, hi = int(bounds[k]), int(bounds[k + 1])
            if hi > lo:
                self._buffers[k].append(table.slice(lo, hi - lo))
                self._buffered[k] += hi - lo
                if self._buffered[k] >= _FLUSH_ROWS:
                    self._flush(k)
        self.count += len(rows)

    def _flush(self, k: int) -> None:
        if self._buffers[k]:
            self._writers[k].write_table(pa.concat_tables(self._buffers[k]))
            self._buffers[k] = []
            self._buffered[k] = 0

    def close(self) -> None:
        for k in range(PARTITIONS):
            self._flush(k)
            self._writers[k].close()


def anchor_partition_sql(train: Path, source: Path, k: int) -> str:
    """``(train_row, source_row, n, short)``: anchors shared per pair in partition ``k``.

    A pair is a candidate when ``sum(n) >= 2`` over all partitions, or any ``short``.
    """
    t = sql_literal(str(partition_path(train, k)))
    s = sql_literal(str(partition_path(source, k)))
    return ("SELECT t.row AS train_row, s.row AS source_row, count(*) AS n, "
            f"bool_or(t.short OR s.short) AS short FROM read_parquet({t}) t "
            f"JOIN read_parquet({s}) s ON t.h = s.h GROUP BY ALL")
