"""End to end: crawl the real test wiki, plant overlap from the crawl, audit, check truth."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from audit.planted import SourceDoc, distinct_docs, plant, unrelated_pool
from commons.api import catalog
from commons.store import DataDir
from tests.conftest import Wiki, crawl_args, run_cli
from tests.harness.corpus import prose_paragraphs


def test_audit_of_a_crawled_wiki_recovers_the_planted_truth(wiki: Wiki, tmp_path: Path) -> None:
    data = tmp_path / "data"
    crawl = run_cli(*crawl_args(wiki.url, data, "realwiki"))
    assert crawl.returncode == 0, crawl.stderr
    con = catalog(DataDir(data)).connect()
    rows = con.execute("SELECT doc_id, text FROM latest_documents WHERE NOT is_redirect "
                       "AND trim(coalesce(text, '')) <> '' ORDER BY doc_id").fetchall()
    docs = [SourceDoc(str(d), t) for d, t in rows]
    pool = unrelated_pool(prose_paragraphs(), [d.text for d in docs])
    counts = {"copy": 6, "edit": 5, "truncation": 5, "embedded": 5, "unrelated": 60}
    planted = plant(distinct_docs(docs), pool, counts, seed=4, long_page_words=10**9)
    training = tmp_path / "train.parquet"
    pq.write_table(pa.Table.from_pylist(planted.rows), training)
    res = run_cli("audit", str(training), "--sources", "realwiki", "--run-name", "e2e",
                  "--data", str(data), "--signer", "reference", "--quiet")
    assert res.returncode == 0, res.stderr
    truth = planted.truth(docs)
    con = catalog(DataDir(data)).connect()
    row = con.execute(
        "SELECT train_docs, train_docs_matched, train_doc_share_low, train_doc_share_high, "
        "source_docs, source_docs_matched, source_word_share_low, source_word_share_high "
        "FROM audit_summary WHERE run = 'e2e'").fetchall()[0]
    assert row[0] == truth["train_docs"] and row[1] == truth["train_docs_overlapping"]
    assert row[2] <= truth["train_doc_share"] <= row[3]
    assert row[4] == truth["source_docs"] and row[5] == truth["source_docs_in_training"]
    matches = con.execute("SELECT m.train_id, m.doc_id, d.title, d.license, d.authors "
                          "FROM audit_matches m JOIN latest_documents d "
                          "USING (source, snapshot_id, doc_id) WHERE m.run = 'e2e'").fetchall()
    labels = {lab["id"]: lab for lab in planted.labels}
    for train_id, doc_id, title, licence, authors in matches:
        assert doc_id in labels[train_id]["source_cover"]
        assert licence == "CC-BY-SA-4.0" and authors and title
    assert {m[0] for m in matches} == {k for k, lab in labels.items() if lab["kind"] != "unrelated"}
