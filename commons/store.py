"""The snapshot store: Hive-partitioned Parquet parts plus one manifest per snapshot.

Layout under a data directory::

    DATA/snapshots/source=<name>/snapshot=<id>/part-00000.parquet
    DATA/snapshots/source=<name>/snapshot=<id>/_manifest.json

A part file appears only complete (written under a hidden name, fsynced, renamed). The
manifest says ``complete`` only after the last part is durable, so a crawl that dies leaves
its snapshot ``running`` (or ``failed``) and never in ``latest_documents``. In a distributed
crawl each worker writes its own parts (``part-<worker>-00000.parquet``, see
:mod:`commons.workerparts`) and one of them finishes the manifest.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from commons.chain import chain_files_select, latest_chain, walk_chain
from commons.exceptions import (
    ConfigError,
    CorruptSnapshotError,
    NoCompleteSnapshotError,
    SnapshotNotFoundError,
)
from commons.fsutil import atomic_write, atomic_write_json
from commons.locks import SourceLock
from commons.provenance import host_facts, iso, library_versions, utcnow
from commons.schema import DOCUMENT_SCHEMA, SCHEMA_VERSION
from commons.sql import duckdb_columns, sql_literal

MANIFEST_NAME = "_manifest.json"
STATUSES = ("running", "complete", "failed")
_SOURCE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
#: A single writer's part (``part-00012.parquet``) and its temporary file.
_OWN_PART_RE = re.compile(r"^part-(\d{5})\.parquet$")
_OWN_TMP_RE = re.compile(r"^\.part-\d{5}\.parquet\.tmp-\d+$")


def check_source_name(source: str) -> str:
    """Return ``source`` if it is a valid source name, else raise ConfigError."""
    if not _SOURCE_RE.match(source or ""):
        raise ConfigError(
            f"invalid --source {source!r}: use 1-64 letters, digits, '.', '_' or '-' "
            "(it names a folder and a catalog value)"
        )
    return source


class DataDir:
    """The folders of one data store (``--data``)."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root).resolve()

    @property
    def snapshots(self) -> Path:
        return self.root / "snapshots"

    @property
    def signatures(self) -> Path:
        return self.root / "signatures"

    @property
    def audits(self) -> Path:
        return self.root / "audits"

    @property
    def runs(self) -> Path:
        return self.root / "runs"

    def snapshot_dir(self, source: str, snapshot_id: str) -> Path:
        return self.snapshots / f"source={source}" / f"snapshot={snapshot_id}"

    def __repr__(self) -> str:
        return f"DataDir({str(self.root)!r})"


@dataclass
class SnapshotManifest:
    """Everything needed to interpret and reproduce one snapshot."""

    source: str
    snapshot_id: str
    crawler: str
    base_url: str
    status: str = "running"
    started_at: str | None = None
    finished_at: str | None = None
    documents: int = 0
    parts: int = 0
    bytes: int = 0
    expected_documents: int | None = None
    license: dict[str, Any] = field(default_factory=dict)
    site: dict[str, Any] = field(default_factory=dict)
    robots: dict[str, Any] = field(default_factory=dict)
    consent: dict[str, Any] = field(default_factory=dict)
    user_agent: str | None = None
    parameters: dict[str, Any] = field(default_factory=dict)
    settings: dict[str, Any] = field(default_factory=dict)
    versions: dict[str, Any] = field(default_factory=dict)
    host: dict[str, Any] = field(default_factory=dict)
    stats: dict[str, Any] = field(default_factory=dict)
    base_snapshot: str | None = None
    error: str | None = None
    schema_version: int = SCHEMA_VERSION

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SnapshotManifest:
        known = {f for f in cls.__dataclass_fields__}
        return cls(**{k: v for k, v in data.items() if k in known})

    @classmethod
    def read(cls, path: Path) -> SnapshotManifest:
        try:
            return cls.from_dict(json.loads(path.read_text("utf-8")))
        except (OSError, ValueError, TypeError) as exc:
            raise CorruptSnapshotError(
                f"{path}: unreadable snapshot manifest ({exc}); move the snapshot folder "
                "aside or delete it"
            ) from exc


def new_snapshot_id(data: DataDir, source: str) -> str:
    """A sortable, unique id: the UTC start time, with a suffix on collision."""
    base = utcnow().strftime("%Y%m%dT%H%M%SZ")
    candidate, n = base, 0
    while data.snapshot_dir(source, candidate).exists():
        n += 1
        candidate = f"{base}-{n}"
    return candidate


