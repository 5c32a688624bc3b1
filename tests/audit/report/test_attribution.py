"""ATTRIBUTION.md and attribution.parquet list exactly the matched documents and their authors.

Ground truth for contributors is the world's own record of who wrote each page and post,
not the catalog the code under test reads.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pyarrow.parquet as pq

from tests.audit.report.conftest import RUN, query
from tests.audit.report.world import WIKI_SNAPSHOTS, ReportWorld


def _items(report_dir: Path) -> list[dict]:
    return pq.read_table(report_dir / "attribution.parquet").to_pylist()


def test_lists_exactly_the_matched_documents(report_dir: Path,
                                             catalog: duckdb.DuckDBPyConnection) -> None:
    matched = {(r["source"], r["snapshot_id"], r["doc_id"]) for r in query(
        catalog, "SELECT DISTINCT source, snapshot_id, doc_id FROM audit_matches WHERE run = ?",
        [RUN])}
    items = _items(report_dir)
    keys = [(i["source"], i["snapshot_id"], i["doc_id"]) for i in items]
    assert len(keys) == len(set(keys))
    assert set(keys) == matched
    assert {i["kind"] for i in items} == {"page", "post", "thread"}
    assert all(i["run"] == RUN and i["train_docs"] >= 1 for i in items)
    assert {i["snapshot_id"] for i in items if i["source"] == "wiki"} == {WIKI_SNAPSHOTS[1]}


def test_contributors_are_the_authors_and_threads_credit_their_posts(
        report_dir: Path, report_world: ReportWorld) -> None:
    threads = 0
    for item in _items(report_dir):
        if item["kind"] == "page":
            assert item["authors"] == report_world.wiki_authors[item["doc_id"]], item
            assert item["posts"] == []
        elif item["kind"] == "post":
            assert item["authors"] == report_world.post_authors[item["doc_id"]], item
        else:
            threads += 1
            posts = sorted((p for p in report_world.post_authors
                            if p.startswith(item["doc_id"].replace("thread", "post") + "-")),
                           key=lambda p: int(p.rsplit("-", 1)[1]))
            assert item["posts"] == posts and len(posts) >= 2
            expected: list[str] = []
            for p in posts:
                expected += [a for a in report_world.post_authors[p] if a not in expected]
            assert item["authors"] == expected, item
            assert item["anon_authors"] == sum(len(report_world.post_authors[p]) % 2
                                               for p in posts)
    assert threads == 3


def test_markdown_credits_every_document_once(report_dir: Path) -> None:
    text = (report_dir / "ATTRIBUTION.md").read_text()
    items = _items(report_dir)
    entries = [line for line in text.splitlines() if line.startswith("- ")]
    assert len(entries) == len(items)
    for item in items:
        lines = [e for e in entries if f"(<{item['url']}>) ({item['kind']}," in e]
        assert len(lines) == 1, (item["url"], item["kind"])
        assert item["license"] in lines[0]
        for author in item["authors"]:
            assert author in lines[0]
    assert "## wiki" in text and "## forum" in text
    assert f"Snapshot `{WIKI_SNAPSHOTS[1]}`" in text
