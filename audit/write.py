"""The write stage: a run's ``matches.parquet`` and ``summary.parquet``.

Each source's pair file (the match stage's, :data:`audit.schemas.PAIR_SCHEMA`) gets the
training ids, the source documents' ids, kinds, URLs, titles and licences, the snapshot
each row comes from and both sizes; the sources' tables are concatenated in source order as
:data:`audit.schemas.MATCHES_SCHEMA`. The estimate stage's rows become summary.parquet
(:data:`audit.schemas.SUMMARY_SCHEMA`). Each file is written atomically.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from audit.runs import RunFolder
from audit.schemas import MATCHES_SCHEMA, SUMMARY_SCHEMA
from audit.sign.source import SourceSide
from commons.fsutil import atomic_write

MATCHES = "matches.parquet"
SUMMARY = "summary.parquet"


@dataclass(frozen=True)
class SourceMatches:
    """One source's matched pairs: its side, its doc table and the match stage's pair file."""

    side: SourceSide
    docs: pa.Table
    pairs: Path


def decorate(run_name: str, matches: SourceMatches, train_docs: pa.Table) -> pa.Table:
    """A source's pairs with ids, provenance and sizes, as :data:`MATCHES_SCHEMA`."""
    m = pq.read_table(matches.pairs)
    side, source_docs = matches.side, matches.docs
    tr = m.column("train_row")
    sr = m.column("source_row")
    n = m.num_rows
    lic = source_docs.column("license").take(sr)
    if side.license is not None:
        lic = pc.fill_null(lic, side.license)
    cols: dict[str, Any] = {
        "run": pa.array([run_name] * n, pa.string()),
        "train_id": train_docs.column("id").take(tr),
        "source": pa.array([side.name] * n, pa.string()),
        "snapshot_id": side.doc_snapshot_ids(source_docs.column("doc_id").take(sr)),
        "doc_id": source_docs.column("doc_id").take(sr),
        "kind": source_docs.column("kind").take(sr),
        "url": source_docs.column("url").take(sr),
        "title": source_docs.column("title").take(sr),
        "license": lic,
        "train_words": train_docs.column("n_words").take(tr),
        "source_words": source_docs.column("n_words").take(sr),
    }
    for name in m.column_names:
        if name != "source_row":
            cols[name] = m.column(name)
    return pa.table({k: cols[k] for k in MATCHES_SCHEMA.names}).cast(MATCHES_SCHEMA)


def _write(path: Path, table: pa.Table) -> Path:
    atomic_write(path, lambda tmp: pq.write_table(table, tmp, compression="zstd"))
    return path


def write_outputs(run: RunFolder, train_docs: pa.Table, matched: list[SourceMatches],
                  summaries: list[dict[str, Any]]) -> dict[str, Any]:
    """Write matches.parquet and summary.parquet into the run folder.

    Returns:
        run.json's ``outputs``: both paths and the number of matches.
    """
    run_name = run.config.run_name
    tables = [decorate(run_name, m, train_docs) for m in matched]
    matches = pa.concat_tables(tables) if tables else MATCHES_SCHEMA.empty_table()
    summary = pa.Table.from_pylist(
        [{k: {"run": run_name, **r}.get(k) for k in SUMMARY_SCHEMA.names} for r in summaries],
        schema=SUMMARY_SCHEMA)
    return {"matches": str(_write(run.dir / MATCHES, matches)), "matches_rows": matches.num_rows,
            "summary": str(_write(run.dir / SUMMARY, summary))}
