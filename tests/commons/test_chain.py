"""The chain rule in Python and in SQL agree, and current rows are the newest, tombstones out."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from commons import api
from commons.chain import latest_chain, walk_chain
from commons.store import DataDir, SnapshotManifest, SnapshotStore, SnapshotWriter

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def _snapshot(data: DataDir, sid: str, rows: list[dict[str, Any]], *, status: str = "complete",
              base: str | None = None, source: str = "wiki") -> None:
    writer = SnapshotWriter(data, SnapshotManifest(source, sid, "mediawiki", "http://w",
                                                   base_snapshot=base))
    writer.open()
    for row in rows:
        writer.add({"kind": "page", "fetched_at": T0, "url": None, "title": row["doc_id"],
                    **row})
    if status == "complete":
        writer.complete()
    elif status == "failed":
        writer.fail("boom")


def _world(tmp_path: Path) -> DataDir:
    """full A <- inc B <- inc C, a failed D on C, a full E that an increment F (on a missing
    base) cannot reach: the chain is A, B, C."""
    data = DataDir(tmp_path)
    _snapshot(data, "20260101T000000Z", [{"doc_id": "1", "text": "one"},
                                         {"doc_id": "2", "text": "two"},
                                         {"doc_id": "3", "text": "three"}])
    _snapshot(data, "20260102T000000Z", [{"doc_id": "2", "text": "two, edited"},
                                         {"doc_id": "3", "text": "", "is_deleted": True}],
              base="20260101T000000Z")
    _snapshot(data, "20260103T000000Z", [{"doc_id": "4", "text": "four"},
                                         {"doc_id": "1", "text": "one, edited"}],
              base="20260102T000000Z")
    _snapshot(data, "20260104T000000Z", [{"doc_id": "1", "text": "never"}],
              base="20260103T000000Z", status="failed")
    _snapshot(data, "20260105T000000Z", [{"doc_id": "9", "text": "orphan"}],
              base="20251231T000000Z")
    return data


def test_python_and_sql_chains_agree(tmp_path: Path) -> None:
    data = _world(tmp_path)
    store = SnapshotStore(data)
    chain = store.latest_chain("wiki")
    assert [m.snapshot_id for m in chain] == ["20260101T000000Z", "20260102T000000Z",
                                              "20260103T000000Z"]
    sql = api.catalog(data).connect().execute(
        "SELECT snapshot_id, position FROM snapshot_chain ORDER BY position").fetchall()
    assert sql == [(m.snapshot_id, i) for i, m in enumerate(chain)]


def test_current_rows_are_the_same_in_the_store_and_the_catalog(tmp_path: Path) -> None:
    data = _world(tmp_path)
    store = SnapshotStore(data)
    chain = store.latest_chain("wiki")
    rows = [r for b in store.current_rows(chain, ["doc_id", "text", "snapshot_id"])
            for r in b.to_pylist()]
    assert rows == [
        {"doc_id": "1", "text": "one, edited", "snapshot_id": "20260103T000000Z"},
        {"doc_id": "2", "text": "two, edited", "snapshot_id": "20260102T000000Z"},
        {"doc_id": "4", "text": "four", "snapshot_id": "20260103T000000Z"},
    ]
    view = api.catalog(data).connect().execute(
        "SELECT doc_id, text, snapshot_id FROM latest_documents ORDER BY doc_id").fetchall()
    assert view == [tuple(r.values()) for r in rows]


def test_a_column_no_part_has_yet_reads_as_null(tmp_path: Path) -> None:
    data = DataDir(tmp_path)
    _snapshot(data, "20260101T000000Z", [{"doc_id": "1", "text": "one"}])
    part = SnapshotStore(data).part_files("wiki", "20260101T000000Z")[0]
    pq.write_table(pq.read_table(part).drop(["created_at"]), part)  # as written before it
    store = SnapshotStore(data)
    batches = list(store.current_rows(store.latest_chain("wiki"), ["doc_id", "created_at"]))
    assert [r for b in batches for r in b.to_pylist()] == [{"doc_id": "1", "created_at": None}]


def test_a_broken_link_or_a_cycle_gives_no_chain() -> None:
    class M:
        def __init__(self, sid: str, base: str | None) -> None:
            self.snapshot_id, self.base_snapshot = sid, base

    complete = {"b": M("b", "a"), "c": M("c", "x"), "d": M("d", "e"), "e": M("e", "d")}
    assert walk_chain(complete, "c") == [] and walk_chain(complete, "d") == []
    assert latest_chain(complete) == []
    complete["a"] = M("a", None)
    assert [m.snapshot_id for m in latest_chain(complete)] == ["a", "b"]


def _rows_snapshot(data: DataDir, sid: str, base: str | None, rows: list[tuple[str, str, bool]],
              status: str = "complete") -> None:
    writer = SnapshotWriter(data, SnapshotManifest("s", sid, "test", "http://x.test/",
                                                   base_snapshot=base))
    writer.open()
    for doc_id, text, deleted in rows:
        writer.add({"doc_id": doc_id, "kind": "page", "title": doc_id, "text": text,
                    "fetched_at": datetime(2026, 1, 1, tzinfo=UTC), "is_deleted": deleted})
    if status == "complete":
        writer.complete()
    else:
        writer.fail("boom")


def test_snapshot_chain_follows_base_links(tmp_path: Path) -> None:
    """The chain is the newest complete snapshot whose links reach a complete full one."""
    data = DataDir(tmp_path)
    _rows_snapshot(data, "20260101T000000Z", None, [("a", "a1", False), ("b", "b1", False)])
    _rows_snapshot(data, "20260102T000000Z", "20260101T000000Z",
              [("a", "a2", False), ("b", "", True), ("c", "c1", False)])
    _rows_snapshot(data, "20260103T000000Z", "20260102T000000Z", [("c", "c2", False)],
              status="failed")
    # The newest complete snapshot, but its base is missing: not a usable chain.
    _rows_snapshot(data, "20260104T000000Z", "20251231T000000Z", [("z", "z", False)])
    store = SnapshotStore(data)
    assert [m.snapshot_id for m in store.latest_chain("s")] == ["20260101T000000Z",
                                                                "20260102T000000Z"]
    con = api.catalog(data).connect()
    assert con.execute("SELECT snapshot_id, position FROM snapshot_chain ORDER BY position"
                       ).fetchall() == [("20260101T000000Z", 0), ("20260102T000000Z", 1)]
    assert con.execute("SELECT doc_id, text FROM latest_documents ORDER BY doc_id").fetchall() \
        == [("a", "a2"), ("c", "c1")]
    # A newer full snapshot starts a new chain.
    _rows_snapshot(data, "20260105T000000Z", None, [("a", "a3", False)])
    assert [m.snapshot_id for m in store.latest_chain("s")] == ["20260105T000000Z"]
    assert con.execute("SELECT doc_id, text FROM latest_documents").fetchall() == [("a", "a3")]
