"""The source side: a source's audited snapshot, signed once into its signature cache.

Signatures of a source live under
``DATA/signatures/source=<s>/snapshot=<id>/config=<signing hash>/`` and are reused by every
later audit with the same signing parameters, so an unchanged source is never re-hashed.
A cache folder is built under a hidden name and renamed into place when complete; it
holds the documents' facts (``docs.arrow``), their texts (``texts.bin``, read back by
row), signatures (Parquet, and raw ``.u32`` for reads by row), winnowing anchors, and the
LSH band table of each layout an audit asked for (built on first use).

The rows signed are the snapshot's auditable rows (:mod:`audit.read.snapshot`), signed and
written by the sign step (:mod:`audit.sign.writer`). When the newest snapshot is
incremental, they are the current state of its chain (``SnapshotStore.latest_chain``, as in
``latest_documents``: the newest row of each document, tombstones dropped), and each match
names the snapshot its row comes from.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from audit.config import AuditParams, RunOptions
from audit.engine import Engine, LocalEngine
from audit.exceptions import SignatureCacheError
from audit.files import SOURCE_DOC_SCHEMA, SideFiles, SignatureFile
from audit.index.bands import band_table_file
from audit.read.snapshot import SnapshotRows, current_rows
from audit.sign.writer import SideWriter, sign_batches
from audit.signing.contract import Signer
from audit.signing.factory import signer_name
from commons.fsutil import atomic_write_json, fsync_dir
from commons.provenance import iso, library_versions, utcnow
from commons.store import DataDir, SnapshotManifest, SnapshotStore

META_NAME = "_meta.json"
DOCS_NAME = "docs.arrow"
TEXTS_NAME = "texts.bin"
DOC_SIGS_NAME = "doc_signatures.parquet"
DOC_SIGS_RAW = "doc_signatures.u32"
ANCHORS_NAME = "anchors"
#: Chains of incremental snapshots: each current document's own snapshot id.
DOC_SNAPSHOTS_NAME = "doc_snapshots.parquet"
CURRENT_NAME = "current.parquet"
#: Version of the cache folder's layout; a cache of another layout is rebuilt.
LAYOUT = 7


def bands_name(bands: int, rows: int) -> str:
    """File name of a cached band table (one per LSH layout)."""
    return f"doc_bands-{bands}x{rows}.parquet"


def _cache_files(folder: Path, params: AuditParams) -> SideFiles:
    return SideFiles(docs=folder / DOCS_NAME, texts=folder / TEXTS_NAME,
                     signatures=folder / DOC_SIGS_RAW, bands=folder / bands_name(*params.doc_lsh),
                     anchors=folder / ANCHORS_NAME, signature_parquet=folder / DOC_SIGS_NAME)


@dataclass
class SourceSide:
    """One source's audited snapshot and its signature cache folder."""

    name: str
    manifest: SnapshotManifest
    cache_dir: Path
    cache_hit: bool
    counts: dict[str, int] = field(default_factory=dict)
    #: The snapshots whose current rows were audited, full snapshot first.
    chain: list[str] = field(default_factory=list)

    @property
    def snapshot_id(self) -> str:
        return self.manifest.snapshot_id

    @property
    def license(self) -> str | None:
        lic = self.manifest.license or {}
        return lic.get("spdx") or lic.get("text")

    def files(self, params: AuditParams) -> SideFiles:
        """The cache's files, with the band table of ``params``' layout (see
        :meth:`band_table`)."""
        return _cache_files(self.cache_dir, params)

    def band_table(self, params: AuditParams) -> Path:
        """The band table of ``params``' layout: cached, else built into the cache."""
        files = self.files(params)
        return band_table_file(files.bands, files.docs,
                               SignatureFile(files.signatures, params.num_perm),
                               *params.doc_lsh)

    def doc_snapshot_ids(self, doc_ids: pa.Array | pa.ChunkedArray) -> pa.Array:
        """The snapshot each document's audited row comes from (the tip for threads)."""
        path = self.cache_dir / DOC_SNAPSHOTS_NAME
        tip = pa.array([self.snapshot_id] * len(doc_ids), pa.string())
        if not path.exists():
            return tip
        table = pq.read_table(path)
        idx = pc.index_in(doc_ids, value_set=table.column("doc_id"))
        found = table.column("snapshot_id").combine_chunks().take(pc.fill_null(idx, 0))
        return pc.if_else(pc.is_valid(idx), found, tip)


