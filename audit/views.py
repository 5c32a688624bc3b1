"""Catalog views of audit runs: ``audit_runs``, ``audit_matches``, ``audit_summary``.

``audit_runs`` reads every ``DATA/audits/*/run.json`` (any status). ``audit_matches`` and
``audit_summary`` read the Parquet outputs of *complete* runs only. Every view has a
``run`` column; matches join ``documents`` on ``(source, snapshot_id, doc_id)``.
"""

from __future__ import annotations

from audit.schemas import MATCHES_SCHEMA, SUMMARY_SCHEMA
from commons.sql import duckdb_columns, empty_select, sql_literal
from commons.store import DataDir

#: Columns of ``audit_runs`` (read from run.json with these types).
RUN_COLUMNS: dict[str, str] = {
    "run": "VARCHAR", "status": "VARCHAR", "started_at": "TIMESTAMPTZ",
    "finished_at": "TIMESTAMPTZ", "error": "VARCHAR", "pid": "BIGINT",
    "threshold": "DOUBLE", "num_perm": "BIGINT", "ngram": "BIGINT", "seed": "BIGINT",
    "scheme": "VARCHAR", "hashfunc": "VARCHAR", "sample": "BIGINT", "sample_seed": "BIGINT",
    "verify": "VARCHAR", "text_column": "VARCHAR", "id_column": "VARCHAR",
    "sources": "VARCHAR[]", "signer": "VARCHAR", "config": "JSON", "inputs": "JSON",
    "snapshots": "JSON", "read": "JSON", "sign": "JSON", "calibration": "JSON",
    "timings": "JSON", "versions": "JSON", "outputs": "JSON", "host": "JSON",
}

#: Columns of ``audit_matches`` (matches.parquet) and ``audit_summary`` (summary.parquet).
MATCH_TYPES: dict[str, str] = duckdb_columns(MATCHES_SCHEMA)
SUMMARY_TYPES: dict[str, str] = duckdb_columns(SUMMARY_SCHEMA)


def _complete_only(glob: str) -> str:
    return (f"SELECT f.* FROM read_parquet({sql_literal(glob)}, union_by_name=true, "
            "hive_partitioning=false) f "
            "WHERE f.run IN (SELECT run FROM audit_runs WHERE status = 'complete')")


def audit_views(data: DataDir) -> dict[str, str]:
    """View name -> SELECT for the audit runs in ``data``."""
    root = data.audits
    views: dict[str, str] = {}
    if root.exists() and next(root.glob("*/run.json"), None) is not None:
        cols = "{" + ", ".join(f"{k}: '{v}'" for k, v in RUN_COLUMNS.items()) + "}"
        views["audit_runs"] = (
            f"SELECT {', '.join(RUN_COLUMNS)} FROM read_json("
            f"{sql_literal(str(root / '*' / 'run.json'))}, columns={cols}, format='auto', "
            "maximum_object_size=268435456)"
        )
    else:
        views["audit_runs"] = empty_select(
            {k: ("VARCHAR" if v == "JSON" else v) for k, v in RUN_COLUMNS.items()})
    for name, fname, types in (("audit_matches", "matches.parquet", MATCH_TYPES),
                               ("audit_summary", "summary.parquet", SUMMARY_TYPES)):
        if root.exists() and next(root.glob(f"*/{fname}"), None) is not None:
            views[name] = _complete_only(str(root / "*" / fname))
        else:
            views[name] = empty_select(types)
    return views
