"""The part files of the workers of a distributed crawl (commons.workerparts)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from commons.store import DataDir, SnapshotManifest, SnapshotWriter
from commons.workerparts import WorkerPartWriter, settle_worker_parts


def test_worker_parts_commit_and_settle(tmp_path: Path) -> None:
    """Per-worker names; a refused commit leaves nothing; the finisher publishes committed
    temporary parts of a dead worker and deletes uncommitted ones; a single writer's open()
    never touches a worker's temporary files."""
    data = DataDir(tmp_path)
    rows: list[dict[str, Any]] = [{"doc_id": str(i), "kind": "page", "url": None, "title": "t",
                                   "text": "x", "fetched_at": datetime.now(UTC)} for i in range(3)]
    a = WorkerPartWriter(data, "s", "snap", "host.1.aaa")
    b = WorkerPartWriter(data, "s", "snap", "host.2.bbb")
    a.open()
    b.open()
    first = a.write([dict(r) for r in rows], lambda name: True)
    assert first == a.dir / "part-host.1.aaa-00000.parquet"
    assert b.write([dict(r) for r in rows], lambda name: False) is None
    assert sorted(p.name for p in a.dir.iterdir()) == ["part-host.1.aaa-00000.parquet"]
    committed = a.dir / ".part-host.2.bbb-00001.parquet.tmp"
    orphan = a.dir / ".part-host.2.bbb-00002.parquet.tmp"
    for tmp in (committed, orphan):
        tmp.write_bytes((a.dir / "part-host.1.aaa-00000.parquet").read_bytes())
    SnapshotWriter(data, SnapshotManifest("s", "snap", "mediawiki", "http://x.test/")).open()
    assert committed.exists() and orphan.exists()
    missing = settle_worker_parts(a.dir, {"part-host.1.aaa-00000.parquet",
                                          "part-host.2.bbb-00001.parquet",
                                          "part-host.3.ccc-00000.parquet"})
    assert missing == ["part-host.3.ccc-00000.parquet"]
    assert sorted(p.name for p in a.dir.glob("part-*")) == [
        "part-host.1.aaa-00000.parquet", "part-host.2.bbb-00001.parquet"]
    assert not orphan.exists()
    a.open()
    second = a.write([dict(r) for r in rows], lambda name: True)
    assert second is not None and second.name == "part-host.1.aaa-00001.parquet"
