"""The DuckDB catalog: views over the Parquet snapshots, manifests and audit runs.

Views are defined over file globs, so a persistent catalog (``commons catalog --db``) sees
new snapshots without being rebuilt; a view whose files do not exist yet is created empty
with the right columns (rebuild the catalog once files exist to pick them up).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import duckdb

from commons.chain import SNAPSHOT_CHAIN_SQL, current_rows_select
from commons.fsutil import fsync_dir
from commons.schema import DOCUMENT_SCHEMA
from commons.sql import duckdb_columns, empty_select, sql_literal
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
        views["documents"] = empty_select(duckdb_columns(DOCUMENT_SCHEMA))
    views["latest_snapshots"] = (
        "SELECT * FROM snapshots WHERE status = 'complete' "
        "QUALIFY row_number() OVER (PARTITION BY source ORDER BY snapshot_id DESC) = 1"
    )
    # A source's current state (commons.chain): its snapshot chain, and along it the newest
    # row of each doc_id, tombstones dropped.
    views["snapshot_chain"] = SNAPSHOT_CHAIN_SQL
    views["latest_documents"] = current_rows_select(
        "(SELECT d.*, c.position AS _position FROM documents d JOIN snapshot_chain c "
        "ON d.source = c.source AND d.snapshot_id = c.snapshot_id)")
    return views


#: A function giving the views of one package over a data store (name -> SELECT).
ViewProvider = Callable[[DataDir], dict[str, str]]


class Catalog:
    """Builds DuckDB connections with the catalog views over one data store.

    Args:
        data: the data store.
        providers: the view providers, in creation order (a view may read the views of the
            providers before it). The snapshot views (:func:`snapshot_views`) come first
            whatever the list holds; ``commons.api.catalog`` passes every package's.
    """

    def __init__(self, data: DataDir, providers: Sequence[ViewProvider] = ()) -> None:
        self.data = data
        self.providers = [snapshot_views, *(p for p in providers if p is not snapshot_views)]

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
