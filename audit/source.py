"""Source side: eligible snapshot documents, whole-thread documents, and cached signatures.

Signatures of a source live under
``DATA/signatures/source=<s>/snapshot=<id>/config=<signing hash>/`` and are reused by every
later audit with the same signing parameters, so an unchanged source is never re-hashed.
A cache folder is built under a hidden name and renamed into place when complete.

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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pyarrow.parquet as pq
from tqdm import tqdm

from audit.config import AuditConfig
from audit.docs import (
    SOURCE_DOC_SCHEMA,
    DocTableWriter,
    SignatureFile,
    signature_array,
    signature_schema,
    write_signature_parquet,
)
from audit.exceptions import SignatureCacheError
from audit.sign import Signer, signer_name, window_starts
from commons.catalog import sql_literal
from commons.fsutil import atomic_write_json, fsync_dir
from commons.normalize import words
from commons.provenance import iso, library_versions, utcnow
from commons.store import DataDir, SnapshotManifest, SnapshotStore

META_NAME = "_meta.json"
DOCS_NAME = "docs.arrow"
DOC_SIGS_NAME = "doc_signatures.parquet"
DOC_SIGS_RAW = "doc_signatures.u32"
WINDOW_SIGS_NAME = "window_signatures.parquet"


@dataclass
class SourceSide:
    """One source's audited snapshot and where its documents and signatures are."""

    name: str
    manifest: SnapshotManifest
    cache_dir: Path
    cache_hit: bool
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def snapshot_id(self) -> str:
        return self.manifest.snapshot_id

    @property
    def docs_path(self) -> Path:
        return self.cache_dir / DOCS_NAME

    @property
    def window_sigs_path(self) -> Path:
        return self.cache_dir / WINDOW_SIGS_NAME

    def doc_signatures(self, num_perm: int) -> np.ndarray:
        return SignatureFile(self.cache_dir / DOC_SIGS_RAW, num_perm).open()

    @property
    def license(self) -> str | None:
        lic = self.manifest.license or {}
        return lic.get("spdx") or lic.get("text")


def _docs_sql(parts: list[Path]) -> tuple[str, str]:
    files = "[" + ", ".join(sql_literal(str(p)) for p in parts) + "]"
    base = f"read_parquet({files}, union_by_name=true)"
    live = (
        f"SELECT * FROM {base} WHERE NOT coalesce(is_redirect, false) "
        "AND NOT coalesce(is_deleted, false) AND text IS NOT NULL AND trim(text) <> ''"
    )
    docs = (
        f"WITH live AS ({live}), "
        "units AS (SELECT doc_id, kind, url, title, license, parent_id, true AS is_unit, text "
        "FROM live), "
        "threads AS (SELECT parent_id AS doc_id, 'thread' AS kind, "
        "arg_min(url, coalesce(position, 0)) AS url, "
        "arg_min(title, coalesce(position, 0)) AS title, "
        "arg_min(license, coalesce(position, 0)) AS license, "
        "CAST(NULL AS VARCHAR) AS parent_id, false AS is_unit, "
        "string_agg(text, chr(10) || chr(10) ORDER BY position, doc_id) AS text "
        "FROM live WHERE kind = 'post' AND parent_id IS NOT NULL "
        "AND parent_id NOT IN (SELECT doc_id FROM live WHERE kind = 'thread') "
        "GROUP BY parent_id HAVING count(*) >= 2) "
        "SELECT * FROM (SELECT * FROM units UNION ALL SELECT * FROM threads) "
        "ORDER BY is_unit DESC, doc_id"
    )
    counts = (
        "SELECT count(*), count(*) FILTER (WHERE coalesce(is_redirect, false)), "
        "count(*) FILTER (WHERE coalesce(is_deleted, false) AND NOT coalesce(is_redirect, false)), "
        "count(*) FILTER (WHERE NOT coalesce(is_redirect, false) "
        "AND NOT coalesce(is_deleted, false) AND (text IS NULL OR trim(text) = '')) "
        f"FROM {base}"
    )
    return docs, counts


