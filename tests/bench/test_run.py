"""``make bench`` end to end at a tiny size: every method runs, the audit finds what was planted.

No timing is asserted; the figures are only checked to exist.
"""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq

from bench import run
from bench.corpus import KINDS


def test_bench_runs_every_method_and_the_audit(tmp_path: Path) -> None:
    out = tmp_path / "results.json"
    assert run.main(["--size", "3000", "--workdir", str(tmp_path), "--max-peer-docs", "200",
                     "--repeat", "2", "--out", str(out)]) == 0
    result = json.loads(out.read_text())
    rows = {r["method"]: r for r in result["signatures"]}
    assert {"ours (1 core)", "ours + anchors (1 core)", "datasketch update()",
            "datasketch bulk+xxhash", "rensa per doc"} <= set(rows)
    ours = rows["ours (1 core)"]
    assert ours["docs"] == 3000 and ours["docs_per_s"] > 0 and ours["peak_rss_mb"] > 0
    assert len(ours["runs_seconds"]) == 2 and ours["seconds"] in ours["runs_seconds"]
    assert rows["ours + anchors (1 core)"]["recall"] == ours["recall"]
    datatrove = rows["datatrove signature"]  # its own venv: run, or reported as not run
    assert datatrove.get("docs") == 200 or ".venv-datatrove" in datatrove["error"]
    assert ours["true_pairs"] > 50 and ours["recall"] > 0.5 and ours["precision"] > 0.7
    assert rows["datasketch update()"]["docs"] == 200
    assert result["index"]["signatures"] == 3000
    audit = result["end_to_end"][0]
    assert audit["status"] == "complete" and audit["unrelated_matched"] == 0
    for kind in KINDS[1:]:
        assert audit[f"recall_{kind}"] == 1.0, kind
    assert result["versions"]["datasketch"] and result["load_before"]
    corpus = pq.read_table(tmp_path / "corpus-3000.parquet")
    assert corpus.num_rows == 3000