def _text(table: pa.RecordBatch) -> pa.Array:
    return table.column("text")


def _build(params: AuditParams, options: RunOptions, signer: Signer, source: str,
           parts: list[Path], out: Path, engine: Engine) -> dict[str, int]:
    """Sign the auditable rows of ``parts`` into the cache folder ``out``; return the counts."""
    rows = SnapshotRows(parts, options.batch_size, options.memory_limit, out / "duckdb_tmp")
    empty = units = threads = 0
    try:
        with SideWriter(_cache_files(out, params), SOURCE_DOC_SCHEMA, params, f"sign {source}",
                        options.progress) as writer:
            for table, job in sign_batches(rows, _text, signer, params, engine):
                writer.add({name: table.column(name) for name in table.column_names},
                           _text(table), job)
                live = job.signed.n_shingles > 0
                unit = table.column("is_unit").to_numpy(zero_copy_only=False)
                empty += int((~live).sum())
                units += int((live & unit).sum())
                threads += int((live & ~unit).sum())
    finally:
        shutil.rmtree(out / "duckdb_tmp", ignore_errors=True)
    return {**rows.counts, "empty": rows.counts["empty"] + empty, "units": units,
            "threads": threads, "anchors": writer.anchors.count}


def cache_dir(data: DataDir, params: AuditParams, source: str, snapshot_id: str) -> Path:
    """Where the signatures of one snapshot under ``params``' signing parameters live."""
    return (data.signatures / f"source={source}" / f"snapshot={snapshot_id}"
            / f"config={params.signing_hash()}")


def _read_meta(path: Path) -> dict[str, Any] | None:
    meta_path = path / META_NAME
    if not meta_path.exists():
        return None
    try:
        meta: dict[str, Any] = json.loads(meta_path.read_text("utf-8"))
    except (OSError, ValueError) as exc:
        raise SignatureCacheError(
            f"{meta_path}: unreadable signature cache ({exc}); delete {path} to rebuild it"
        ) from exc
    return meta


def prepare_source(params: AuditParams, options: RunOptions, data: DataDir, source: str,
                   signer: Signer, engine: Engine | None = None) -> SourceSide:
    """The latest complete snapshot of ``source``, signed (from the cache when present).

    Raises:
        NoCompleteSnapshotError: the source has no complete snapshot.
    """
    store = SnapshotStore(data)
    chain = store.latest_chain(source)
    manifest = chain[-1]
    snapshot_ids = [m.snapshot_id for m in chain]
    target = cache_dir(data, params, source, manifest.snapshot_id)
    meta = _read_meta(target)
    if (meta is not None and meta.get("signing_params") == params.signing_params()
            and meta.get("layout") == LAYOUT):
        return SourceSide(source, manifest, target, True, dict(meta["counts"]), snapshot_ids)
    tmp = target.with_name(f".{target.name}.tmp-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    try:
        if len(chain) == 1:
            parts = store.part_files(source, manifest.snapshot_id)
        else:
            parts = current_rows(store, chain, tmp / CURRENT_NAME, tmp / DOC_SNAPSHOTS_NAME,
                                 options.memory_limit, tmp / "duckdb_tmp")
        counts = _build(params, options, signer, source, parts, tmp, engine or LocalEngine())
        (tmp / CURRENT_NAME).unlink(missing_ok=True)
        atomic_write_json(tmp / META_NAME, {
            "source": source, "snapshot_id": manifest.snapshot_id, "chain": snapshot_ids,
            "signing_params": params.signing_params(), "layout": LAYOUT, "counts": counts,
            "signer": signer_name(signer), "created_at": iso(utcnow()),
            "versions": library_versions(),
        })
        if target.exists():
            shutil.rmtree(target)
        os.replace(tmp, target)
        fsync_dir(target.parent)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return SourceSide(source, manifest, target, False, counts, snapshot_ids)
