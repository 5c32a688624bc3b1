"""The Arrow schemas of an audit run's output files, each declared once.

``matches.parquet`` follows :data:`MATCHES_SCHEMA` and ``summary.parquet``
:data:`SUMMARY_SCHEMA`; the catalog views take their DuckDB types from them
(:mod:`audit.views`). The match stage writes the columns of matches.parquet it computes,
per source, as :data:`PAIR_SCHEMA`; the write stage adds the ids, provenance and sizes.
"""

from __future__ import annotations

import pyarrow as pa

#: matches.parquet and ``audit_matches``: one row per matched (training document, source
#: document) pair, joinable to ``documents`` on (source, snapshot_id, doc_id).
MATCHES_SCHEMA = pa.schema([
    ("run", pa.string()), ("train_id", pa.string()), ("train_row", pa.int64()),
    ("source", pa.string()), ("snapshot_id", pa.string()), ("doc_id", pa.string()),
    ("kind", pa.string()), ("url", pa.string()), ("title", pa.string()),
    ("license", pa.string()), ("match_kind", pa.string()), ("found_by", pa.string()),
    ("est_jaccard", pa.float64()), ("containment_train_in_source", pa.float64()),
    ("containment_source_in_train", pa.float64()),
    ("est_containment_train_in_source", pa.float64()),
    ("est_containment_source_in_train", pa.float64()), ("exact_jaccard", pa.float64()),
    ("exact_containment_train_in_source", pa.float64()),
    ("exact_containment_source_in_train", pa.float64()), ("shared_shingles", pa.int64()),
    ("train_words", pa.int32()), ("source_words", pa.int32()),
])

#: The match stage's columns of matches.parquet, in the order of its pair files.
_PAIR_COLUMNS = (
    "est_jaccard", "est_containment_train_in_source", "est_containment_source_in_train",
    "exact_jaccard", "exact_containment_train_in_source", "exact_containment_source_in_train",
    "shared_shingles", "containment_train_in_source", "containment_source_in_train",
    "match_kind", "found_by",
)

#: A match stage pair file: the matched pairs of one source, by row of each side.
PAIR_SCHEMA = pa.schema([
    MATCHES_SCHEMA.field("train_row"), pa.field("source_row", pa.int64()),
    *(MATCHES_SCHEMA.field(name) for name in _PAIR_COLUMNS),
])


def _share(prefix: str) -> list[tuple[str, pa.DataType]]:
    """A share with its interval and the interval's method."""
    return [(prefix, pa.float64()), (f"{prefix}_low", pa.float64()),
            (f"{prefix}_high", pa.float64()), (f"{prefix}_ci_method", pa.string())]


#: summary.parquet and ``audit_summary``: one row per run and source.
SUMMARY_SCHEMA = pa.schema([
    ("run", pa.string()), ("source", pa.string()), ("snapshot_id", pa.string()),
    ("license", pa.string()),
    ("train_docs", pa.int64()), ("train_docs_matched", pa.int64()),
    *_share("train_doc_share"),
    ("train_words", pa.int64()), ("train_words_overlap", pa.float64()),
    *_share("train_word_share"),
    ("source_docs", pa.int64()), ("source_docs_matched", pa.int64()),
    *_share("source_doc_share"),
    ("source_words", pa.int64()), ("source_words_overlap", pa.float64()),
    *_share("source_word_share"),
    ("near_duplicates", pa.int64()), ("containments", pa.int64()), ("candidates", pa.int64()),
    ("exact_checked", pa.int64()), ("calibration_pairs", pa.int64()),
    ("calibration_fp_rate", pa.float64()), ("calibration_fn_rate", pa.float64()),
    ("calibration_mean_abs_error", pa.float64()), ("lsh_missed_near_duplicates", pa.int64()),
    ("sampled", pa.bool_()), ("population_rows", pa.int64()), ("sample_rows", pa.int64()),
    ("population_docs_estimate", pa.int64()), ("source_share_is_lower_bound", pa.bool_()),
    ("confidence", pa.float64()), ("threshold", pa.float64()), ("verify", pa.string()),
])