class SnapshotWriter:
    """Writes one snapshot: rows in bounded batches to atomic part files, then the manifest.

    Args:
        data: the data store.
        manifest: the snapshot's manifest; its ``source`` and ``snapshot_id`` name the folder.
        batch_rows: rows buffered before a part file is written.
        batch_bytes: text bytes buffered before a part file is written.
    """

    def __init__(
        self,
        data: DataDir,
        manifest: SnapshotManifest,
        *,
        batch_rows: int = 2000,
        batch_bytes: int = 32 * 1024 * 1024,
    ) -> None:
        self.data = data
        self.manifest = manifest
        self.batch_rows = batch_rows
        self.batch_bytes = batch_bytes
        self.dir = data.snapshot_dir(manifest.source, manifest.snapshot_id)
        self._rows: list[dict[str, Any]] = []
        self._buffered_bytes = 0
        self._next_part = 0

    @property
    def manifest_path(self) -> Path:
        return self.dir / MANIFEST_NAME

    def open(self) -> None:
        """Create the folder and write the ``running`` manifest (continues an existing one).

        Continuing a snapshot (``--resume``) keeps its durable parts, removes temporary files
        a killed single writer left behind (never a distributed worker's), and recounts
        documents from the parts.
        """
        self.dir.mkdir(parents=True, exist_ok=True)
        leftovers = [p for p in self.dir.glob(".part-*") if _OWN_TMP_RE.match(p.name)]
        for leftover in [*leftovers, *self.dir.glob(f".{MANIFEST_NAME}.tmp-*")]:
            leftover.unlink(missing_ok=True)
        self.recount()
        numbers = [int(m.group(1)) for p in self.dir.glob("part-*.parquet")
                   if (m := _OWN_PART_RE.match(p.name))]
        self._next_part = max(numbers) + 1 if numbers else 0
        self.manifest.status = "running"
        self.manifest.started_at = self.manifest.started_at or iso(utcnow())
        self.manifest.versions = library_versions()
        self.manifest.host = {**host_facts(), "pid": os.getpid()}
        self.write_manifest()

    def write_manifest(self) -> None:
        atomic_write_json(self.manifest_path, self.manifest.to_dict())

    def recount(self) -> None:
        """Set ``documents``, ``parts`` and ``bytes`` from the durable part files."""
        existing = sorted(self.dir.glob("part-*.parquet"))
        self.manifest.documents = sum(pq.read_metadata(p).num_rows for p in existing)
        self.manifest.parts = len(existing)
        self.manifest.bytes = sum(p.stat().st_size for p in existing)

    def add(self, row: dict[str, Any]) -> None:
        """Buffer one document row; writes a part file when a batch is full."""
        row.setdefault("source", self.manifest.source)
        row.setdefault("snapshot_id", self.manifest.snapshot_id)
        self._rows.append(row)
        self._buffered_bytes += len(row.get("text") or "")
        if len(self._rows) >= self.batch_rows or self._buffered_bytes >= self.batch_bytes:
            self.flush()

    def flush(self) -> Path | None:
        """Write the buffered rows as the next part file; return its path."""
        if not self._rows:
            return None
        table = pa.Table.from_pylist(self._rows, schema=DOCUMENT_SCHEMA)
        path = self.dir / f"part-{self._next_part:05d}.parquet"
        atomic_write(
            path, lambda tmp: pq.write_table(table, tmp, compression="zstd", row_group_size=2000)
        )
        self._next_part += 1
        self.manifest.documents += table.num_rows
        self.manifest.parts += 1
        self.manifest.bytes += path.stat().st_size
        self._rows = []
        self._buffered_bytes = 0
        self.write_manifest()
        return path

    def complete(self) -> None:
        """Flush, then mark the snapshot complete (only now is it auditable)."""
        self.flush()
        self.manifest.status = "complete"
        self.manifest.finished_at = iso(utcnow())
        self.manifest.error = None
        self.write_manifest()

    def fail(self, error: str) -> None:
        """Keep what was written, but mark the snapshot failed with the reason."""
        self.flush()
        self.manifest.status = "failed"
        self.manifest.finished_at = iso(utcnow())
        self.manifest.error = error
        self.write_manifest()


