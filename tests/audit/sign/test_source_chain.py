"""Audits of a source whose newest snapshot is incremental see the chain's current state."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from audit.planted import SourceDoc
from audit.run import run_audit
from commons.api import catalog
from commons.store import DataDir, SnapshotManifest, SnapshotWriter
from tests.audit.conftest import config_for
from tests.audit.fixtures import World, _row, make_pages, prose_pools


def _snapshot(data: DataDir, snapshot_id: str, rows: list[dict], base: str | None) -> None:
    m = SnapshotManifest(source="chainwiki", snapshot_id=snapshot_id, crawler="test",
                         base_url="http://wiki.test/", base_snapshot=base,
                         license={"spdx": "CC-BY-SA-4.0"})
    w = SnapshotWriter(data, m, batch_rows=10)
    w.open()
    for r in rows:
        w.add(r)
    w.complete()


def test_incremental_chain_is_audited_as_its_current_state(tmp_path: Path) -> None:
    src_pool, _ = prose_pools()
    pages = make_pages(src_pool[:120], 12, 9, (150, 300))
    edited = SourceDoc(pages[1].doc_id, make_pages(src_pool[200:240], 1, 1, (150, 300))[0].text)
    added = SourceDoc("page-new", make_pages(src_pool[300:340], 1, 2, (150, 300))[0].text)
    data = DataDir(tmp_path / "data")
    _snapshot(data, "20240101T000000Z", [_row(p, "page") for p in pages], None)
    _snapshot(data, "20240201T000000Z",
              [_row(edited, "page"), _row(added, "page"),
               _row(SourceDoc(pages[2].doc_id, ""), "page", is_deleted=True, text=None)],
              "20240101T000000Z")
    training = tmp_path / "train.parquet"
    rows = [{"id": "unchanged", "text": pages[0].text}, {"id": "old-text", "text": pages[1].text},
            {"id": "new-text", "text": edited.text}, {"id": "added", "text": added.text},
            {"id": "deleted", "text": pages[2].text}]
    pq.write_table(pa.Table.from_pylist(rows), training)
    world = World(data, [], [], None, training)  # type: ignore[arg-type]
    result = run_audit(config_for(world, "chain", sources=("chainwiki",)), data)
    assert result.meta["snapshots"][0]["chain"] == ["20240101T000000Z", "20240201T000000Z"]
    row = result.summary[0]
    assert row["snapshot_id"] == "20240201T000000Z"
    assert row["source_docs"] == 12  # 12 pages - 1 deleted + 1 new
    found = {m["train_id"]: m for m in
             pq.read_table(result.run_dir / "matches.parquet").to_pylist()}
    assert set(found) == {"unchanged", "new-text", "added"}
    assert found["unchanged"]["snapshot_id"] == "20240101T000000Z"
    assert found["new-text"]["snapshot_id"] == "20240201T000000Z"
    assert found["added"]["snapshot_id"] == "20240201T000000Z"
    con = catalog(data).connect()
    joined = con.execute("SELECT count(*), count(d.text) FROM audit_matches m JOIN documents d "
                         "USING (source, snapshot_id, doc_id) WHERE m.run = 'chain'").fetchall()
    assert joined == [(3, 3)]
