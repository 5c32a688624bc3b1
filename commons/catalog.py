"""The DuckDB catalog: views over the Parquet snapshots, manifests and audit runs.

Views are defined over file globs, so a persistent catalog (``commons catalog --db``) sees
new snapshots without being rebuilt; a view whose files do not exist yet is created empty
with the right columns (rebuild the catalog once files exist to pick them up).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import duckdb

from commons.fsutil import fsync_dir
from commons.schema import DOCUMENT_SCHEMA
from commons.store import MANIFEST_NAME, DataDir

#: Columns of the ``snapshots`` view, read from each ``_manifest.json``.
MANIFEST_COLUMNS: dict[str, str] = {
    "source": "VARCHAR",
    "snapshot_id": "VARCHAR",
    "crawler": "VARCHAR",
    "base_url": "VARCHAR",
    "status": "VARCHAR",
    "started_at": "TIMESTAMPTZ",
    "finished_at": "TIMESTAMPTZ",
    "documents": "BIGINT",
    "parts": "BIGINT",
    "bytes": "BIGINT",
    "expected_documents": "BIGINT",
    "base_snapshot": "VARCHAR",
    "user_agent": "VARCHAR",
    "error": "VARCHAR",
    "license": "JSON",
    "site": "JSON",
    "robots": "JSON",
    "consent": "JSON",
    "parameters": "JSON",
    "settings": "JSON",
    "versions": "JSON",
    "stats": "JSON",
}


def sql_literal(value: str) -> str:
    """A SQL string literal."""
    return "'" + value.replace("'", "''") + "'"


def _arrow_to_duckdb(name: str) -> str:
    import pyarrow as pa

    t = DOCUMENT_SCHEMA.field(name).type
    if pa.types.is_string(t):
        return "VARCHAR"
    if pa.types.is_int32(t):
        return "INTEGER"
    if pa.types.is_int64(t):
        return "BIGINT"
    if pa.types.is_boolean(t):
        return "BOOLEAN"
    if pa.types.is_timestamp(t):
        return "TIMESTAMPTZ"
    if pa.types.is_list(t):
        return "VARCHAR[]"
    raise AssertionError(f"unmapped type {t}")


def empty_select(columns: dict[str, str]) -> str:
    """A SELECT with the given typed columns and no rows."""
    cols = ", ".join(f"CAST(NULL AS {typ}) AS {name}" for name, typ in columns.items())
    return f"SELECT {cols} WHERE false"


def _has_files(root: Path, pattern: str) -> bool:
    return root.exists() and next(root.glob(pattern), None) is not None


def snapshot_views(data: DataDir) -> dict[str, str]:
    """``snapshots``, ``documents`` and ``latest_documents``."""
    snaps = data.snapshots
    manifest_glob = f"source=*/snapshot=*/{MANIFEST_NAME}"
    part_glob = "source=*/snapshot=*/part-*.parquet"
    views: dict[str, str] = {}
    if _has_files(snaps, manifest_glob):
        cols = "{" + ", ".join(f"{k}: '{v}'" for k, v in MANIFEST_COLUMNS.items()) + "}"
        views["snapshots"] = (
            "SELECT source, snapshot_id, status, crawler, base_url, started_at, finished_at, "
            "documents, parts, bytes, expected_documents, base_snapshot, "
            "license->>'spdx' AS license, license->>'url' AS license_url, "
            "site->>'name' AS site_name, user_agent, error, license AS license_info, site, "
            "robots, consent, parameters, settings, versions, stats "
            f"FROM read_json({sql_literal(str(snaps / manifest_glob))}, columns={cols}, "
            "format='auto', maximum_object_size=268435456)"
        )
    else:
        cols_d = {k: ("VARCHAR" if v == "JSON" else v) for k, v in MANIFEST_COLUMNS.items()}
        cols_d["license_url"] = "VARCHAR"
        cols_d["site_name"] = "VARCHAR"
        cols_d["license_info"] = "VARCHAR"
        views["snapshots"] = empty_select(cols_d)
    if _has_files(snaps, part_glob):
        views["documents"] = (
            f"SELECT * FROM read_parquet({sql_literal(str(snaps / part_glob))}, "
            "union_by_name=true, hive_partitioning=false)"
        )
    else:
        views["documents"] = empty_select({n: _arrow_to_duckdb(n) for n in DOCUMENT_SCHEMA.names})
    views["latest_snapshots"] = (
        "SELECT * FROM snapshots WHERE status = 'complete' "
        "QUALIFY row_number() OVER (PARTITION BY source ORDER BY snapshot_id DESC) = 1"
    )
    # A source's current state: the newest complete snapshot whose base_snapshot links lead
    # (through complete snapshots) to a complete full one, walked back to that full snapshot
    # (position 0). Along the chain the newest row of each doc_id wins; tombstones drop it.
    views["snapshot_chain"] = (
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
    views["latest_documents"] = (
        "SELECT * EXCLUDE (_newest) FROM ("
        "SELECT d.*, row_number() OVER (PARTITION BY d.source, d.doc_id "
        "ORDER BY c.position DESC) AS _newest "
        "FROM documents d JOIN snapshot_chain c "
        "ON d.source = c.source AND d.snapshot_id = c.snapshot_id"
        ") WHERE _newest = 1 AND NOT coalesce(is_deleted, false)"
    )
    return views


ViewProvider = Callable[[DataDir], dict[str, str]]


def default_providers() -> list[ViewProvider]:
    """The view providers of every package, in dependency order."""
    from audit.views import audit_views
    from crawler.views import crawl_views
    from pipelines.views import pipeline_views

    return [snapshot_views, crawl_views, audit_views, pipeline_views]


class Catalog:
    """Builds DuckDB connections with the catalog views over one data store."""

    def __init__(self, data: DataDir, providers: list[ViewProvider] | None = None) -> None:
        self.data = data
        self.providers = providers if providers is not None else default_providers()

    def views(self) -> dict[str, str]:
        """View name -> SELECT, in creation order."""
        out: dict[str, str] = {}
        for provider in self.providers:
            out.update(provider(self.data))
        return out

    def install(self, con: duckdb.DuckDBPyConnection) -> None:
        for name, select in self.views().items():
            con.execute(f'CREATE OR REPLACE VIEW "{name}" AS {select}')

    def connect(self) -> duckdb.DuckDBPyConnection:
        """An in-memory DuckDB with every view."""
        con = duckdb.connect(":memory:")
        self.install(con)
        return con

    def write(self, db_path: Path) -> Path:
        """Write a persistent ``.duckdb`` file with every view (replaced atomically)."""
        db_path = db_path.resolve()
        db_path.parent.mkdir(parents=True, exist_ok=True)
        tmp = db_path.with_name(f".{db_path.name}.tmp")
        for leftover in (tmp, tmp.with_name(tmp.name + ".wal")):
            leftover.unlink(missing_ok=True)
        con = duckdb.connect(str(tmp))
        try:
            self.install(con)
            con.execute("CHECKPOINT")
        finally:
            con.close()
        tmp.replace(db_path)
        fsync_dir(db_path.parent)
        return db_path
