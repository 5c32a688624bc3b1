"""Catalog view of scheduled runs (``crawl_runs``)."""

from __future__ import annotations

from commons.sql import empty_select, sql_literal
from commons.store import DataDir

#: Columns of ``crawl_runs``, read from ``DATA/runs/<source>/<run id>.json``.
RUN_COLUMNS: dict[str, str] = {
    "run_id": "VARCHAR", "source": "VARCHAR", "kind": "VARCHAR", "url": "VARCHAR",
    "schedule": "VARCHAR", "scheduled_for": "TIMESTAMPTZ", "status": "VARCHAR",
    "mode": "VARCHAR", "started_at": "TIMESTAMPTZ", "finished_at": "TIMESTAMPTZ",
    "snapshot_id": "VARCHAR", "documents": "BIGINT", "error": "VARCHAR", "audits": "JSON",
    "sources_file": "VARCHAR", "pid": "BIGINT", "host": "JSON",
}



def pipeline_views(data: DataDir) -> dict[str, str]:
    """``crawl_runs``: one row per scheduled run."""
    views: dict[str, str] = {}
    runs = data.runs
    if runs.exists() and next(runs.glob("*/*.json"), None) is not None:
        cols = "{" + ", ".join(f"{k}: '{v}'" for k, v in RUN_COLUMNS.items()) + "}"
        views["crawl_runs"] = (
            f"SELECT * FROM read_json({sql_literal(str(runs / '*' / '*.json'))}, "
            f"columns={cols}, format='auto')"
        )
    else:
        views["crawl_runs"] = empty_select(
            {k: ("VARCHAR" if v == "JSON" else v) for k, v in RUN_COLUMNS.items()})
    return views