class SnapshotStore:
    """Reads snapshots and their manifests from a data store."""

    def __init__(self, data: DataDir) -> None:
        self.data = data

    def manifests(self, source: str | None = None) -> list[SnapshotManifest]:
        """Every snapshot's manifest, oldest first within each source."""
        pattern = f"source={source}" if source else "source=*"
        paths = sorted(self.data.snapshots.glob(f"{pattern}/snapshot=*/{MANIFEST_NAME}"))
        return [SnapshotManifest.read(p) for p in paths]

    def sources(self) -> list[str]:
        return sorted({m.source for m in self.manifests()})

    def get(self, source: str, snapshot_id: str) -> SnapshotManifest:
        path = self.data.snapshot_dir(source, snapshot_id) / MANIFEST_NAME
        if not path.exists():
            raise SnapshotNotFoundError(
                f"no snapshot {snapshot_id!r} of source {source!r} in {self.data.root}; "
                "list them with `commons snapshots`"
            )
        return SnapshotManifest.read(path)

    def latest_complete(self, source: str) -> SnapshotManifest:
        """The newest complete snapshot of ``source``."""
        complete = [m for m in self.manifests(source) if m.status == "complete"]
        if not complete:
            raise NoCompleteSnapshotError(source, str(self.data.root))
        return max(complete, key=lambda m: m.snapshot_id)

    def latest_chain(self, source: str) -> list[SnapshotManifest]:
        """The snapshots that make up ``source``'s current state, full snapshot first.

        The rule is :mod:`commons.chain`'s (the catalog's ``snapshot_chain`` view is the same
        rule in SQL); :meth:`current_rows` reads the chain's current documents.

        Raises:
            NoCompleteSnapshotError: no complete chain exists.
        """
        chain = latest_chain(self._complete(source))
        if not chain:
            raise NoCompleteSnapshotError(source, str(self.data.root))
        return chain

    def chain(self, source: str, tip: str) -> list[SnapshotManifest]:
        """Snapshot ``tip`` and its bases down to a full snapshot, oldest first.

        Raises:
            CorruptSnapshotError: a link leads to a snapshot that is missing or not complete.
        """
        chain = walk_chain(self._complete(source), tip)
        if not chain:
            raise CorruptSnapshotError(
                f"{self.data.snapshot_dir(source, tip)}: its chain of base snapshots does not "
                "lead to a complete full snapshot; start a full crawl (without --incremental)"
            )
        return chain

    def _complete(self, source: str) -> dict[str, SnapshotManifest]:
        return {m.snapshot_id: m for m in self.manifests(source) if m.status == "complete"}

    def resumable(self, source: str) -> SnapshotManifest:
        """The newest snapshot of ``source`` that did not complete (for ``--resume``)."""
        manifests = self.manifests(source)
        if not manifests or manifests[-1].status == "complete":
            raise SnapshotNotFoundError(
                f"source {source!r} has no unfinished snapshot to resume in {self.data.root}; "
                "start a new crawl without --resume"
            )
        return max(manifests, key=lambda m: m.snapshot_id)

    def doc_ids(self, source: str, snapshot_id: str) -> set[str]:
        """The ``doc_id``s already durable in a snapshot's parts."""
        ids: set[str] = set()
        for part in self.part_files(source, snapshot_id):
            ids.update(pq.read_table(part, columns=["doc_id"]).column("doc_id").to_pylist())
        return ids

    def part_files(self, source: str, snapshot_id: str) -> list[Path]:
        """The snapshot's complete part files, in order."""
        return sorted(self.data.snapshot_dir(source, snapshot_id).glob("part-*.parquet"))

    def current_rows_sql(self, chain: Sequence[SnapshotManifest],
                         columns: Sequence[str] | None = None) -> str | None:
        """The SELECT of a chain's current rows in ``doc_id`` order (:mod:`commons.chain`),
        or None when the chain has no part file.

        ``columns`` (default: every column) may name columns of the schema that older part
        files lack; they read as NULL.
        """
        parts = [(m.snapshot_id, self.part_files(m.source, m.snapshot_id)) for m in chain]
        files = [p for _, ps in parts for p in ps]
        if not files:
            return None
        absent: dict[str, str] = {}
        if columns is not None:
            present: set[str] = set()
            for f in files:
                present.update(pq.read_schema(f).names)
            types = duckdb_columns(DOCUMENT_SCHEMA)
            absent = {c: types[c] for c in columns if c not in present}
        return chain_files_select(parts, columns, absent)

    def current_rows(self, chain: Sequence[SnapshotManifest],
                     columns: Sequence[str] | None = None, *, batch_rows: int = 2000,
                     memory_limit: str = "256MB",
                     temp_directory: Path | None = None) -> Iterator[pa.RecordBatch]:
        """The current documents of ``chain`` (newest row per ``doc_id``, tombstones
        dropped), in ``doc_id`` order, as record batches; read out of core by DuckDB."""
        sql = self.current_rows_sql(chain, columns)
        if sql is None:
            return
        con = duckdb.connect(":memory:")
        try:
            con.execute(f"SET memory_limit = {sql_literal(memory_limit)}")
            if temp_directory is not None:
                con.execute(f"SET temp_directory = {sql_literal(str(temp_directory))}")
            yield from con.sql(sql).to_arrow_reader(batch_rows)
        finally:
            con.close()


def crawl_lock(data: DataDir, source: str) -> SourceLock:
    """The lock a crawl holds while it writes a snapshot of ``source``."""
    return SourceLock(data.snapshots / f"source={source}" / ".crawl.lock")
