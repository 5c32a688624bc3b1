"""One thread rule: the `threads` view and the audit's thread documents agree on it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb

from commons import api
from commons.sql import sql_literal
from commons.store import DataDir, SnapshotManifest, SnapshotStore, SnapshotWriter
from commons.threads import threads_select

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def _forum(tmp_path: Path) -> DataDir:
    data = DataDir(tmp_path)
    w = SnapshotWriter(data, SnapshotManifest("forum", "20260101T000000Z", "forum", "http://f"))
    w.open()
    posts = [("10", "t1", 2, "second", "Bo"), ("11", "t1", 1, "first", "Al"),
             ("12", "t1", None, "unnumbered", "Cy"), ("13", "t1", 3, "   ", "Di"),
             ("20", "t2", 1, "alone", "Ed")]
    for doc_id, thread, pos, text, who in posts:
        w.add({"doc_id": doc_id, "kind": "post", "parent_id": thread, "position": pos,
               "text": text, "authors": [who], "url": f"http://f/p/{doc_id}",
               "title": f"Thread {thread}", "fetched_at": T0 + timedelta(minutes=int(doc_id)),
               "created_at": T0 + timedelta(hours=int(doc_id))})
    w.add({"doc_id": "14", "kind": "post", "parent_id": "t1", "position": 4, "text": "gone",
           "is_deleted": True, "fetched_at": T0})
    w.complete()
    return data


def test_the_rule_orders_posts_and_skips_blank_and_deleted_ones(tmp_path: Path) -> None:
    data = _forum(tmp_path)
    con = api.catalog(data).connect()
    rows = con.execute("SELECT doc_id, text, url, authors, created_at FROM threads "
                       "ORDER BY doc_id").fetchall()
    assert rows[0][:3] == ("t1", "first\n\nsecond\n\nunnumbered", "http://f/p/11")
    assert rows[0][3] == ["Al", "Bo", "Cy"] and rows[0][4] == T0 + timedelta(hours=10)
    assert rows[1][:3] == ("t2", "alone", "http://f/p/20")


def test_the_audit_leaves_out_one_post_threads_and_nothing_else(tmp_path: Path) -> None:
    data = _forum(tmp_path)
    parts = SnapshotStore(data).part_files("forum", "20260101T000000Z")
    rows = f"read_parquet({sql_literal(str(parts[0]))})"
    audit = duckdb.connect().execute(
        f"SELECT doc_id, text FROM ({threads_select(rows, min_posts=2)})").fetchall()
    view = api.catalog(data).connect().execute(
        "SELECT doc_id, text FROM threads WHERE doc_id = 't1'").fetchall()
    assert audit == view
