"""Run the crawls that are due, one at a time, and record each run (``commons schedule``).

A source is due when its cron schedule has fired since the fire time its last run was for
(or it never ran). Each due source is crawled in a worker process while the scheduler holds
the source's lock, so two schedulers (or a slow run and the next cron tick) never crawl it
at once; the crawl itself also holds the source's crawl lock against manual crawls. An
unfinished snapshot younger than ``resume_within_hours`` is continued (``--resume``)
instead of started again. After a new complete snapshot, the audits the source lists are
re-run with their recorded configuration as ``<audit>.<snapshot id>``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from commons.exceptions import CommonsError, SnapshotNotFoundError
from commons.provenance import iso, utcnow
from commons.store import DataDir, SnapshotManifest, SnapshotStore, new_snapshot_id
from pipelines.runs import RunLog, RunRecord, schedule_lock
from pipelines.sources import SourceSpec
from pipelines.worker import CrawlJob, WorkerResult, run_in_subprocess

Clock = Callable[[], datetime]
Crawl = Callable[[CrawlJob], WorkerResult]
Say = Callable[[str], None]


@dataclass(frozen=True)
class SourceStatus:
    """One line of ``commons schedule status``."""

    source: str
    kind: str
    schedule: str
    last_started: str | None
    last_status: str | None
    last_snapshot: str | None
    next_due: str


class Scheduler:
    """Decides what is due and runs it.

    Args:
        data: the data store (snapshots, run records, audits).
        sources: the sources file's entries.
        clock: now, as an aware datetime (a fake one in tests).
        crawl: runs one crawl job (default: a ``pipelines.worker`` process).
        say: where progress lines go.
        sources_file: recorded with each run.
    """

    def __init__(self, data: DataDir, sources: list[SourceSpec], *, clock: Clock = utcnow,
                 crawl: Crawl = run_in_subprocess, say: Say = lambda line: None,
                 sources_file: Path | None = None, crawl_settings: dict[str, Any] | None = None
                 ) -> None:
        self.data = data
        self.sources = sources
        self.clock = clock
        self.crawl = crawl
        self.say = say
        self.sources_file = sources_file
        self.crawl_settings = dict(crawl_settings or {})
        self.log = RunLog(data)
        self.store = SnapshotStore(data)

    def due(self, spec: SourceSpec, now: datetime | None = None) -> datetime | None:
        """The fire time ``spec`` is due for at ``now``, or None when it is not due."""
        fired = spec.last_fire(now or self.clock())
        last = self.log.last(spec.name)
        if last is not None and datetime.fromisoformat(last.scheduled_for) >= fired:
            return None
        return fired

    def run_due(self) -> list[RunRecord]:
        """Run every due source, one after another; return the records of the runs made."""
        done: list[RunRecord] = []
        for spec in self.sources:
            fired = self.due(spec)
            if fired is None:
                continue
            record = self.run_source(spec, fired)
            if record is not None:
                done.append(record)
        return done

    def run_source(self, spec: SourceSpec, fired: datetime) -> RunRecord | None:
        """Crawl ``spec`` for fire time ``fired`` under its lock (None if not run)."""
        lock = schedule_lock(self.data, spec.name)
        if not lock.acquire():
            self.say(f"{spec.name}: skipped, another scheduled run holds its lock "
                     f"(pid {lock.holder() or 'unknown'})")
            return None
        try:
            for stale in self.log.mark_interrupted(spec.name):
                self.say(f"{spec.name}: run {stale.run_id} was interrupted")
            if self.due(spec) is None:  # another scheduler ran it while we waited
                return None
            return self._run(spec, fired)
        finally:
            lock.release()

    def _run(self, spec: SourceSpec, fired: datetime) -> RunRecord:
        resumable = self._resumable(spec)
        args = spec.spider_args()
        if resumable is not None:
            args.pop("incremental", None)
            args.update(resume=True, snapshot_id=resumable.snapshot_id)
            mode = "resume"
        else:
            args["snapshot_id"] = new_snapshot_id(self.data, spec.name)
            mode = "incremental" if spec.incremental else "full"
        record = self.log.start(RunRecord(
            run_id=utcnow().strftime("%Y%m%dT%H%M%S%fZ"), source=spec.name, kind=spec.kind,
            url=spec.url, schedule=spec.schedule, scheduled_for=iso(fired) or "", mode=mode,
            snapshot_id=args["snapshot_id"],
            sources_file=str(self.sources_file) if self.sources_file else None))
        self.say(f"{spec.name}: {mode} crawl of {spec.url} -> snapshot {record.snapshot_id}")
        settings = {"COMMONS_DATA": str(self.data.root), "LOG_LEVEL": "CRITICAL",
                    "COMMONS_PROGRESS": False, **self.crawl_settings, **spec.crawl_settings()}
        try:
            result = self.crawl(CrawlJob(spec.kind, args, settings))
        except Exception as exc:  # the run must be recorded whatever happens
            result = WorkerResult("failed", None, 0, f"{exc.__class__.__name__}: {exc}", -1)
        manifest = self._manifest(spec.name, record.snapshot_id)
        if manifest is not None:
            record.documents = manifest.documents
            if mode != "resume":
                record.mode = str(manifest.parameters.get("mode") or mode)
        status = "complete" if manifest is not None and manifest.status == "complete" \
            else "failed"
        error = None if status == "complete" else (result.error or "the crawl did not complete")
        if status == "complete" and spec.audits:
            record.audits = [self._rerun_audit(name, record) for name in spec.audits]
            failed = [a for a in record.audits if a["status"] != "complete"]
            if failed:
                error = "; ".join(f"audit {a['audit']}: {a['error']}" for a in failed)
        self.log.finish(record, status, error)
        self.say(f"{spec.name}: {status}, {record.documents or 0} documents"
                 + (f" ({error})" if error else ""))
        return record

    def _resumable(self, spec: SourceSpec) -> SnapshotManifest | None:
        if not spec.resume:
            return None
        try:
            manifest = self.store.resumable(spec.name)
        except SnapshotNotFoundError:
            return None
        started = datetime.fromisoformat((manifest.started_at or "1970-01-01T00:00:00Z"
                                          ).replace("Z", "+00:00"))
        if utcnow() - started > timedelta(hours=spec.resume_within_hours):
            return None
        return manifest

    def _manifest(self, source: str, snapshot_id: str | None) -> SnapshotManifest | None:
        if not snapshot_id:
            return None
        try:
            return self.store.get(source, snapshot_id)
        except SnapshotNotFoundError:
            return None

    def _rerun_audit(self, name: str, record: RunRecord) -> dict[str, Any]:
        """Re-run audit run ``name`` with its recorded configuration as a new run."""
        from audit.config import AuditConfig
        from audit.run import run_audit

        out: dict[str, Any] = {"audit": name, "run": None, "status": "failed", "error": None}
        try:
            meta = json.loads((self.data.audits / name / "run.json").read_text("utf-8"))
            recorded = AuditConfig.from_dict(meta["config"])
            config = replace(recorded, run_name=f"{name}.{record.snapshot_id}"[:128],
                             options=replace(recorded.options, force=True, progress=False))
            out["run"] = config.run_name
            self.say(f"{record.source}: re-running audit {name} as {config.run_name}")
            result = run_audit(config, self.data)
            out["status"] = result.status
        except FileNotFoundError:
            out["error"] = (f"no audit run {name!r} in {self.data.audits}; run `commons audit "
                            f"... --run-name {name}` once first")
        except (KeyError, TypeError, ValueError) as exc:
            out["error"] = f"{self.data.audits / name / 'run.json'}: unusable config ({exc})"
        except CommonsError as exc:
            out["error"] = str(exc)
        return out

    def status(self) -> list[SourceStatus]:
        """Each source's schedule, last run and next due time."""
        now = self.clock()
        rows = []
        for spec in self.sources:
            last = self.log.last(spec.name)
            state = last.status if last else None
            if state == "running" and not schedule_lock(self.data, spec.name).held_elsewhere():
                state = "interrupted"
            fired = self.due(spec, now)
            next_due = f"now (due since {iso(fired)})" if fired else iso(spec.next_fire(now))
            tz = "" if spec.timezone == "UTC" else f" {spec.timezone}"
            rows.append(SourceStatus(spec.name, spec.kind, spec.schedule + tz,
                                     last.started_at if last else None, state,
                                     last.snapshot_id if last else None, next_due or ""))
        return rows
