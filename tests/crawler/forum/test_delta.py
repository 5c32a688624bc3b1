"""Forum increments compare posts with their base: bases written before a column existed."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from commons.schema import DOCUMENT_SCHEMA
from commons.store import DataDir, SnapshotManifest, SnapshotStore
from crawler.forum.delta import BasePosts
from crawler.items import DocumentItem

WHEN = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)


def _post(doc_id: str, text: str) -> DocumentItem:
    return DocumentItem(doc_id=doc_id, kind="post", url=f"https://f.test/p/{doc_id}",
                        title="T", text=text, fetched_at=WHEN, authors=["ann"],
                        modified_at=WHEN, created_at=WHEN, parent_id="7", position=1)


def test_a_base_without_created_at_loads_and_its_posts_count_as_changed(tmp_path: Path) -> None:
    data = DataDir(tmp_path)
    snap = data.snapshot_dir("board", "20261101T000000Z")
    snap.mkdir(parents=True)
    old = _post("1", "hello")
    row = {**dataclasses.asdict(old), "source": "board", "snapshot_id": "20261101T000000Z",
           "n_words": 1, "content_sha1": None}
    old_schema = pa.schema([f for f in DOCUMENT_SCHEMA if f.name != "created_at"])
    pq.write_table(pa.Table.from_pylist([row], schema=old_schema), snap / "part-00000.parquet")
    manifest = SnapshotManifest(source="board", snapshot_id="20261101T000000Z",
                                crawler="forum", base_url="https://f.test/", status="complete")

    base = BasePosts.load(SnapshotStore(data), [manifest])

    assert len(base) == 1
    # The old row had no created_at, so the same post now differs and is written again.
    assert not base.unchanged(old)
    assert base.unchanged(dataclasses.replace(old, created_at=None))
    assert not base.unchanged(dataclasses.replace(old, created_at=None, text="changed"))
