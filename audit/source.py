"""Source side: eligible snapshot documents, whole-thread documents, and cached signatures.

Signatures of a source live under
``DATA/signatures/source=<s>/snapshot=<id>/config=<signing hash>/`` and are reused by every
later audit with the same signing parameters, so an unchanged source is never re-hashed.
A cache folder is built under a hidden name and renamed into place when complete; it
holds the documents' facts (``docs.arrow``), their texts (``texts.bin``, read back by
row), signatures (Parquet, and raw ``.u32`` for reads by row), winnowing anchors, and the
LSH band table of each layout an audit asked for (built on first use).

The snapshot's rows are streamed from its part files in file order; thread documents (of
forum sources) come from a DuckDB aggregation afterwards. Signing runs in worker threads.
When the newest snapshot is incremental, the audited rows are the current state of its
chain (``SnapshotStore.latest_chain``, as in ``latest_documents``: the newest row of each
document, tombstones dropped), and each match names the snapshot its row comes from.

Which rows are audited: redirects, deleted rows and rows whose text has no shingles are
skipped and counted. Forum posts (``kind='post'`` with a ``parent_id``) also form one
``kind='thread'`` document per thread of two or more posts (texts joined in ``position``
order), unless the snapshot already has that thread as a row. Thread documents are matched
like any other but are not counted as source units: a match credits their posts.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from tqdm import tqdm

from audit.config import AuditConfig
from audit.engine import Engine, LocalEngine, workers
from audit.exceptions import SignatureCacheError
from audit.files import (
    SOURCE_DOC_SCHEMA,
    DocTableWriter,
    SignatureFile,
    TextFile,
    signature_array,
    signature_schema,
    write_signature_parquet,
)
from audit.index.anchors import AnchorWriter
from audit.index.bands import BandWriter, band_table, band_table_file
from audit.signing.contract import SignedBatch, Signer, shingle_positions
from audit.signing.factory import signer_name
from commons.fsutil import atomic_write_json, fsync_dir
from commons.provenance import iso, library_versions, utcnow
from commons.sql import sql_list, sql_literal
from commons.store import DataDir, SnapshotManifest, SnapshotStore
from commons.threads import threads_select

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


@dataclass
class SourceSide:
    """One source's audited snapshot and where its documents and signatures are."""

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

    @property
    def docs_path(self) -> Path:
        return self.cache_dir / DOCS_NAME

    @property
    def texts(self) -> TextFile:
        return TextFile(self.cache_dir / TEXTS_NAME)

    def bands_path(self, bands: int, rows: int) -> Path:
        """The LSH band table of the documents for a (bands, rows) layout."""
        return self.cache_dir / bands_name(bands, rows)

    def band_table(self, config: AuditConfig) -> Path:
        """The band table for ``config``'s layout: cached, else built into the cache."""
        bands, rows = config.doc_lsh
        return band_table_file(self.bands_path(bands, rows), self.docs_path,
                               self.doc_signatures(config.num_perm), bands, rows)

    @property
    def anchors_path(self) -> Path:
        return self.cache_dir / ANCHORS_NAME

    def doc_signatures(self, num_perm: int) -> SignatureFile:
        return SignatureFile(self.cache_dir / DOC_SIGS_RAW, num_perm)

    @property
    def license(self) -> str | None:
        lic = self.manifest.license or {}
        return lic.get("spdx") or lic.get("text")


_UNIT_COLUMNS = ("doc_id", "kind", "url", "title", "license", "parent_id", "text")
_FLAG_COLUMNS = ("is_redirect", "is_deleted")


def _threads_sql(parts: list[Path]) -> str:
    """Thread documents of forum posts (:mod:`commons.threads`; see the module doc), ordered
    by thread id."""
    rows = f"read_parquet({sql_list(parts)}, union_by_name=true)"
    threads = threads_select(rows, min_posts=2)
    return (f"SELECT {', '.join(_UNIT_COLUMNS)} FROM ({threads}) WHERE doc_id NOT IN ("
            f"SELECT doc_id FROM {rows} WHERE kind = 'thread') ORDER BY doc_id")


