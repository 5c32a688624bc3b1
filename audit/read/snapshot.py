"""The auditable rows of a source snapshot, and the current rows of an incremental chain.

Which rows are audited: redirects, deleted rows and rows without text are skipped and
counted. Forum posts (``kind='post'`` with a ``parent_id``) also form one ``kind='thread'``
document per thread of two or more posts (texts joined in ``position`` order,
:mod:`commons.threads`), unless the snapshot already has that thread as a row. Thread
documents are matched like any other but are not counted as source units (``is_unit``
false): a match credits their posts.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from commons.sql import sql_list, sql_literal
from commons.store import SnapshotManifest, SnapshotStore
from commons.threads import threads_select

#: Columns of every batch :class:`SnapshotRows` yields (all strings), then ``is_unit``.
UNIT_COLUMNS = ("doc_id", "kind", "url", "title", "license", "parent_id", "text")
_FLAG_COLUMNS = ("is_redirect", "is_deleted")


def _threads_sql(parts: list[Path]) -> str:
    """Thread documents of forum posts (see the module doc), ordered by thread id."""
    rows = f"read_parquet({sql_list(parts)}, union_by_name=true)"
    threads = threads_select(rows, min_posts=2)
    return (f"SELECT {', '.join(UNIT_COLUMNS)} FROM ({threads}) WHERE doc_id NOT IN ("
            f"SELECT doc_id FROM {rows} WHERE kind = 'thread') ORDER BY doc_id")


def _connect(memory_limit: str, temp_directory: Path) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(":memory:")
    con.execute(f"SET memory_limit = {sql_literal(memory_limit)}")
    con.execute(f"SET temp_directory = {sql_literal(str(temp_directory))}")
    return con


def _shape(table: pa.Table, is_unit: pa.Array) -> pa.RecordBatch:
    cols = {name: table.column(name).cast(pa.string()).combine_chunks()
            for name in UNIT_COLUMNS}
    cols["is_unit"] = is_unit
    return pa.record_batch(cols)


class SnapshotRows:
    """The auditable rows of a snapshot's part files, in file order, then its threads.

    Args:
        parts: the snapshot's part files (or the one file of a chain's current rows).
        batch_size: rows per batch.
        memory_limit: DuckDB ``memory_limit`` of the thread aggregation.
        temp_directory: where that aggregation may spill.

    ``counts`` holds the rows read and those skipped (``redirects``, ``deleted``, ``empty``).
    """

    def __init__(self, parts: list[Path], batch_size: int, memory_limit: str,
                 temp_directory: Path) -> None:
        self.parts = parts
        self.batch_size = batch_size
        self.memory_limit = memory_limit
        self.temp_directory = temp_directory
        self.counts = {"rows": 0, "redirects": 0, "deleted": 0, "empty": 0}
        self._posts = False

    def __iter__(self) -> Iterator[pa.RecordBatch]:
        for part in self.parts:
            pf = pq.ParquetFile(part)
            names = set(pf.schema_arrow.names)
            cols = [c for c in (*UNIT_COLUMNS, *_FLAG_COLUMNS) if c in names]
            for rb in pf.iter_batches(batch_size=self.batch_size, columns=cols):
                yield self._units(pa.Table.from_batches([rb]))
        if self._posts:
            yield from self._threads()

    def _flag(self, table: pa.Table, name: str) -> pa.ChunkedArray:
        if name not in table.column_names:
            return pa.chunked_array([pa.array([False] * table.num_rows)])
        return pc.fill_null(table.column(name), False)

    def _units(self, table: pa.Table) -> pa.RecordBatch:
        redirect = self._flag(table, "is_redirect")
        deleted = pc.and_(self._flag(table, "is_deleted"), pc.invert(redirect))
        live = pc.and_(pc.invert(redirect), pc.invert(deleted))
        has_text = pc.is_valid(table.column("text"))
        c = self.counts
        c["rows"] += table.num_rows
        c["redirects"] += int(pc.sum(redirect).as_py() or 0)
        c["deleted"] += int(pc.sum(deleted).as_py() or 0)
        c["empty"] += int(pc.sum(pc.and_(live, pc.invert(has_text))).as_py() or 0)
        kept = table.filter(pc.and_(live, has_text))
        for name in UNIT_COLUMNS:
            if name not in kept.column_names:
                kept = kept.append_column(name, pa.nulls(kept.num_rows, pa.string()))
        if not self._posts and kept.num_rows:
            posts = pc.and_(pc.equal(kept.column("kind"), "post"),
                            pc.is_valid(kept.column("parent_id")))
            self._posts = bool(pc.any(posts).as_py())
        unit = pa.array(np.ones(kept.num_rows, dtype=bool))
        return _shape(kept, unit)

    def _threads(self) -> Iterator[pa.RecordBatch]:
        con = _connect(self.memory_limit, self.temp_directory)
        try:
            reader: Any = con.sql(_threads_sql(self.parts)).to_arrow_reader(self.batch_size)
            for rb in reader:
                t = pa.Table.from_batches([rb])
                yield _shape(t, pa.array(np.zeros(t.num_rows, dtype=bool)))
        finally:
            con.close()


def current_rows(store: SnapshotStore, chain: list[SnapshotManifest], current: Path,
                 doc_snapshots: Path, memory_limit: str, temp_directory: Path) -> list[Path]:
    """Write the chain's current rows (:meth:`SnapshotStore.current_rows_sql`) to
    ``current`` and the snapshot each of them comes from to ``doc_snapshots``.

    Returns:
        ``[current]``, or ``[]`` when the chain has no part file at all.
    """
    sql = store.current_rows_sql(chain)
    if sql is None:
        return []
    con = _connect(memory_limit, temp_directory)
    try:
        con.execute(f"COPY ({sql}) TO {sql_literal(str(current))} (FORMAT parquet)")
        con.execute(f"COPY (SELECT doc_id, snapshot_id FROM read_parquet("
                    f"{sql_literal(str(current))})) TO "
                    f"{sql_literal(str(doc_snapshots))} (FORMAT parquet)")
    finally:
        con.close()
    return [current]
