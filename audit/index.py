"""LSH banding and anchor joins in DuckDB, out of core.

A band is ``rows`` consecutive signature values, laid out as ``datasketch.MinHashLSH``
lays them out (band ``i`` covers values ``[i*rows, (i+1)*rows)``). Each band is reduced to
a 64-bit key with a fixed splitmix64 fold, so two documents are candidates exactly when
datasketch would put them in the same bucket (barring a 64-bit key collision, which the
later Jaccard check removes).

Anchors (winnowing fingerprints, see :mod:`audit.anchors`) are the containment index; the
number of anchors a pair shares travels with it. Both joins run in DuckDB with a memory
limit and a temp directory, so an index larger than memory spills to disk.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from audit.anchors import PARTITIONS as ANCHOR_PARTITIONS
from audit.anchors import anchor_partition_sql
from commons.sql import sql_literal

if TYPE_CHECKING:
    from audit.engine import Engine

BAND_SCHEMA = pa.schema([("row", pa.int64()), ("band", pa.int16()), ("h", pa.uint64())])
#: Rows per Parquet row group of band and anchor files: small enough for DuckDB to stream
#: them under a tight memory limit (the files are uncompressed).
ROW_GROUP = 256 * 1024
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)


def _mix64(x: np.ndarray) -> np.ndarray:
    x = x ^ (x >> np.uint64(30))
    x = x * _M1
    x = x ^ (x >> np.uint64(27))
    x = x * _M2
    return x ^ (x >> np.uint64(31))


def band_hashes(signatures: np.ndarray, bands: int, rows: int) -> np.ndarray:
    """``(n, bands)`` uint64 keys of each band of ``(n, num_perm)`` uint32 signatures."""
    if bands * rows > signatures.shape[1]:
        raise ValueError(f"{bands} bands x {rows} rows exceed {signatures.shape[1]} values")
    sig = signatures.astype(np.uint64, copy=False)
    out = np.empty((sig.shape[0], bands), dtype=np.uint64)
    with np.errstate(over="ignore"):
        for b in range(bands):
            h = np.full(sig.shape[0], np.uint64(b) * _GOLDEN + _GOLDEN, dtype=np.uint64)
            for j in range(b * rows, (b + 1) * rows):
                h = _mix64(h ^ (sig[:, j] + _GOLDEN))
            out[:, b] = h
    return out


def band_keys(signatures: np.ndarray, bands: int, rows: int) -> np.ndarray:
    """:func:`band_hashes`, computed by a compiled kernel (the same keys, ~10x faster)."""
    from audit._fastjoin import band_keys as kernel

    if bands * rows > signatures.shape[1]:
        raise ValueError(f"{bands} bands x {rows} rows exceed {signatures.shape[1]} values")
    sig = np.ascontiguousarray(signatures, dtype=np.uint32).view()
    sig.setflags(write=False)
    out = np.empty((sig.shape[0], bands), dtype=np.uint64)
    kernel(sig, bands, rows, out)
    return out


def band_table(rows: np.ndarray, signatures: np.ndarray, bands: int, r: int) -> pa.Table:
    """Long table ``(row, band, h)`` for signatures whose owner ids are ``rows``."""
    from audit._fastjoin import band_rows

    if bands * r > signatures.shape[1]:
        raise ValueError(f"{bands} bands x {r} rows exceed {signatures.shape[1]} values")
    n = len(rows) * bands
    owner = np.empty(n, dtype=np.int64)
    band = np.empty(n, dtype=np.int16)
    key = np.empty(n, dtype=np.uint64)
    sig = np.ascontiguousarray(signatures, dtype=np.uint32).view()
    sig.setflags(write=False)
    band_rows(sig, np.ascontiguousarray(rows, dtype=np.int64), bands, r, owner, band, key)
    return pa.table({"row": owner, "band": band, "h": key}, schema=BAND_SCHEMA)


class BandWriter:
    """Appends band tables to one Parquet file (one row group per batch)."""

    def __init__(self, path: Path, bands: int, rows: int) -> None:
        self.path = path
        self.bands = bands
        self.rows = rows
        # Keys are random 64-bit values: compression would cost time and save nothing.
        self._writer = pq.ParquetWriter(path, BAND_SCHEMA, compression="none",
                                        use_dictionary=False, write_statistics=False)
        self.count = 0

    def add(self, owner_rows: np.ndarray, signatures: np.ndarray) -> None:
        if len(owner_rows) == 0:
            return
        self.add_table(band_table(owner_rows, signatures, self.bands, self.rows))

    def add_table(self, table: pa.Table) -> None:
        """Append a :func:`band_table` made elsewhere (e.g. in a worker thread)."""
        if table.num_rows:
            self._writer.write_table(table, row_group_size=ROW_GROUP)
            self.count += table.num_rows

    def close(self) -> None:
        self._writer.close()


@dataclass(frozen=True)
class JoinSettings:
    """DuckDB resources for the join."""

    memory_limit: str = "1GB"
    temp_directory: Path | None = None
    threads: int | None = None


def connect(settings: JoinSettings) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB that spills to ``temp_directory`` beyond ``memory_limit``."""
    con = duckdb.connect(":memory:")
    con.execute(f"SET memory_limit = {sql_literal(settings.memory_limit)}")
    if settings.temp_directory is not None:
        settings.temp_directory.mkdir(parents=True, exist_ok=True)
        con.execute(f"SET temp_directory = {sql_literal(str(settings.temp_directory))}")
    if settings.threads:
        con.execute(f"SET threads = {int(settings.threads)}")
    con.execute("SET preserve_insertion_order = false")
    con.execute("SET enable_progress_bar = false")
    return con