class _SnapshotRows:
    """The auditable rows of a snapshot's part files, in file order, then its threads."""

    def __init__(self, config: AuditConfig, parts: list[Path], tmp: Path) -> None:
        self.config = config
        self.parts = parts
        self.tmp = tmp
        self.counts = {"rows": 0, "redirects": 0, "deleted": 0, "empty": 0, "units": 0,
                       "threads": 0, "anchors": 0}
        self._posts = False

    def __iter__(self) -> Iterator[pa.RecordBatch]:
        for part in self.parts:
            pf = pq.ParquetFile(part)
            names = set(pf.schema_arrow.names)
            cols = [c for c in (*_UNIT_COLUMNS, *_FLAG_COLUMNS) if c in names]
            for rb in pf.iter_batches(batch_size=self.config.batch_size, columns=cols):
                yield self._units(pa.Table.from_batches([rb]))
        if self._posts:
            yield from self._threads()

    def _flag(self, table: pa.Table, name: str) -> pa.ChunkedArray:
        if name not in table.column_names:
            return pa.chunked_array([pa.array([False] * table.num_rows)])
        return pc.fill_null(table.column(name), False)

    def _units(self, table: pa.Table) -> pa.RecordBatch:
        redirect = self._flag(table, "is_redirect")
        deleted = pc.and_(self._flag(table, "is_deleted"), pc.invert(redirect))
        live = pc.and_(pc.invert(redirect), pc.invert(deleted))
        has_text = pc.is_valid(table.column("text"))
        c = self.counts
        c["rows"] += table.num_rows
        c["redirects"] += int(pc.sum(redirect).as_py() or 0)
        c["deleted"] += int(pc.sum(deleted).as_py() or 0)
        c["empty"] += int(pc.sum(pc.and_(live, pc.invert(has_text))).as_py() or 0)
        kept = table.filter(pc.and_(live, has_text))
        for name in _UNIT_COLUMNS:
            if name not in kept.column_names:
                kept = kept.append_column(name, pa.nulls(kept.num_rows, pa.string()))
        if not self._posts and kept.num_rows:
            posts = pc.and_(pc.equal(kept.column("kind"), "post"),
                            pc.is_valid(kept.column("parent_id")))
            self._posts = bool(pc.any(posts).as_py())
        unit = pa.array(np.ones(kept.num_rows, dtype=bool))
        return _shape(kept, unit)

    def _threads(self) -> Iterator[pa.RecordBatch]:
        con = duckdb.connect(":memory:")
        con.execute(f"SET memory_limit = {sql_literal(self.config.memory_limit)}")
        con.execute(f"SET temp_directory = {sql_literal(str(self.tmp / 'duckdb_tmp'))}")
        try:
            reader: Any = con.sql(_threads_sql(self.parts)).to_arrow_reader(
                self.config.batch_size)
            for rb in reader:
                t = pa.Table.from_batches([rb])
                yield _shape(t, pa.array(np.zeros(t.num_rows, dtype=bool)))
        finally:
            con.close()


def _shape(table: pa.Table, is_unit: pa.Array) -> pa.RecordBatch:
    cols = {name: table.column(name).cast(pa.string()).combine_chunks()
            for name in _UNIT_COLUMNS}
    cols["is_unit"] = is_unit
    return pa.record_batch(cols)


def _build(config: AuditConfig, signer: Signer, manifest: SnapshotManifest, parts: list[Path],
           out: Path, engine: Engine) -> dict[str, int]:
    """Write docs, document signatures and anchors of one snapshot into ``out``."""
    rows_of = _SnapshotRows(config, parts, out)
    docs = DocTableWriter(out / DOCS_NAME, SOURCE_DOC_SCHEMA)
    texts = TextFile(out / TEXTS_NAME).writer()
    raw = SignatureFile(out / DOC_SIGS_RAW, config.num_perm).writer()
    doc_pq = write_signature_parquet(out / DOC_SIGS_NAME, config.num_perm)
    anchors = AnchorWriter(out / ANCHORS_NAME, config.anchor_window)
    n_bands, n_rows = config.doc_lsh
    bands = BandWriter(out / bands_name(n_bands, n_rows), n_bands, n_rows)
    bar = tqdm(desc=f"sign {manifest.source}", unit="doc", disable=not config.progress)
    counts = rows_of.counts
    next_row = 0

    def job(item: tuple[pa.RecordBatch, int]) -> tuple[SignedBatch, pa.Table]:
        table, base = item
        signed = signer.sign_batch(table.column("text"))
        live = np.flatnonzero(signed.n_shingles > 0)
        return signed, band_table(live + base, signed.signatures[live], n_bands, n_rows)

    try:
        for (table, _), (signed, band_rows) in engine.map(job, _numbered(rows_of), workers()):
            n = table.num_rows
            rows = np.arange(next_row, next_row + n, dtype=np.int64)
            next_row += n
            bands.add_table(band_rows)
            live = signed.n_shingles > 0
            unit = table.column("is_unit").to_numpy(zero_copy_only=False)
            counts["empty"] += int((~live).sum())
            counts["units"] += int((live & unit).sum())
            counts["threads"] += int((live & ~unit).sum())
            cols = {name: table.column(name) for name in table.column_names}
            cols.update(row=rows, n_words=signed.n_words, n_shingles=signed.n_shingles)
            docs.add(cols)
            texts.add(table.column("text"))
            raw.add(signed.signatures)
            doc_pq.write_table(_sig_table(config.num_perm, rows, signed.signatures))
            anchors.add(signed.anchor_rows + next_row - n, signed.anchors,
                        shingle_positions(signed.n_words[signed.anchor_rows], config.ngram))
            bar.update(n)
    finally:
        bar.close()
        docs.close()
        texts.close()
        raw.close()
        doc_pq.close()
        anchors.close()
        bands.close()
        shutil.rmtree(out / "duckdb_tmp", ignore_errors=True)
    counts["anchors"] = anchors.count
    return counts


