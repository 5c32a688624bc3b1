"""A source's current state: its snapshot chain, and the current rows along it.

This module is the one home of both rules; the store, the catalog views, the audit and the
incremental crawls all use it.

* **The chain.** A source's current state starts at its newest *complete* snapshot whose
  ``base_snapshot`` links lead, through complete snapshots, to a complete *full* snapshot
  (one without a base). The chain is that full snapshot followed by the increments built on
  it, oldest first (:func:`walk_chain`, :func:`latest_chain`; in SQL,
  :data:`SNAPSHOT_CHAIN_SQL` over the ``snapshots`` view).
* **The current rows.** Along the chain the newest row of each ``doc_id`` wins, and a
  tombstone (``is_deleted``) removes the document (:func:`current_rows_select`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Protocol, TypeVar

from commons.sql import sql_list, sql_literal


class ChainLink(Protocol):
    """What the chain rule reads of a snapshot manifest."""

    @property
    def snapshot_id(self) -> str: ...

    @property
    def base_snapshot(self) -> str | None: ...


M = TypeVar("M", bound=ChainLink)


def walk_chain(complete: Mapping[str, M], tip: str) -> list[M]:
    """``tip`` and its bases down to a full snapshot, oldest first; [] when a link breaks.

    ``complete`` maps the snapshot ids of a source's complete snapshots to their manifests.
    """
    chain: list[M] = []
    current: str | None = tip
    while current is not None:
        manifest = complete.get(current)
        if manifest is None or len(chain) > len(complete):  # missing base, or a cycle
            return []
        chain.append(manifest)
        current = manifest.base_snapshot or None
    return chain[::-1]


def latest_chain(complete: Mapping[str, M]) -> list[M]:
    """The chain of the newest complete snapshot that has one ([] when none has)."""
    for tip in sorted(complete, reverse=True):
        chain = walk_chain(complete, tip)
        if chain:
            return chain
    return []


#: ``(source, snapshot_id, base_snapshot, position)`` of every source's chain, over the
#: ``snapshots`` view: :func:`latest_chain` in SQL (``position`` 0 is the full snapshot).
SNAPSHOT_CHAIN_SQL = (
    "WITH RECURSIVE done AS (SELECT source, snapshot_id, nullif(base_snapshot, '') AS base "
    "FROM snapshots WHERE status = 'complete'), "
    "walk(source, tip, snapshot_id, base, depth) AS ("
    "SELECT source, snapshot_id, snapshot_id, base, 0 FROM done UNION ALL "
    "SELECT w.source, w.tip, d.snapshot_id, d.base, w.depth + 1 FROM walk w JOIN done d "
    "ON d.source = w.source AND d.snapshot_id = w.base WHERE w.depth < 10000), "
    "tips AS (SELECT source, max(tip) AS tip FROM walk WHERE base IS NULL GROUP BY source), "
    "chain AS (SELECT w.* FROM walk w JOIN tips t ON w.source = t.source AND w.tip = t.tip) "
    "SELECT source, snapshot_id, base AS base_snapshot, "
    "max(depth) OVER (PARTITION BY source) - depth AS position FROM chain"
)


def current_rows_select(rows: str, partition: str = "source, doc_id") -> str:
    """The current rows of ``rows``: the newest row of each document, tombstones dropped.

    ``rows`` is a relation (a table, or a parenthesised SELECT) with the document columns
    and ``_position``, the row's snapshot's place in its chain (higher is newer). The result
    has the document columns only.

    >>> "row_number()" in current_rows_select("(SELECT * FROM t)")
    True
    """
    return (
        "SELECT * EXCLUDE (_position, _newest) FROM ("
        f"SELECT *, row_number() OVER (PARTITION BY {partition} ORDER BY _position DESC) "
        f"AS _newest FROM {rows}) WHERE _newest = 1 AND NOT coalesce(is_deleted, false)"
    )


def chain_files_select(parts: Sequence[tuple[str, Sequence[Path]]],
                       columns: Sequence[str] | None = None,
                       absent: Mapping[str, str] | None = None) -> str:
    """The current rows of a chain given as ``(snapshot_id, part files)``, oldest first.

    ``columns`` (default: all) are read from the parts, ``absent`` (name -> DuckDB type)
    are columns no part has yet (files written before the column existed), given as NULL.
    The rows come in ``doc_id`` order.
    """
    files = [p for _, ps in parts for p in ps]
    order = " ".join(f"WHEN {sql_literal(s)} THEN {i}" for i, (s, _) in enumerate(parts))
    rows = (f"(SELECT *, CASE snapshot_id {order} END AS _position FROM read_parquet("
            f"{sql_list(files)}, union_by_name=true, hive_partitioning=false))")
    picked = "*" if columns is None else ", ".join(
        f'CAST(NULL AS {absent[c]}) AS "{c}"' if absent and c in absent else f'"{c}"'
        for c in columns)
    return f"SELECT {picked} FROM ({current_rows_select(rows, 'doc_id')}) ORDER BY doc_id"
