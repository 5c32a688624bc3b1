"""Build the demo's training set: real prose with planted overlap of a crawled source.

Reads the source's current documents from the catalog (``latest_documents``), plants
copies, light edits, 60% truncations and 120-word passages embedded in 1,500 words of other
prose, mixes them with unrelated prose from Debian's ``python3-doc`` that shares no 8-word
run with any source of the data store, and writes ``--out`` (Parquet: id, text) and
``<out>.truth.json`` (the true shares the audit should estimate). Same inputs and
``--seed``: same files.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from audit.planted import SourceDoc, distinct_docs, plant, unrelated_pool  # noqa: E402
from commons.api import catalog  # noqa: E402
from commons.store import DataDir  # noqa: E402
from tests.harness.corpus import ensure_prose_packages, prose_paragraphs  # noqa: E402

COUNTS = {"copy": 10, "edit": 8, "truncation": 8, "embedded": 8, "unrelated": 180}


def source_docs(data: DataDir, source: str) -> list[SourceDoc]:
    """The source's audited units: current, non-redirect documents with text."""
    con = catalog(data).connect()
    rows = con.execute(
        "SELECT doc_id, text FROM latest_documents WHERE source = ? "
        "AND NOT coalesce(is_redirect, false) AND trim(coalesce(text, '')) <> '' "
        "ORDER BY doc_id", [source]).fetchall()
    if not rows:
        raise SystemExit(f"error: source {source!r} has no complete snapshot with text in "
                         f"{data.root}; crawl it first")
    return [SourceDoc(str(d), t) for d, t in rows]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--snapshot-source", required=True, help="source to plant from")
    parser.add_argument("--data", type=Path, required=True, help="data store")
    parser.add_argument("--out", type=Path, required=True, help="training Parquet file")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    docs = source_docs(DataDir(args.data), args.snapshot_source)
    ensure_prose_packages()
    others = catalog(DataDir(args.data)).connect().execute(
        "SELECT text FROM latest_documents WHERE text IS NOT NULL").fetchall()
    pool = unrelated_pool(prose_paragraphs(), [t for (t,) in others])  # in no source
    planted = plant(distinct_docs(docs), pool, COUNTS, args.seed, long_page_words=10**9)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pylist(planted.rows), args.out)
    truth = planted.truth(docs)
    truth_path = args.out.with_name(args.out.name + ".truth.json")
    truth_path.write_text(json.dumps({"source": args.snapshot_source, "seed": args.seed,
                                      "counts": COUNTS, **truth}, indent=2) + "\n")
    print(f"wrote {args.out} ({len(planted.rows)} documents) and {truth_path}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
