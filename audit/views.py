"""Catalog views of audit runs: ``audit_runs``, ``audit_matches``, ``audit_summary``.

``audit_runs`` reads every ``DATA/audits/*/run.json`` (any status). ``audit_matches`` and
``audit_summary`` read the Parquet outputs of *complete* runs only. Every view has a
``run`` column; matches join ``documents`` on ``(source, snapshot_id, doc_id)``.
"""

from __future__ import annotations

import pyarrow as pa

from commons.sql import empty_select, sql_literal
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

#: Columns of matches.parquet and ``audit_matches``.
MATCH_TYPES: dict[str, str] = {
    "run": "VARCHAR", "train_id": "VARCHAR", "train_row": "BIGINT", "source": "VARCHAR",
    "snapshot_id": "VARCHAR", "doc_id": "VARCHAR", "kind": "VARCHAR", "url": "VARCHAR",
    "title": "VARCHAR", "license": "VARCHAR", "match_kind": "VARCHAR", "found_by": "VARCHAR",
    "est_jaccard": "DOUBLE", "containment_train_in_source": "DOUBLE",
    "containment_source_in_train": "DOUBLE", "est_containment_train_in_source": "DOUBLE",
    "est_containment_source_in_train": "DOUBLE", "exact_jaccard": "DOUBLE",
    "exact_containment_train_in_source": "DOUBLE",
    "exact_containment_source_in_train": "DOUBLE", "shared_shingles": "BIGINT",
    "train_words": "INTEGER", "source_words": "INTEGER",
}


def _share(prefix: str) -> dict[str, str]:
    return {prefix: "DOUBLE", f"{prefix}_low": "DOUBLE", f"{prefix}_high": "DOUBLE",
            f"{prefix}_ci_method": "VARCHAR"}


#: Columns of summary.parquet and ``audit_summary`` (one row per run and source).
SUMMARY_TYPES: dict[str, str] = {
    "run": "VARCHAR", "source": "VARCHAR", "snapshot_id": "VARCHAR", "license": "VARCHAR",
    "train_docs": "BIGINT", "train_docs_matched": "BIGINT", **_share("train_doc_share"),
    "train_words": "BIGINT", "train_words_overlap": "DOUBLE", **_share("train_word_share"),
    "source_docs": "BIGINT", "source_docs_matched": "BIGINT", **_share("source_doc_share"),
    "source_words": "BIGINT", "source_words_overlap": "DOUBLE", **_share("source_word_share"),
    "near_duplicates": "BIGINT", "containments": "BIGINT", "candidates": "BIGINT",
    "exact_checked": "BIGINT", "calibration_pairs": "BIGINT",
    "calibration_fp_rate": "DOUBLE", "calibration_fn_rate": "DOUBLE",
    "calibration_mean_abs_error": "DOUBLE", "lsh_missed_near_duplicates": "BIGINT",
    "sampled": "BOOLEAN", "population_rows": "BIGINT", "sample_rows": "BIGINT",
    "population_docs_estimate": "BIGINT", "source_share_is_lower_bound": "BOOLEAN",
    "confidence": "DOUBLE", "threshold": "DOUBLE", "verify": "VARCHAR",
}

_ARROW = {"VARCHAR": pa.string(), "BIGINT": pa.int64(), "INTEGER": pa.int32(),
          "DOUBLE": pa.float64(), "BOOLEAN": pa.bool_()}


def arrow_schema(types: dict[str, str]) -> pa.Schema:
    """The Arrow schema of a column -> DuckDB type mapping (scalar types only)."""
    return pa.schema([(name, _ARROW[t]) for name, t in types.items()])


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