def _numbered(batches: Iterable[pa.RecordBatch]) -> Iterator[tuple[pa.RecordBatch, int]]:
    """Each batch with the row id of its first document."""
    base = 0
    for b in batches:
        yield b, base
        base += b.num_rows


def _sig_table(num_perm: int, rows: np.ndarray, sigs: np.ndarray) -> pa.Table:
    cols: dict[str, Any] = {"row": rows, "signature": signature_array(sigs)}
    return pa.table(cols, schema=signature_schema(num_perm))


def cache_dir(data: DataDir, config: AuditConfig, source: str, snapshot_id: str) -> Path:
    """Where the signatures of one snapshot under ``config``'s signing parameters live."""
    return (data.signatures / f"source={source}" / f"snapshot={snapshot_id}"
            / f"config={config.signing_hash()}")


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


def prepare_source(config: AuditConfig, data: DataDir, source: str, signer: Signer,
                   engine: Engine | None = None) -> SourceSide:
    """The latest complete snapshot of ``source``, signed (from the cache when present).

    Raises:
        NoCompleteSnapshotError: the source has no complete snapshot.
    """
    store = SnapshotStore(data)
    chain = store.latest_chain(source)
    manifest = chain[-1]
    target = cache_dir(data, config, source, manifest.snapshot_id)
    meta = _read_meta(target)
    if (meta is not None and meta.get("signing_params") == config.signing_params()
            and meta.get("layout") == LAYOUT):
        return SourceSide(source, manifest, target, True, dict(meta["counts"]),
                          [m.snapshot_id for m in chain])
    tmp = target.with_name(f".{target.name}.tmp-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    try:
        if len(chain) == 1:
            parts = store.part_files(source, manifest.snapshot_id)
        else:
            parts = _current_rows(config, store, chain, tmp)
        counts = _build(config, signer, manifest, parts, tmp, engine or LocalEngine()) \
            if parts else {
            "rows": 0, "redirects": 0, "deleted": 0, "empty": 0, "units": 0, "threads": 0,
            "anchors": 0}
        if not parts:
            _empty_cache(config, tmp)
        (tmp / CURRENT_NAME).unlink(missing_ok=True)
        atomic_write_json(tmp / META_NAME, {
            "source": source, "snapshot_id": manifest.snapshot_id,
            "chain": [m.snapshot_id for m in chain],
            "signing_params": config.signing_params(), "layout": LAYOUT, "counts": counts,
            "signer": signer_name(signer), "created_at": iso(utcnow()),
            "versions": library_versions(),
        })
        if target.exists():
            shutil.rmtree(target)
        os.replace(tmp, target)
        fsync_dir(target.parent)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return SourceSide(source, manifest, target, False, counts, [m.snapshot_id for m in chain])


def _current_rows(config: AuditConfig, store: SnapshotStore, chain: list[SnapshotManifest],
                  out: Path) -> list[Path]:
    """The chain's current rows (:meth:`SnapshotStore.current_rows_sql`) as one Parquet
    file, plus ``doc_snapshots.parquet``: the snapshot each current row comes from."""
    sql = store.current_rows_sql(chain)
    if sql is None:  # no part file at all
        return []
    current = out / CURRENT_NAME
    con = duckdb.connect(":memory:")
    try:
        con.execute(f"SET memory_limit = {sql_literal(config.memory_limit)}")
        con.execute(f"SET temp_directory = {sql_literal(str(out / 'duckdb_tmp'))}")
        con.execute(f"COPY ({sql}) TO {sql_literal(str(current))} (FORMAT parquet)")
        con.execute(f"COPY (SELECT doc_id, snapshot_id FROM read_parquet("
                    f"{sql_literal(str(current))})) TO "
                    f"{sql_literal(str(out / DOC_SNAPSHOTS_NAME))} (FORMAT parquet)")
    finally:
        con.close()
    return [current]


def _empty_cache(config: AuditConfig, out: Path) -> None:
    DocTableWriter(out / DOCS_NAME, SOURCE_DOC_SCHEMA).close()
    TextFile(out / TEXTS_NAME).writer().close()
    SignatureFile(out / DOC_SIGS_RAW, config.num_perm).writer().close()
    write_signature_parquet(out / DOC_SIGS_NAME, config.num_perm).close()
    AnchorWriter(out / ANCHORS_NAME, config.anchor_window).close()
    BandWriter(out / bands_name(*config.doc_lsh), *config.doc_lsh).close()
