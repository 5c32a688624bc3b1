"""The candidate join: pairs sharing an LSH band key or anchors, in DuckDB, out of core.

Band tables (:mod:`audit.index.bands`) give the near-duplicate candidates, anchors
(winnowing fingerprints, :mod:`audit.index.anchors`) the containment candidates; the
number of anchors a pair shares travels with it. Both joins run in DuckDB with a memory
limit and a temp directory, so an index larger than memory spills to disk.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import duckdb

from audit.engine import Engine, LocalEngine
from audit.index.anchors import PARTITIONS as ANCHOR_PARTITIONS
from audit.index.anchors import anchor_partition_sql
from commons.sql import sql_literal


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
    """Anchors shared per pair in anchor partition ``k`` (see :mod:`audit.index.anchors`)."""
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
    """Union of the band join and the anchor join (:mod:`audit.index.anchors`; ``anchors``
    are the two sides' anchor folders), flagged by which found each pair.

    Both joins run partition by partition as ``engine`` jobs (the local engine joins the
    bands in one job); partition results go to ``out``'s folder and are merged here in
    partition order. Writes ``(train_row, source_row, via_doc, via_window,
    shared_anchors)`` sorted by ``train_row`` (``via_window``: found by the anchor index).
    """
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