def _pairs_sql(left: Path, right: Path) -> str:
    return (
        "SELECT DISTINCT t.row AS train_row, s.row AS source_row "
        f"FROM read_parquet({sql_literal(str(left))}) t "
        f"JOIN read_parquet({sql_literal(str(right))}) s ON t.band = s.band AND t.h = s.h"
    )


def band_join(
    con: duckdb.DuckDBPyConnection, train_bands: Path, source_bands: Path, out: Path
) -> int:
    """Write the distinct ``(train_row, source_row)`` pairs sharing a band key; return count."""
    con.execute(
        f"COPY ({_pairs_sql(train_bands, source_bands)} ORDER BY train_row, source_row) "
        f"TO {sql_literal(str(out))} (FORMAT parquet, COMPRESSION zstd)"
    )
    return _count(con, out)


def _band_pairs_job(train: str, source: str, out: str, k: int, parts: int,
                    settings: JoinSettings) -> int:
    """Distinct pairs sharing a band key whose hash falls in partition ``k`` of ``parts``."""
    where = ""
    if parts > 1:
        shift = 64 - (parts.bit_length() - 1)
        where = f" WHERE (t.h >> {shift}) = {k} AND (s.h >> {shift}) = {k}"
    con = connect(settings)
    try:
        con.execute(f"COPY ({_pairs_sql(Path(train), Path(source))}{where}) TO "
                    f"{sql_literal(out)} (FORMAT parquet)")
        return _count(con, Path(out))
    finally:
        con.close()


def _anchor_pairs_job(train: str, source: str, out: str, k: int,
                      settings: JoinSettings) -> int:
    """Anchors shared per pair in anchor partition ``k`` (see :mod:`audit.anchors`)."""
    con = connect(settings)
    try:
        con.execute(f"COPY ({anchor_partition_sql(Path(train), Path(source), k)}) TO "
                    f"{sql_literal(out)} (FORMAT parquet)")
        return _count(con, Path(out))
    finally:
        con.close()


def candidate_join(
    settings: JoinSettings,
    doc_bands: tuple[Path, Path],
    anchors: tuple[Path, Path],
    out: Path,
    engine: Engine | None = None,
) -> int:
    """Union of the band join and the anchor join (:mod:`audit.anchors`; ``anchors`` are the
    two sides' anchor folders), flagged by which found each pair.

    Both joins run partition by partition as ``engine`` jobs (the local engine joins the
    bands in one job); partition results go to ``out``'s folder and are merged here in
    partition order. Writes ``(train_row, source_row, via_doc, via_window,
    shared_anchors)`` sorted by ``train_row`` (``via_window``: found by the anchor index).
    """
    from audit.engine import LocalEngine

    engine = engine or LocalEngine()
    parts_dir = out.parent / f"{out.stem}.parts"
    parts_dir.mkdir(parents=True, exist_ok=True)
    n_bands = engine.partitions()
    band_calls = [(str(doc_bands[0]), str(doc_bands[1]), str(parts_dir / f"bands-{k:02d}.parquet"),
                   k, n_bands, settings) for k in range(n_bands)]
    anchor_calls = [(str(anchors[0]), str(anchors[1]),
                     str(parts_dir / f"anchors-{k:02d}.parquet"), k, settings)
                    for k in range(ANCHOR_PARTITIONS)]
    engine.run(_band_pairs_job, band_calls)
    engine.run(_anchor_pairs_job, anchor_calls)
    bands = "[" + ", ".join(sql_literal(c[2]) for c in band_calls) + "]"
    found = "[" + ", ".join(sql_literal(c[2]) for c in anchor_calls) + "]"
    sql = (
        f"WITH d AS (SELECT DISTINCT train_row, source_row FROM read_parquet({bands})), "
        "w AS (SELECT train_row, source_row, sum(n)::BIGINT AS shared_anchors "
        f"FROM read_parquet({found}) GROUP BY ALL HAVING sum(n) >= 2 OR bool_or(short)) "
        "SELECT coalesce(d.train_row, w.train_row) AS train_row, "
        "coalesce(d.source_row, w.source_row) AS source_row, "
        "d.train_row IS NOT NULL AS via_doc, w.train_row IS NOT NULL AS via_window, "
        "coalesce(w.shared_anchors, 0) AS shared_anchors "
        "FROM d FULL OUTER JOIN w "
        "ON d.train_row = w.train_row AND d.source_row = w.source_row "
        "ORDER BY train_row, source_row"
    )
    con = connect(settings)
    try:
        con.execute(f"COPY ({sql}) TO {sql_literal(str(out))} (FORMAT parquet, "
                    "COMPRESSION zstd)")
        return _count(con, out)
    finally:
        con.close()
        shutil.rmtree(parts_dir, ignore_errors=True)


def _count(con: duckdb.DuckDBPyConnection, path: Path) -> int:
    rows = con.execute(f"SELECT count(*) FROM read_parquet({sql_literal(str(path))})").fetchall()
    return int(rows[0][0])
