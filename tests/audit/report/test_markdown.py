"""summary.md: one table row per source whose numbers are the audit_summary values."""

from __future__ import annotations

import re
from pathlib import Path

import duckdb

from tests.audit.report.conftest import RUN, query

PCT = r"([\d.]+)%"


def test_headline_table_matches_audit_summary(report_dir: Path,
                                              catalog: duckdb.DuckDBPyConnection) -> None:
    text = (report_dir / "summary.md").read_text()
    rows = [line for line in text.splitlines() if line.startswith("| ") and "`" in line]
    summary = query(catalog, "SELECT * FROM audit_summary WHERE run = ? ORDER BY source", [RUN])
    assert len(rows) == len(summary) == 2
    for line, r in zip(rows, summary, strict=True):
        cells = [c.strip() for c in line.strip("|").split(" | ")]
        assert cells[0] == r["source"] and cells[1] == f"`{r['snapshot_id']}`"
        assert cells[2] == r["license"]
        for cell, key in zip(cells[3:], ("train_doc_share", "train_word_share",
                                         "source_doc_share", "source_word_share"), strict=True):
            m = re.match(rf"{PCT} \[{PCT}, {PCT}\]", cell)
            assert m, cell
            for got, col in zip(m.groups(), (key, f"{key}_low", f"{key}_high"), strict=True):
                assert abs(float(got) / 100 - r[col]) <= 0.0005 + 1e-9, (cell, col)
        assert cells[3].endswith(f"({r['train_docs_matched']} of {r['train_docs']})")
        assert cells[5].endswith(f"({r['source_docs_matched']} of {r['source_docs']})")
    assert "|---|---|---|---:|---:|---:|---:|" in text
