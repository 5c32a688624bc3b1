"""A source's snapshot chain and its current rows, over hand-written snapshots (commons.chain)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from commons.api import catalog
from commons.store import DataDir, SnapshotManifest, SnapshotStore, SnapshotWriter


def _snapshot(data: DataDir, sid: str, base: str | None, rows: list[tuple[str, str, bool]],
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
    _snapshot(data, "20260101T000000Z", None, [("a", "a1", False), ("b", "b1", False)])
    _snapshot(data, "20260102T000000Z", "20260101T000000Z",
              [("a", "a2", False), ("b", "", True), ("c", "c1", False)])
    _snapshot(data, "20260103T000000Z", "20260102T000000Z", [("c", "c2", False)],
              status="failed")
    # The newest complete snapshot, but its base is missing: not a usable chain.
    _snapshot(data, "20260104T000000Z", "20251231T000000Z", [("z", "z", False)])
    store = SnapshotStore(data)
    assert [m.snapshot_id for m in store.latest_chain("s")] == ["20260101T000000Z",
                                                                "20260102T000000Z"]
    con = catalog(data).connect()
    assert con.execute("SELECT snapshot_id, position FROM snapshot_chain ORDER BY position"
                       ).fetchall() == [("20260101T000000Z", 0), ("20260102T000000Z", 1)]
    assert con.execute("SELECT doc_id, text FROM latest_documents ORDER BY doc_id").fetchall() \
        == [("a", "a2"), ("c", "c1")]
    # A newer full snapshot starts a new chain.
    _snapshot(data, "20260105T000000Z", None, [("a", "a3", False)])
    assert [m.snapshot_id for m in store.latest_chain("s")] == ["20260105T000000Z"]
    assert con.execute("SELECT doc_id, text FROM latest_documents").fetchall() == [("a", "a3")]
