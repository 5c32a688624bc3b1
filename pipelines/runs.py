"""Records of scheduled crawl runs (``DATA/runs/<source>/<run id>.json``) and per-source locks.

A record is written when a run starts (``running``) and rewritten when it ends
(``complete``, ``failed`` or ``skipped``); a scheduler that is killed leaves ``running``, which
the next run of that source turns into ``interrupted`` once it holds the source's lock. The
catalog's ``crawl_runs`` view reads these files.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from commons.fsutil import atomic_write_json
from commons.locks import SourceLock
from commons.provenance import host_facts, iso, utcnow
from commons.store import DataDir
from pipelines.exceptions import CorruptRunRecordError

RUN_STATUSES = ("running", "complete", "failed", "skipped", "interrupted")


@dataclass
class RunRecord:
    """One scheduled run of one source."""

    run_id: str
    source: str
    kind: str
    url: str
    schedule: str
    scheduled_for: str
    status: str = "running"
    mode: str | None = None
    started_at: str | None = None
    finished_at: str | None = None
    snapshot_id: str | None = None
    documents: int | None = None
    error: str | None = None
    audits: list[dict[str, Any]] = field(default_factory=list)
    sources_file: str | None = None
    pid: int = 0
    host: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def read(cls, path: Path) -> RunRecord:
        try:
            data = json.loads(path.read_text("utf-8"))
            known = set(cls.__dataclass_fields__)
            return cls(**{k: v for k, v in data.items() if k in known})
        except (OSError, ValueError, TypeError) as exc:
            raise CorruptRunRecordError(
                f"{path}: unreadable run record ({exc}); move it aside or delete it") from exc


class RunLog:
    """The run records of a data store."""

    def __init__(self, data: DataDir) -> None:
        self.data = data

    def path(self, record: RunRecord) -> Path:
        return self.data.runs / record.source / f"{record.run_id}.json"

    def start(self, record: RunRecord) -> RunRecord:
        """Write ``record`` as running, stamped with now, this process and host."""
        record.started_at = iso(utcnow())
        record.pid = os.getpid()
        record.host = host_facts()
        self.save(record)
        return record

    def finish(self, record: RunRecord, status: str, error: str | None = None) -> None:
        record.status = status
        record.error = error
        record.finished_at = iso(utcnow())
        self.save(record)

    def save(self, record: RunRecord) -> None:
        path = self.path(record)
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_json(path, asdict(record))

    def records(self, source: str | None = None) -> list[RunRecord]:
        """Every record (of ``source``), oldest first."""
        pattern = f"{source}/*.json" if source else "*/*.json"
        paths = sorted(self.data.runs.glob(pattern)) if self.data.runs.exists() else []
        return sorted((RunRecord.read(p) for p in paths),
                      key=lambda r: (r.started_at or "", r.run_id))

    def last(self, source: str) -> RunRecord | None:
        """The newest record of ``source`` that was not skipped."""
        runs = [r for r in self.records(source) if r.status != "skipped"]
        return runs[-1] if runs else None

    def mark_interrupted(self, source: str) -> list[RunRecord]:
        """Turn ``running`` records of ``source`` into ``interrupted`` (call with its lock)."""
        stale = [r for r in self.records(source) if r.status == "running"]
        for record in stale:
            self.finish(record, "interrupted",
                        record.error or "the scheduler stopped before the run ended")
        return stale


def schedule_lock(data: DataDir, source: str) -> SourceLock:
    """The lock a scheduled run of ``source`` holds (``DATA/runs/.locks/<source>.lock``)."""
    return SourceLock(data.runs / ".locks" / f"{source}.lock")