def _build(config: AuditConfig, signer: Signer, manifest: SnapshotManifest, parts: list[Path],
           out: Path) -> dict[str, int]:
    """Write docs, document and window signatures of one snapshot into ``out``."""
    docs_sql, counts_sql = _docs_sql(parts)
    con = duckdb.connect(":memory:")
    con.execute(f"SET memory_limit = {sql_literal(config.memory_limit)}")
    con.execute(f"SET temp_directory = {sql_literal(str(out / 'duckdb_tmp'))}")
    row = con.execute(counts_sql).fetchall()[0]
    counts = {"rows": int(row[0]), "redirects": int(row[1]), "deleted": int(row[2]),
              "empty": int(row[3]), "units": 0, "threads": 0, "windows": 0}
    docs = DocTableWriter(out / DOCS_NAME, SOURCE_DOC_SCHEMA)
    raw = SignatureFile(out / DOC_SIGS_RAW, config.num_perm).writer()
    doc_pq = write_signature_parquet(out / DOC_SIGS_NAME, config.num_perm)
    win_pq = write_signature_parquet(out / WINDOW_SIGS_NAME, config.num_perm, with_start=True)
    reader: Any = con.sql(docs_sql).to_arrow_reader(config.batch_size)
    bar = tqdm(desc=f"sign {manifest.source}", unit="doc", disable=not config.progress)
    next_row = 0
    for rb in reader:
        cols = rb.to_pydict()
        texts = cols["text"]
        toks = [words(t) for t in texts]
        n = len(texts)
        rows = np.arange(next_row, next_row + n, dtype=np.int64)
        next_row += n
        n_shingles = [_unique_shingles(t, config.ngram) for t in toks]
        sigs = signer.sign(texts)
        w_rows: list[int] = []
        w_starts: list[int] = []
        w_texts: list[str] = []
        for i, t in enumerate(toks):
            if n_shingles[i] == 0:
                continue
            for s in window_starts(len(t), config.window_words, config.source_window_step):
                w_rows.append(int(rows[i]))
                w_starts.append(s)
                w_texts.append(" ".join(t[s : s + config.window_words]))
        for i, unit in enumerate(cols["is_unit"]):
            if n_shingles[i] == 0:
                counts["empty"] += 1
            elif unit:
                counts["units"] += 1
            else:
                counts["threads"] += 1
        cols.update(row=rows, n_words=[len(t) for t in toks], n_shingles=n_shingles)
        docs.add(cols)
        raw.add(sigs)
        doc_pq.write_table(_sig_table(config.num_perm, rows, sigs))
        if w_texts:
            wsig = signer.sign(w_texts)
            win_pq.write_table(_sig_table(config.num_perm, np.asarray(w_rows, dtype=np.int64),
                                          wsig, np.asarray(w_starts, dtype=np.int32)))
            counts["windows"] += len(w_texts)
        bar.update(n)
    bar.close()
    con.close()
    docs.close()
    raw.close()
    doc_pq.close()
    win_pq.close()
    shutil.rmtree(out / "duckdb_tmp", ignore_errors=True)
    return counts


def _unique_shingles(tokens: list[str], ngram: int) -> int:
    if not tokens:
        return 0
    if len(tokens) <= ngram:
        return 1
    return len({tuple(tokens[i : i + ngram]) for i in range(len(tokens) - ngram + 1)})


def _sig_table(num_perm: int, rows: np.ndarray, sigs: np.ndarray,
               starts: np.ndarray | None = None) -> Any:
    import pyarrow as pa

    cols: dict[str, Any] = {"row": rows}
    if starts is not None:
        cols["start"] = starts
    cols["signature"] = signature_array(sigs)
    return pa.table(cols, schema=signature_schema(num_perm, starts is not None))


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


def prepare_source(config: AuditConfig, data: DataDir, source: str, signer: Signer) -> SourceSide:
    """The latest complete snapshot of ``source``, signed (from the cache when present).

    Raises:
        NoCompleteSnapshotError: the source has no complete snapshot.
    """
    store = SnapshotStore(data)
    manifest = store.latest_complete(source)
    target = cache_dir(data, config, source, manifest.snapshot_id)
    meta = _read_meta(target)
    if meta is not None and meta.get("signing_params") == config.signing_params():
        return SourceSide(source, manifest, target, True, dict(meta["counts"]))
    parts = store.part_files(source, manifest.snapshot_id)
    tmp = target.with_name(f".{target.name}.tmp-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    try:
        counts = _build(config, signer, manifest, parts, tmp) if parts else {
            "rows": 0, "redirects": 0, "deleted": 0, "empty": 0, "units": 0, "threads": 0,
            "windows": 0}
        if not parts:
            _empty_cache(config, tmp)
        atomic_write_json(tmp / META_NAME, {
            "source": source, "snapshot_id": manifest.snapshot_id,
            "signing_params": config.signing_params(), "counts": counts,
            "signer": signer_name(signer), "created_at": iso(utcnow()),
            "versions": library_versions(),
        })
        if target.exists():
            shutil.rmtree(target)
        os.replace(tmp, target)
        fsync_dir(target.parent)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return SourceSide(source, manifest, target, False, counts)


def _empty_cache(config: AuditConfig, out: Path) -> None:
    DocTableWriter(out / DOCS_NAME, SOURCE_DOC_SCHEMA).close()
    SignatureFile(out / DOC_SIGS_RAW, config.num_perm).writer().close()
    write_signature_parquet(out / DOC_SIGS_NAME, config.num_perm).close()
    write_signature_parquet(out / WINDOW_SIGS_NAME, config.num_perm, with_start=True).close()


def window_signature_batches(side: SourceSide, num_perm: int) -> Any:
    """Iterate ``(rows, signatures)`` of the source's windows in Parquet row groups."""
    from audit.docs import signatures_of

    pf = pq.ParquetFile(side.window_sigs_path)
    for rb in pf.iter_batches(batch_size=65536, columns=["row", "signature"]):
        yield rb.column(0).to_numpy(), signatures_of(rb.column(1), num_perm)
